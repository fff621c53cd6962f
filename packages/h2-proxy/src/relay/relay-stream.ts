/**
 * One relayed request (`RelayStream`): the downstream stream, the upstream stream it is mapped
 * to, and the parts it is made of, each in a file of its own (the way hyperium/h2 splits its
 * `proto/streams/`):
 * - `stream-phase.ts`: its named states (what the client has been told, where the current
 *   attempt's response is);
 * - `request-side.ts`: the client's DATA and trailers on their way upstream;
 * - `response-side.ts`: the upstream's response (checked) on its way downstream, and how the
 *   upstream stream can end early;
 * - `exchange-attempt.ts`: the router's attempts, each a new upstream stream, and the fate of a
 *   held response (`held-response.ts`: what is held);
 * - `stream-deadline.ts`: the deadline across attempts;
 * - `flow-half.ts`: its two outbound halves and their flow control;
 * - `replay-log.ts`: the request DATA kept for a requeue or retry;
 * - `upstream-request.ts`: the header list sent upstream; `relay-errors.ts`: how it can fail.
 * The parts are free functions over the stream (they import this file as a type only), called by
 * the connections (`relay-server.ts`, `upstream.ts`) and the exchange (`relay-exchange.ts`).
 * This file holds every field (flat: one object per request, none per part) and how the stream
 * ends: a local answer (`fail`), the client's reset, an upstream failure (`upFailed`,
 * `onUpStreamError`), `finish`.
 */
