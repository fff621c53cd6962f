/**
 * The router's exchange on a relayed stream (`relay-exchange.ts` is its face): each `attempt`
 * opens a new upstream stream with the request's header list (the router's edits applied) and
 * its kept DATA, and ends once with an `AttemptResult` for the router's sink:
 * - held (`holdResponses`, retries configured): when its response is complete, or it failed
 *   (`settleHeld`); the router then `commit`s the held response (it goes downstream, or the
 *   error is answered locally) or `discard`s it (upstream stream cancelled, the next attempt
 *   starts afresh). A response past `responseBufferBytes`, not complete within
 *   `classificationTimeoutMs`, or whose request is no longer replayable, is committed at once and
 *   streams through (`streamThrough`);
 * - not held: when the stream is over (the response streamed through as it arrived), or held if
 *   it failed before its response started (unprocessed or not: for the router to requeue or
 *   commit).
 *
 * What is held is `held-response.ts`'s; the fields of the attempts live in the stream
 * (`Attempts`, implemented by `RelayStream`: no object of their own per request).
 */
import { ErrorCode, type HeaderField } from "@l5d/h2";
import { DataplaneError, GrpcStatus } from "../dataplane/errors.js";
import type { Address } from "../router/address.js";
import {
  type AttemptResult,
  type AttemptSink,
  deliverLater,
  type ExchangeOptions,
} from "../router/exchange.js";
import type { HeaderEdits } from "../router/header-list.js";
import type { ForwardOutcome } from "../router/routable-request.js";
import { forgetOwed, replaceQueue } from "./flow-half.js";
import { clearHeld, hold, stopClassTimer } from "./held-response.js";
import { EXCHANGE_OVER, unavailable } from "./relay-errors.js";
import type { RelayStream } from "./relay-stream.js";
import { flushUp, upHalf } from "./request-side.js";
import { openResponseWindow } from "./response-window.js";
import { propagateDeadline } from "./stream-deadline.js";
import { ReplyPhase, ResponsePhase } from "./stream-phase.js";
import type { UpConn } from "./upstream.js";
import { endpointKey, upstreamHeaders } from "./upstream-request.js";

export interface Attempts {
  /** The router's options for the exchange (undefined until `exchange()`). */
  ex: ExchangeOptions | undefined;
  /** The header list sent upstream (edits applied), replayed as is by a requeue or retry. */
  out: HeaderField[];
  /** The current attempt's endpoint, and its key (`host:port`, for messages). */
  target: Address | undefined;
  endpoint: string;
  attempts: number;
  /** Request DATA kept for a replay, at most (`requestBufferBytes`). */
  replayLimit: number;
  attemptStartedAt: number;
  /** Receives the current attempt's result (once). */
  attemptSink: AttemptSink | undefined;
  /** Resolves `commit()` when the stream is over. */
  commitResolve: (() => void) | undefined;
}

/** A new attempt on `endpoint` with the router's `edits` (see the header). */
export function attempt(
  s: RelayStream,
  endpoint: Address,
  edits: HeaderEdits,
  sink: AttemptSink,
): void {
  if (s.responded) {
    deliverLater(sink, EXCHANGE_OVER);
    return;
  }
  s.attemptSink = sink;
  s.attemptStartedAt = performance.now();
  s.reply = (s.ex as ExchangeOptions).holdResponses ? ReplyPhase.Holding : ReplyPhase.Routing;
  s.parked = false;
  s.out = upstreamHeaders(s.headers, edits, s.propagateTimeout);
  send(s, endpoint);
}

/** Opens the request on `endpoint`'s connection, or fails it (unprocessed) in connect backoff. */
function send(s: RelayStream, endpoint: Address): void {
  s.attempts++;
  s.target = endpoint;
  s.endpoint = endpointKey(endpoint);
  const relay = s.down.relay;
  const up = relay.upstream(endpoint, s.endpoint);
  if (up === undefined) {
    s.upId = 0;
    s.upFailed(unavailable(relay.unavailableMessage(s.endpoint)), true, ErrorCode.INTERNAL_ERROR);
    return;
  }
  openOn(s, up);
}

/** A new upstream stream for the request: its headers, then its DATA (`request-side.ts`). */
function openOn(s: RelayStream, up: UpConn): void {
  const half = upHalf(s, up);
  const endStream = s.reqEnded && half.queue.length === 0 && half.tail === undefined;
  s.up = up;
  s.upId = up.open(s);
  s.toUp = half;
  s.parked = false;
  s.response = ResponsePhase.AwaitingHeaders;
  s.upClosed = false;
  const out = s.out;
  propagateDeadline(s, out);
  up.conn.headers(s.upId, out, endStream);
  openResponseWindow(s);
  if (endStream) half.ended = true;
  flushUp(s);
}

/** The request DATA sent so far is still kept: another attempt can replay it. */
export function replayable(s: RelayStream): boolean {
  return s.toUp === undefined || s.toUp.log !== undefined;
}

/**
 * The outcomes of nearly every attempt (a 200 without error, gRPC OK or plain HTTP): shared,
 * read-only, instead of one object per attempt; with the per-attempt object's fields in its
 * order, so that their readers (classifiers, accrual, metrics) see few shapes.
 */
const GRPC_OK: ForwardOutcome = Object.freeze({
  status: 200,
  grpcStatus: 0,
  error: undefined,
  reset: undefined,
});
const HTTP_OK: ForwardOutcome = Object.freeze({
  status: 200,
  grpcStatus: undefined,
  error: undefined,
  reset: undefined,
});

