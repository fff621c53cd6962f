/**
 * One relayed request (`RelayStream`): the downstream stream, the upstream stream it is mapped
 * to, and the parts it is made of, each in a file of its own (the way hyperium/h2 splits its
 * `proto/streams/`):
 * - `stream-phase.ts`: its named states (what the client has been told, where the current
 *   attempt's response is);
 * - `flow-half.ts`: its two outbound halves and their flow control;
 * - `replay-log.ts`: the request DATA kept for a requeue or retry;
 * - `held-response.ts`: an attempt's response held for the router's decision;
 * - `upstream-request.ts`: the header list sent upstream; `relay-errors.ts`: how it can fail.
 * This file is the stream that composes them: it reacts to each side's frames and to the
 * router's exchange (`relay-exchange.ts`).
 */
import { DEFAULT_WINDOW, ErrorCode, type HeaderField } from "@l5d/h2";
import { DataplaneError, GrpcStatus } from "../dataplane/errors.js";
import { encodeGrpcTimeout, parseGrpcTimeout } from "../dataplane/grpc-timeout.js";
import { isGrpcContentType } from "../dataplane/headers.js";
import type { Address } from "../router/address.js";
import type { AttemptResult, Exchange, ExchangeOptions } from "../router/exchange.js";
import { type HeaderEdits, headerValue } from "../router/header-list.js";
import type { ForwardOutcome, LocalError, RoutableRequest } from "../router/routable-request.js";
import {
  enqueue,
  flush,
  forgetOwed,
  Half,
  type Pending,
  replaceQueue,
  sendNow,
} from "./flow-half.js";
import { clearHeld, type Held, hold, stopClassTimer } from "./held-response.js";
import {
  clientOverrun,
  clientReset,
  deadlineExceeded,
  deadlineTrailers,
  EXCHANGE_OVER,
  localAnswer,
  unavailable,
  upstreamLost,
  upstreamProtocolError,
  upstreamReset,
} from "./relay-errors.js";
import { RelayExchange } from "./relay-exchange.js";
import type { DownConn } from "./relay-server.js";
import { replayQueue, startLog } from "./replay-log.js";
import {
  dataProblem,
  type ResponseLength,
  responseHeadersProblem,
  trailersProblem,
} from "./response-check.js";
import { ReplyPhase, ResponsePhase } from "./stream-phase.js";
import type { UpConn } from "./upstream.js";
import { endpointKey, upstreamHeaders, withoutHopByHop } from "./upstream-request.js";

/**
 * One request as the router sees it (`RoutableRequest`): its header list as decoded, and its
 * exchange (`exchange(opts)`, then one `attempt` per upstream stream the router asks for).
 */
export interface RelayRequest extends RoutableRequest {
  readonly headers: HeaderField[];
  /** The client reset the stream or it is otherwise over. */
  readonly aborted: boolean;
}

/** The header list before an attempt built the request's own (never written to). */
const NO_FIELDS = Object.freeze([]) as unknown as HeaderField[];

/**
 * One downstream request and the upstream stream it is currently relayed to, driven by the
 * router through its exchange (`exchange()`): each attempt is a new upstream stream. With
 * `holdResponses` (retries configured) an attempt's response is held (not written downstream)
 * until the router commits or discards it; without, it streams through as it arrives. An
 * attempt that fails before its response started (connect failure, REFUSED_STREAM, above a
 * GOAWAY's last stream id) comes back to the router unanswered, which requeues it (the request's
 * DATA is kept up to `requestBufferBytes` for that) or commits the error.
 */