import { ErrorCode, type HeaderField } from "@l5d/h2";
import type { DataplaneError } from "../dataplane/errors.js";
import { isGrpcContentType } from "../dataplane/headers.js";
import type { Address } from "../router/address.js";
import type { AttemptSink, Exchange, ExchangeOptions } from "../router/exchange.js";
import { headerValue } from "../router/header-list.js";
import type { LocalError, RoutableRequest } from "../router/routable-request.js";
import { type Attempts, endAttempt, settleHeld } from "./exchange-attempt.js";
import { flush, forgetOwed, Half, type Pending, replaceQueue } from "./flow-half.js";
import { type Held, stopClassTimer } from "./held-response.js";
import { clientReset, localAnswer, upstreamProtocolError } from "./relay-errors.js";
import { RelayExchange } from "./relay-exchange.js";
import type { DownConn } from "./relay-server.js";
import type { RequestSide } from "./request-side.js";
import type { ResponseLength } from "./response-check.js";
import { releaseResponseWindow } from "./response-window.js";
import { type Deadline, startDeadline, stopDeadline } from "./stream-deadline.js";
import { ReplyPhase, ResponsePhase } from "./stream-phase.js";
import type { UpConn } from "./upstream.js";

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
export class RelayStream
  implements RelayRequest, RequestSide, ResponseLength, Attempts, Held, Deadline
{
  readonly isGrpc: boolean;
  readonly startedAt = performance.now();
  /** What the client has been told (`stream-phase.ts`). */
  reply: ReplyPhase = ReplyPhase.Routing;
  /** Where the current attempt's response is (`stream-phase.ts`). */
  response: ResponsePhase = ResponsePhase.AwaitingHeaders;
  /** The current attempt's upstream connection and stream (0: none). */
  up: UpConn | undefined;
  upId = 0;
  /**
   * The stream window advertised to the current upstream stream (`response-window.ts`): its
   * response DATA outstanding here never exceeds it.
   */
  upWindow = 0;
  /** What the client's stream window lets the upstream stream have, up to 64 KiB (`response-window.ts`). */
  upWant = 0;
  /** The part of `upWindow` counted in `DownConn.promised` (0 once the response is over). */
  upPromised = 0;
  /** The outbound halves (`flow-half.ts`): the request's to the upstream, the response's to the client. */
  toUp: Half | undefined;
  readonly toDown: Half;
  // the request side (`request-side.ts`; each part's interface documents its fields)
  early: Pending[] | undefined;
  earlyOwed = 0;
  reqTrailers: HeaderField[] | undefined;
  reqEnded: boolean;
  contentLength = -1;
  /** The current attempt's response `content-length` (-1: none) and DATA bytes (`response-check.ts`). */
  respLength = -1;
  respBytes = 0;
  // the orthogonal flags (`stream-phase.ts`)
  upClosed = false;
  parked = false;
  dropRequest = false;
  // the current attempt's outcome (its response's statuses, or its error / reset code), the
  // bytes relayed each way, its endpoint's key (`host:port`)
  status = 0;
  grpcStatus: number | undefined;
  error: Error | undefined;
  reset: number | undefined;
  bytesIn = 0;
  bytesOut = 0;
  endpoint = "";
  // the deadline (`stream-deadline.ts`)
  deadlineMs = 0;
  deadlineAt = 0;
  propagateTimeout = false;
  deadlineTimer: NodeJS.Timeout | undefined;
  // the exchange and its attempts (`exchange-attempt.ts`)
  commitResolve: (() => void) | undefined;
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
  // the current attempt (`exchange-attempt.ts`)
  attemptStartedAt = 0;
  attemptSink: AttemptSink | undefined;

  constructor(
    readonly down: DownConn,
    readonly id: number,
    /** The request's header list as decoded (the router's `headers`; never modified). */
    readonly headers: HeaderField[],
    endStream: boolean,
  ) {
    this.isGrpc = isGrpcContentType(headerValue(headers, "content-type"));
    this.reqEnded = endStream;
    // its `ackAt` is set with each upstream stream's window (`response-window.ts`)
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
    startDeadline(this, opts.deadlineMs);
    return new RelayExchange(this);
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
    // a held response's upstream stream is over: no stream window is owed for its bytes
    forgetOwed(this.toDown);
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
    this.closeUp();
    up.conn.rstStream(this.upId, ErrorCode.CANCEL);
  }

  /**
   * The current upstream stream sends nothing more (reset, lost, cancelled, or dropped with its
   * attempt): its window no longer counts against the client's connection (`response-window.ts`).
   */
  closeUp(): void {
    this.upClosed = true;
    releaseResponseWindow(this);
  }

  toUpDone(): boolean {
    return this.toUp === undefined || this.toUp.ended;
  }

  /** Sends the response DATA the client's windows allow (they opened, or DATA was queued). */
  flushDown(): void {
    const half = this.toDown;
    const up = this.up;
    if (half.ended || up === undefined || this.reply === ReplyPhase.Holding) return;
    flush(half, this.down.conn, this.id, up.conn, this.upId);
    if (half.ended) this.maybeDone();
  }

  // ---- endings ----

  /** One half ended: the stream is over once both did (or the rest of the request is dropped). */
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
      settleHeld(this, err, unprocessed);
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

  /**
   * The upstream stream broke the protocol and was reset with `code` (sent by the caller). A
   * response that was complete stands (only the rest of the request is dropped); otherwise the
   * request fails as an upstream error (502 / gRPC INTERNAL, `l5d-err` naming the upstream and
   * `why`; the client's stream is reset if the response had started).
   */
  onUpStreamError(code: number, why: string): void {
    if (this.done) return;
    this.closeUp();
    if (this.response === ResponsePhase.Complete) {
      this.dropRequest = true;
      this.maybeDone();
      return;
    }
    this.upFailed(upstreamProtocolError(this.endpoint, why, code), false, ErrorCode.INTERNAL_ERROR);
  }

  /** The stream is over: its timers stop, its resources go, the attempt and `commit()` resolve. */
  finish(): void {
    releaseResponseWindow(this);
    stopDeadline(this);
    stopClassTimer(this);
    if (!this.done) {
      this.reply = ReplyPhase.Done;
      this.down.forget(this);
      // what still waits for the client's windows goes with the stream
      if (this.toDown.bytes !== 0) replaceQueue(this.toDown);
      this.up?.release(this.upId);
      this.down.relay.streams--;
    }
    endAttempt(this, false, false);
    const resolve = this.commitResolve;
    if (resolve === undefined) return;
    this.commitResolve = undefined;
    resolve();
  }
}