/** The outcome of the current attempt (its response as held, or its error). */
function attemptOutcome(s: RelayStream): ForwardOutcome {
  const status = s.response === ResponsePhase.AwaitingHeaders ? undefined : s.status;
  if (status === 200 && s.error === undefined && s.reset === undefined) {
    if (s.grpcStatus === 0) return GRPC_OK;
    if (s.grpcStatus === undefined) return HTTP_OK;
  }
  return { status, grpcStatus: s.grpcStatus, error: s.error, reset: s.reset };
}

/**
 * Ends the current attempt, if it has not been yet: a final result (the stream is over) goes to
 * the router's sink at once, which only records it; a held one from a microtask, as the router
 * then commits, discards or attempts again.
 */
export function endAttempt(s: RelayStream, held: boolean, unprocessed: boolean): void {
  const sink = s.attemptSink;
  if (sink === undefined) return;
  s.attemptSink = undefined;
  const r: AttemptResult = {
    outcome: attemptOutcome(s),
    held,
    unprocessed,
    durationMs: performance.now() - s.attemptStartedAt,
  };
  if (held) deliverLater(sink, r);
  else sink.attempted(r);
}

/** The attempt's response is complete (or failed): held until commit() or discard(). */
export function settleHeld(
  s: RelayStream,
  err: DataplaneError | undefined,
  unprocessed: boolean,
): void {
  if (s.parked) return;
  s.parked = true;
  stopClassTimer(s);
  if (err !== undefined) s.error = err;
  // nothing more is needed from this upstream stream; its late frames are dropped
  if (s.upId !== 0) s.up?.release(s.upId);
  endAttempt(s, true, unprocessed);
}

/**
 * The final response headers of a held attempt (`end`: trailers-only): held until complete,
 * unless the request is no longer replayable (committed at once: no other attempt can follow).
 */
export function holdResponse(s: RelayStream, headers: HeaderField[], end: boolean): void {
  hold(s, headers, end);
  if (!replayable(s)) streamThrough(s);
  else if (end) settleHeld(s, undefined, false);
  else {
    const ms = (s.ex as ExchangeOptions).classificationTimeoutMs;
    s.classTimer = setTimeout(onClassificationTimeout, ms, s);
  }
}

/** `len` bytes of held DATA were queued (`end`: the response is complete). */
export function heldData(s: RelayStream, len: number, end: boolean): void {
  s.heldBytes += len;
  if (end) settleHeld(s, undefined, false);
  else if (s.heldBytes > (s.ex as ExchangeOptions).responseBufferBytes) streamThrough(s);
}

function onClassificationTimeout(s: RelayStream): void {
  s.classTimer = undefined;
  if (!s.parked) streamThrough(s);
}

/**
 * The held response outgrew the buffer or the classification timeout: it is committed now and
 * the rest streams through (the attempt resolves, not held, when the stream ends).
 */
export function streamThrough(s: RelayStream): void {
  if (s.reply !== ReplyPhase.Holding) return;
  s.reply = ReplyPhase.Answered;
  stopClassTimer(s);
  sendHeld(s);
}

/** The held response goes downstream: its headers, then its DATA as the client's windows allow. */
function sendHeld(s: RelayStream): void {
  const headers = s.heldHeaders as HeaderField[];
  if (s.heldTrailersOnly) {
    s.toDown.ended = true;
    s.down.conn.headers(s.id, headers, true);
    s.maybeDone();
    return;
  }
  s.down.conn.headers(s.id, headers, false);
  s.flushDown();
}

/** The router drops the settled attempt: its upstream stream is cancelled, its response forgotten. */
export function discard(s: RelayStream): void {
  if (s.responded || !s.parked) return;
  s.cancelUp();
  // over either way (cancelled, or complete both ways): no more window for it until the next
  // attempt opens another (`openOn`)
  s.closeUp();
  // the upstream stream is over: no stream window is owed for the held bytes
  forgetOwed(s.toDown);
  replaceQueue(s.toDown);
  s.toDown.tail = undefined;
  s.status = 0;
  s.grpcStatus = undefined;
  s.error = undefined;
  s.reset = undefined;
  s.response = ResponsePhase.AwaitingHeaders;
  clearHeld(s);
  s.bytesOut = 0;
}

/**
 * The router commits the settled attempt: its held response goes downstream with the `extra`
 * headers (or its error is answered locally); resolves when the stream is over.
 */
export function commit(s: RelayStream, extra: Readonly<Record<string, string>>): Promise<void> {
  return new Promise((resolve) => {
    if (s.responded) {
      resolve();
      return;
    }
    s.commitResolve = resolve;
    const held = s.heldHeaders;
    const err = s.error;
    if (held === undefined || err !== undefined) {
      const e = err instanceof DataplaneError ? err : undefined;
      s.fail(
        e?.grpcStatus ?? GrpcStatus.UNAVAILABLE,
        e?.httpStatus ?? 502,
        err?.message ?? `${s.endpoint}: no response`,
      );
      return;
    }
    s.reply = ReplyPhase.Answered;
    for (const n in extra) held.push([n, extra[n] as string]);
    // the upstream stream is over: no stream window is owed for the held bytes
    forgetOwed(s.toDown);
    if (!s.toUpDone()) {
      // the response is complete before the request: drop the rest of it (as the upstream did)
      s.dropRequest = true;
      s.cancelUp();
    }
    sendHeld(s);
  });
}