export class RelayStream implements RelayRequest, ResponseLength, Held {
  readonly isGrpc: boolean;
  readonly startedAt = performance.now();
  /** What the client has been told (`stream-phase.ts`). */
  reply: ReplyPhase = ReplyPhase.Routing;
  /** Where the current attempt's response is (`stream-phase.ts`). */
  response: ResponsePhase = ResponsePhase.AwaitingHeaders;
  up: UpConn | undefined;
  upId = 0;
  toUp: Half | undefined;
  readonly toDown: Half;
  /**
   * Request DATA received before the first upstream stream (held: its stream window is not given
   * back yet); created on first use: the router usually opens the upstream stream before any DATA.
   */
  early: Pending[] | undefined;
  /** The stream window owed to the client for `early` (its flow-controlled bytes). */
  earlyOwed = 0;
  /** The request's trailers (hop-by-hop removed), kept for replays. */
  reqTrailers: HeaderField[] | undefined;
  reqEnded: boolean;
  /** The request's content-length (-1: none), checked against its DATA by `DownConn` (RFC 9113 §8.1.1). */
  contentLength = -1;
  /** The current attempt's response `content-length` (-1: none) and DATA bytes, checked. */
  respLength = -1;
  respBytes = 0;
  /** The current upstream stream was reset or its connection lost (no RST_STREAM owed to it). */
  upClosed = false;
  /** The current attempt settled (held): its request half stops until the next attempt. */
  parked = false;
  /** The rest of the request is dropped once the response is complete (the upstream is done). */
  dropRequest = false;
  status = 0;
  grpcStatus: number | undefined;
  error: Error | undefined;
  reset: number | undefined;
  bytesIn = 0;
  bytesOut = 0;
  endpoint = "";
  deadlineMs = 0;
  deadlineAt = 0;
  /** Whether `grpc-timeout` is written upstream (gRPC, or the client sent one). */
  propagateTimeout = false;
  timer: NodeJS.Timeout | undefined;
  /** Resolves `commit()` when the stream is over. */
  resolve: (() => void) | undefined;
  /** The header list sent upstream (edits applied), replayed as is by a requeue or retry. */
  out: HeaderField[] = NO_FIELDS;
  target: Address | undefined;
  attempts = 0;
  replayLimit = 0;
  ex: ExchangeOptions | undefined;
  // the held response (`held-response.ts`)
  heldHeaders: HeaderField[] | undefined;
  heldTrailersOnly = false;
  heldBytes = 0;
  classTimer: NodeJS.Timeout | undefined;
  attemptStartedAt = 0;
  attemptResolve: ((r: AttemptResult) => void) | undefined;

  constructor(
    readonly down: DownConn,
    readonly id: number,
    /** The request's header list as decoded (the router's `headers`; never modified). */
    readonly headers: HeaderField[],
    endStream: boolean,
  ) {
    this.isGrpc = isGrpcContentType(headerValue(headers, "content-type"));
    this.reqEnded = endStream;
    this.toDown = new Half(down.conn.peerInitialWindow, down.queued);
  }

  /** The stream is over (`ReplyPhase.Done`). */
  get done(): boolean {
    return this.reply === ReplyPhase.Done;
  }

  /** Something was answered (or the stream is over): no more attempts, no local answer. */
  get responded(): boolean {
    return this.reply >= ReplyPhase.Answered;
  }

  get aborted(): boolean {
    return this.done;
  }

  /** Starts the exchange (see {@link RelayExchange}); the router then calls `attempt`. */
  exchange(opts: ExchangeOptions): Exchange {
    this.ex = opts;
    this.replayLimit = opts.requestBufferBytes;
    this.startDeadline(opts.deadlineMs);
    return new RelayExchange(this);
  }

  /** The deadline: `grpc-timeout` and the router's, the earlier wins; enforced and propagated. */
  startDeadline(routerMs: number | undefined): void {
    const grpcTimeout = parseGrpcTimeout(headerValue(this.headers, "grpc-timeout"));
    const budget =
      grpcTimeout === undefined
        ? routerMs
        : routerMs === undefined
          ? grpcTimeout
          : Math.min(grpcTimeout, routerMs);
    if (budget === undefined || this.done) return;
    this.propagateTimeout = this.isGrpc || grpcTimeout !== undefined;
    this.deadlineMs = Math.round(budget);
    this.deadlineAt = this.startedAt + budget;
    const remaining = this.deadlineAt - performance.now();
    this.timer = setTimeout(onDeadline, Math.max(0, remaining), this);
  }

  /** Opens the request on `endpoint`'s connection, or fails it (unprocessed) in connect backoff. */
  send(endpoint: Address): void {
    this.attempts++;
    this.target = endpoint;
    this.endpoint = endpointKey(endpoint);
    const relay = this.down.relay;
    const up = relay.upstream(endpoint, this.endpoint);
    if (up === undefined) {
      this.upId = 0;
      this.upFailed(
        unavailable(relay.unavailableMessage(this.endpoint)),
        true,
        ErrorCode.INTERNAL_ERROR,
      );
      return;
    }
    this.openOn(up);
  }

  /**
   * A new upstream stream for the request. The first one takes the DATA that arrived early; a
   * replay takes what the previous stream sent (its log), then what it had not sent yet.
   */
  openOn(up: UpConn): void {
    const prev = this.toUp;
    const half = new Half(up.conn.peerInitialWindow);
    startLog(half, this.replayLimit);
    if (prev === undefined) {
      if (this.early !== undefined) replaceQueue(half, this.early);
      half.owed = this.earlyOwed;
      this.early = undefined;
      half.tail = this.reqTrailers;
    } else {
      const replay = replayQueue(prev, this.reqTrailers);
      replaceQueue(half, replay.queue);
      half.owed = prev.owed;
      half.tail = replay.tail;
    }
    const endStream = this.reqEnded && half.queue.length === 0 && half.tail === undefined;
    this.up = up;
    this.upId = up.open(this);
    this.toUp = half;
    this.parked = false;
    this.response = ResponsePhase.AwaitingHeaders;
    this.upClosed = false;
    const out = this.out;
    if (this.propagateTimeout) {
      const remaining = this.deadlineAt - performance.now();
      out[out.length - 1] = ["grpc-timeout", encodeGrpcTimeout(remaining)];
    }
    up.conn.headers(this.upId, out, endStream);
    if (endStream) half.ended = true;
    this.flushUp();
  }

  respondError(e: LocalError): void {
    if (this.responded) return;
    this.fail(e.grpcStatus, e.httpStatus, e.message);
  }

  /** Answers locally: trailers-only gRPC error, or an HTTP error status (no body). */
  fail(grpcStatus: number, httpStatus: number, message: string): void {
    this.reply = ReplyPhase.Answered;
    const fields = localAnswer(this.isGrpc, grpcStatus, httpStatus, message);
    this.status = this.isGrpc ? 200 : httpStatus;
    if (this.isGrpc) this.grpcStatus = grpcStatus;
    this.error ??= new Error(message);
    this.releaseHeld();
    if (this.isGrpc) {
      this.down.conn.headers(this.id, fields, true);
      this.toDown.ended = true;
    } else {
      // the message as a text body, within the client's windows (a few hundred bytes)
      this.down.conn.headers(this.id, fields, false);
      replaceQueue(this.toDown, [{ data: Buffer.from(`${message}\n`), end: true, flowLen: 0 }]);
      this.toDown.tail = undefined;
      flush(this.toDown, this.down.conn, this.id, this.down.conn, 0);
      this.toDown.ended = true;
    }
    this.cancelUp();
    if (!this.reqEnded) this.down.conn.rstStream(this.id, ErrorCode.NO_ERROR);
    this.finish();
  }

  /**
   * RST_STREAM(CANCEL) to the current upstream stream unless it is over already (reset, lost,
   * or both halves ended): the upstream must not keep a half-open stream we abandoned.
   */
  cancelUp(): void {
    const up = this.up;
    if (up === undefined || this.upId === 0 || this.upClosed) return;
    if (this.response === ResponsePhase.Complete && this.toUpDone()) return;
    this.upClosed = true;
    up.conn.rstStream(this.upId, ErrorCode.CANCEL);
  }

  toUpDone(): boolean {
    return this.toUp === undefined || this.toUp.ended;
  }

  // ---- request direction ----

  onReqData(data: Buffer, end: boolean, flowLen: number): void {
    this.bytesIn += data.length;
    if (end) this.reqEnded = true;
    const down = this.down;
    // the client's connection window goes back at once: the bytes are this stream's now (its
    // stream window only once they are written upstream, which bounds what can queue here)
    if (flowLen > 0) down.conn.consumed(flowLen);
    // the stream window we advertise (or the default, which a client may use before our SETTINGS)
    const limit = Math.max(down.limits.initialWindow, DEFAULT_WINDOW);
    const half = this.toUp;
    if (half === undefined) {
      if (this.earlyOwed + flowLen > limit) {
        this.onReqOverrun();
        return;
      }
      this.earlyOwed += flowLen;
      const p = { data, end, flowLen };
      if (this.early === undefined) this.early = [p];
      else this.early.push(p);
      return;
    }
    if (half.owed + flowLen > limit) {
      this.onReqOverrun();
      return;
    }
    const up = this.up;
    if (up !== undefined && !half.ended && !this.parked && !this.upClosed) {
      // the usual case, nothing queued ahead and window enough: straight through, no queue entry
      if (sendNow(half, data, end, flowLen, up.conn, this.upId, down.conn, this.id)) {
        if (half.ended) this.maybeDone();
        return;
      }
    }
    enqueue(half, data, end, flowLen);
    this.flushUp();
  }

  /** The client sent DATA past the stream window we advertised: a stream error (RFC 9113 §6.9). */
  onReqOverrun(): void {
    this.down.conn.rstStream(this.id, ErrorCode.FLOW_CONTROL_ERROR);
    this.error = clientOverrun();
    this.onDownReset(ErrorCode.FLOW_CONTROL_ERROR);
  }

  onReqTrailers(fields: HeaderField[]): void {
    this.reqEnded = true;
    this.reqTrailers = withoutHopByHop(fields);
    if (this.toUp === undefined) return;
    this.toUp.tail = this.reqTrailers;
    this.flushUp();
  }

  flushUp(): void {
    const half = this.toUp;
    const up = this.up;
    // nothing more on an upstream stream that was reset (the rest waits for a replay, or is
    // dropped when the request finishes: its connection window went back on arrival)
    if (half === undefined || up === undefined || half.ended || this.parked || this.upClosed)
      return;
    flush(half, up.conn, this.upId, this.down.conn, this.id);
    if (half.ended) this.maybeDone();
  }

  // ---- response direction ----

  /** Response headers or trailers; `charsProblem`: the decoder found invalid characters in them. */
  onRespHeaders(fields: HeaderField[], end: boolean, charsProblem: string | undefined): void {
    if (this.done) return;
    const first = this.response === ResponsePhase.AwaitingHeaders;
    // RFC 9113 §8.1.1: a malformed response never goes downstream
    const why =
      charsProblem ??
      (first
        ? responseHeadersProblem(fields, end, headerValue(this.headers, ":method"), this)
        : trailersProblem(fields, end, this));
    if (why !== undefined) {
      this.upMalformed(`malformed response: ${why}`);
      return;
    }
    const out = withoutHopByHop(fields);
    if (!first) {
      // trailers
      this.readGrpcStatus(fields);
      this.response = ResponsePhase.Complete;
      this.toDown.tail = out;
      if (this.reply === ReplyPhase.Holding) this.settleHeld(undefined, false);
      else this.flushDown();
      return;
    }
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as HeaderField;
      if (f[0] === ":status") this.status = Number(f[1]);
    }
    const holding = this.reply === ReplyPhase.Holding;
    if (this.status >= 100 && this.status < 200) {
      if (!holding) this.down.conn.headers(this.id, out, false);
      return;
    }
    this.response = end ? ResponsePhase.Complete : ResponsePhase.Receiving;
    if (end) this.readGrpcStatus(fields);
    if (holding) {
      hold(this, out, end);
      if (!this.replayable) this.streamThrough();
      else if (end) this.settleHeld(undefined, false);
      else {
        const ms = (this.ex as ExchangeOptions).classificationTimeoutMs;
        this.classTimer = setTimeout(onClassificationTimeout, ms, this);
      }
      return;
    }
    // not held: the response is committed as it starts; no other attempt needs the replay log
    this.reply = ReplyPhase.Answered;
    if (this.toUp !== undefined) this.toUp.log = undefined;
    if (end) this.toDown.ended = true;
    this.down.conn.headers(this.id, out, end);
    if (end) this.maybeDone();
  }

  readGrpcStatus(fields: HeaderField[]): void {
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as HeaderField;
      if (f[0] === "grpc-status") this.grpcStatus = Number(f[1]);
    }
  }

  onRespData(data: Buffer, end: boolean, flowLen: number): void {
    const up = this.up as UpConn;
    // the upstream's connection window goes back at once (held or queued bytes must not pin the
    // shared connection); its stream window only once the bytes are written downstream
    if (flowLen > 0) up.conn.consumed(flowLen);
    if (this.response === ResponsePhase.AwaitingHeaders) {
      this.upStreamError(ErrorCode.PROTOCOL_ERROR, "response DATA before its HEADERS");
      return;
    }
    const half = this.toDown;
    if (half.owed + flowLen > up.streamWindow) {
      this.upStreamError(ErrorCode.FLOW_CONTROL_ERROR, "response DATA past the stream window");
      return;
    }
    const why = dataProblem(data.length, end, this);
    if (why !== undefined) {
      // dropped (its connection window went back above)
      this.upMalformed(`malformed response: ${why}`);
      return;
    }
    this.bytesOut += data.length;
    if (end) this.response = ResponsePhase.Complete;
    const holding = this.reply === ReplyPhase.Holding;
    if (!holding && !half.ended) {
      // straight through when nothing is queued ahead and the client's windows allow it
      if (sendNow(half, data, end, flowLen, this.down.conn, this.id, up.conn, this.upId)) {
        if (half.ended) this.maybeDone();
        return;
      }
    }
    enqueue(half, data, end, flowLen);
    const down = this.down;
    if (down.queued.queued > down.limits.h2.maxQueuedDataBytes) down.overQueued();
    if (holding) {
      this.heldBytes += data.length;
      if (end) this.settleHeld(undefined, false);
      else if (this.heldBytes > (this.ex as ExchangeOptions).responseBufferBytes)
        this.streamThrough();
      return;
    }
    this.flushDown();
  }

  /**
   * A stream error of the upstream's found here: DATA before the response's HEADERS (a malformed
   * response, RFC 9113 §8.1) or past the stream window we advertised (§6.9). The upstream stream
   * is reset with `code` and the request fails as an upstream error (see `onUpStreamError`)
   * instead of passing the bytes on.
   */
  upStreamError(code: number, what: string): void {
    if (!this.upClosed) this.up?.conn.rstStream(this.upId, code);
    this.onUpStreamError(code, what);
  }

  /**
   * A malformed response (RFC 9113 §8.1.1): a stream error PROTOCOL_ERROR. The upstream stream
   * is reset with it and the request fails (502 / gRPC INTERNAL, `l5d-err` naming the upstream
   * and `why`; the client's stream is reset if the response had started): nothing malformed
   * goes downstream.
   */
  upMalformed(why: string): void {
    this.upStreamError(ErrorCode.PROTOCOL_ERROR, why);
  }

  /**
   * The upstream stream broke the protocol and was reset with `code` (sent by the caller). A
   * response that was complete stands (only the rest of the request is dropped); otherwise the
   * request fails as an upstream error (see `upMalformed`).
   */
  onUpStreamError(code: number, why: string): void {
    if (this.done) return;
    this.upClosed = true;
    if (this.response === ResponsePhase.Complete) {
      this.dropRequest = true;
      this.maybeDone();
      return;
    }
    this.upFailed(upstreamProtocolError(this.endpoint, why, code), false, ErrorCode.INTERNAL_ERROR);
  }

  flushDown(): void {
    const half = this.toDown;
    const up = this.up;
    if (half.ended || up === undefined || this.reply === ReplyPhase.Holding) return;
    flush(half, this.down.conn, this.id, up.conn, this.upId);
    if (half.ended) this.maybeDone();
  }

  // ---- exchange (driven by RelayExchange) ----

  /** The request DATA sent so far is still kept: another attempt can replay it. */
  get replayable(): boolean {
    return this.toUp === undefined || this.toUp.log !== undefined;
  }

  attempt(endpoint: Address, edits: HeaderEdits): Promise<AttemptResult> {
    return new Promise((resolve) => {
      if (this.responded) {
        resolve(EXCHANGE_OVER);
        return;
      }
      this.attemptResolve = resolve;
      this.attemptStartedAt = performance.now();
      this.reply = (this.ex as ExchangeOptions).holdResponses
        ? ReplyPhase.Holding
        : ReplyPhase.Routing;
      this.parked = false;
      this.out = upstreamHeaders(this.headers, edits, this.propagateTimeout);
      this.send(endpoint);
    });
  }

  /** The outcome of the current attempt (its response as held, or its error). */
  attemptOutcome(): ForwardOutcome {
    return {
      status: this.response === ResponsePhase.AwaitingHeaders ? undefined : this.status,
      grpcStatus: this.grpcStatus,
      error: this.error,
      reset: this.reset,
    };
  }

  /** The attempt's response is complete (or failed): held until commit() or discard(). */
  settleHeld(err: DataplaneError | undefined, unprocessed: boolean): void {
    if (this.parked) return;
    this.parked = true;
    stopClassTimer(this);
    if (err !== undefined) this.error = err;
    // nothing more is needed from this upstream stream; its late frames are dropped
    if (this.upId !== 0) this.up?.release(this.upId);
    const resolve = this.attemptResolve;
    this.attemptResolve = undefined;
    resolve?.({
      outcome: this.attemptOutcome(),
      held: true,
      unprocessed,
      durationMs: performance.now() - this.attemptStartedAt,
    });
  }

  /**
   * The held response outgrew the buffer or the classification timeout: it is committed now and
   * the rest streams through (the attempt resolves, not held, when the stream ends).
   */
  streamThrough(): void {
    if (this.reply !== ReplyPhase.Holding) return;
    this.reply = ReplyPhase.Answered;
    stopClassTimer(this);
    this.sendHeld();
  }

  /** The held response goes downstream: its headers, then its DATA as the client's windows allow. */
  sendHeld(): void {
    const headers = this.heldHeaders as HeaderField[];
    if (this.heldTrailersOnly) {
      this.toDown.ended = true;
      this.down.conn.headers(this.id, headers, true);
      this.maybeDone();
      return;
    }
    this.down.conn.headers(this.id, headers, false);
    this.flushDown();
  }

  /**
   * The upstream stream of the held response is over: no stream window is owed for its bytes
   * any more (their connection window went back when they arrived).
   */
  releaseHeld(): void {
    forgetOwed(this.toDown);
  }

  discard(): void {
    if (this.responded || !this.parked) return;
    this.cancelUp();
    this.releaseHeld();
    replaceQueue(this.toDown);
    this.toDown.tail = undefined;
    this.status = 0;
    this.grpcStatus = undefined;
    this.error = undefined;
    this.reset = undefined;
    this.response = ResponsePhase.AwaitingHeaders;
    clearHeld(this);
    this.bytesOut = 0;
  }

  commit(extra: Readonly<Record<string, string>>): Promise<void> {
    return new Promise((resolve) => {
      if (this.responded) {
        resolve();
        return;
      }
      this.resolve = resolve;
      const held = this.heldHeaders;
      const err = this.error;
      if (held === undefined || err !== undefined) {
        const e = err instanceof DataplaneError ? err : undefined;
        this.fail(
          e?.grpcStatus ?? GrpcStatus.UNAVAILABLE,
          e?.httpStatus ?? 502,
          err?.message ?? `${this.endpoint}: no response`,
        );
        return;
      }
      this.reply = ReplyPhase.Answered;
      for (const n in extra) held.push([n, extra[n] as string]);
      // the upstream stream is over: no stream window is owed for the held bytes
      this.releaseHeld();
      if (!this.toUpDone()) {
        // the response is complete before the request: drop the rest of it (as the upstream did)
        this.dropRequest = true;
        this.cancelUp();
      }
      this.sendHeld();
    });
  }

  remainingMs(): number | undefined {
    return this.deadlineAt === 0 ? undefined : this.deadlineAt - performance.now();
  }

  // ---- endings ----

  maybeDone(): void {
    if (!this.toDown.ended) return;
    if (this.dropRequest) {
      if (!this.reqEnded) this.down.conn.rstStream(this.id, ErrorCode.NO_ERROR);
      this.finish();
      return;
    }
    if (this.toUpDone()) this.finish();
  }

  /**
   * The client reset the stream. After the whole response went downstream (END_STREAM or
   * trailers) the exchange is complete: RFC 9113 §8.1 lets a client reset its unfinished
   * request half then (gRPC C-core sends NO_ERROR): not a failure. Before: the client gave up
   * (`CLIENT_RESET`), which the router never counts against the endpoint.
   */
  onDownReset(code: number): void {
    if (this.done) return;
    this.cancelUp();
    if (this.toDown.ended) {
      this.finish();
      return;
    }
    this.reset = code;
    this.error ??= clientReset(code);
    this.finish();
  }

  /**
   * The upstream stream failed before its response was complete. Before anything went
   * downstream: requeued when unprocessed, held for the router in exchange mode, else answered
   * locally. After: the client's stream is reset with `code`.
   */
  upFailed(err: DataplaneError, unprocessed: boolean, code: number): void {
    if (this.done) return;
    if (this.ex !== undefined && !this.responded) {
      this.settleHeld(err, unprocessed);
      return;
    }
    if (!this.responded) {
      this.error = err;
      this.fail(err.grpcStatus, err.httpStatus, err.message);
      return;
    }
    this.error = err;
    this.reset = code;
    this.down.conn.rstStream(this.id, code);
    this.finish();
  }

  onUpReset(code: number): void {
    if (this.done) return;
    this.upClosed = true;
    const complete = this.response === ResponsePhase.Complete;
    if (complete && code === 0) {
      // the response is complete: the upstream stops the request (NO_ERROR); so does the client
      this.dropRequest = true;
      this.maybeDone();
      return;
    }
    if (this.responded && this.toDown.ended) {
      if (!this.toUpDone()) this.down.conn.rstStream(this.id, code);
      this.finish();
      return;
    }
    this.upFailed(
      upstreamReset(this.endpoint, code),
      code === ErrorCode.REFUSED_STREAM && this.response === ResponsePhase.AwaitingHeaders,
      code === ErrorCode.NO_ERROR ? ErrorCode.INTERNAL_ERROR : code,
    );
  }

  onUpLost(): void {
    if (this.done) return;
    this.upClosed = true;
    if (this.response === ResponsePhase.Complete) {
      this.dropRequest = true;
      this.maybeDone();
      return;
    }
    const up = this.up as UpConn;
    const connected = up.connected;
    const cause = (connected ? up.goawayError : undefined) || up.lastError?.message;
    this.upFailed(
      upstreamLost(this.endpoint, connected, cause),
      !connected && this.response === ResponsePhase.AwaitingHeaders,
      ErrorCode.INTERNAL_ERROR,
    );
  }

  /** The deadline expired: cancel upstream; DEADLINE_EXCEEDED to the client (in trailers if the response started). */
  onDeadline(): void {
    this.timer = undefined;
    if (this.done) return;
    const message = `deadline exceeded after ${this.deadlineMs} ms waiting for ${this.endpoint}`;
    const err = deadlineExceeded(message);
    if (!this.responded) {
      const resolve = this.attemptResolve;
      this.attemptResolve = undefined;
      const t0 = this.attemptStartedAt;
      this.error = err;
      this.fail(GrpcStatus.DEADLINE_EXCEEDED, 504, message);
      resolve?.({
        outcome: {
          error: err,
          grpcStatus: GrpcStatus.DEADLINE_EXCEEDED,
          status: this.isGrpc ? 200 : 504,
        },
        held: false,
        unprocessed: false,
        durationMs: performance.now() - t0,
      });
      return;
    }
    this.error = err;
    this.cancelUp();
    forgetOwed(this.toDown);
    this.up?.release(this.upId);
    if (this.isGrpc && !this.toDown.ended) {
      // what was received goes out, then trailers with grpc-status 4
      this.grpcStatus = GrpcStatus.DEADLINE_EXCEEDED;
      for (const p of this.toDown.queue) p.end = false;
      this.toDown.tail = deadlineTrailers(message);
      this.flushDown();
      if (!this.toDown.ended) return; // the trailers wait for window; maybeDone() follows them
      if (!this.toUpDone()) this.down.conn.rstStream(this.id, ErrorCode.NO_ERROR);
      this.finish();
      return;
    }
    this.reset = ErrorCode.CANCEL;
    this.down.conn.rstStream(this.id, ErrorCode.CANCEL);
    this.finish();
  }

  finish(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    stopClassTimer(this);
    if (!this.done) {
      this.reply = ReplyPhase.Done;
      this.down.forget(this);
      // what still waits for the client's windows goes with the stream
      if (this.toDown.bytes !== 0) replaceQueue(this.toDown);
      this.up?.release(this.upId);
      this.down.relay.streams--;
    }
    const ar = this.attemptResolve;
    if (ar !== undefined) {
      this.attemptResolve = undefined;
      ar({
        outcome: this.attemptOutcome(),
        held: false,
        unprocessed: false,
        durationMs: performance.now() - this.attemptStartedAt,
      });
    }
    const resolve = this.resolve;
    if (resolve === undefined) return;
    this.resolve = undefined;
    resolve();
  }
}

function onDeadline(s: RelayStream): void {
  s.onDeadline();
}

function onClassificationTimeout(s: RelayStream): void {
  s.classTimer = undefined;
  if (!s.parked) s.streamThrough();
}
