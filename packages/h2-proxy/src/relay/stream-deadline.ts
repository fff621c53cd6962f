/**
 * A relayed request's deadline: the client's `grpc-timeout` and the router's `deadlineMs`, the
 * earlier wins, counted from the request's arrival and spanning every attempt and backoff. Each
 * attempt carries the time left upstream as `grpc-timeout` (gRPC, or a client that sent one).
 * When it expires the current upstream stream is cancelled and the client gets
 * DEADLINE_EXCEEDED: a local answer before the response started, else the DATA received so far
 * and then trailers with `grpc-status` 4 (gRPC), or a reset (CANCEL).
 *
 * The fields live in the stream (`Deadline`, implemented by `RelayStream`: no object of its own
 * per request); its timer calls a module-level function with the stream as argument (no closure).
 */
import { ErrorCode, type HeaderField } from "@l5d/h2";
import { GrpcStatus } from "../dataplane/errors.js";
import { encodeGrpcTimeout, parseGrpcTimeout } from "../dataplane/grpc-timeout.js";
import { headerValue } from "../router/header-list.js";
import { forgetOwed } from "./flow-half.js";
import { deadlineExceeded, deadlineTrailers } from "./relay-errors.js";
import type { RelayStream } from "./relay-stream.js";

export interface Deadline {
  /** The budget in ms (rounded), for the message; 0: no deadline. */
  deadlineMs: number;
  /** When it expires (`performance.now()` time); 0: no deadline. */
  deadlineAt: number;
  /** Whether `grpc-timeout` is written upstream (gRPC, or the client sent one). */
  propagateTimeout: boolean;
  /** Fires at `deadlineAt`. */
  deadlineTimer: NodeJS.Timeout | undefined;
}

/** Starts the deadline (the exchange starts): `grpc-timeout` and the router's, the earlier wins. */
export function startDeadline(s: RelayStream, routerMs: number | undefined): void {
  const grpcTimeout = parseGrpcTimeout(headerValue(s.headers, "grpc-timeout"));
  const budget =
    grpcTimeout === undefined
      ? routerMs
      : routerMs === undefined
        ? grpcTimeout
        : Math.min(grpcTimeout, routerMs);
  if (budget === undefined || s.done) return;
  s.propagateTimeout = s.isGrpc || grpcTimeout !== undefined;
  s.deadlineMs = Math.round(budget);
  s.deadlineAt = s.startedAt + budget;
  const remaining = s.deadlineAt - performance.now();
  s.deadlineTimer = setTimeout(onDeadline, Math.max(0, remaining), s);
}

/** The time left (ms), undefined without a deadline. */
export function remainingMs(s: Deadline): number | undefined {
  return s.deadlineAt === 0 ? undefined : s.deadlineAt - performance.now();
}

/** The time left as the last field of an attempt's header list (`upstreamHeaders` reserved it). */
export function propagateDeadline(s: Deadline, out: HeaderField[]): void {
  if (!s.propagateTimeout) return;
  const remaining = s.deadlineAt - performance.now();
  out[out.length - 1] = ["grpc-timeout", encodeGrpcTimeout(remaining)];
}

/** The stream is over: the timer goes. */
export function stopDeadline(s: Deadline): void {
  if (s.deadlineTimer === undefined) return;
  clearTimeout(s.deadlineTimer);
  s.deadlineTimer = undefined;
}

/** The deadline expired: cancel upstream; DEADLINE_EXCEEDED to the client (in trailers if the response started). */
function onDeadline(s: RelayStream): void {
  s.deadlineTimer = undefined;
  if (s.done) return;
  const message = `deadline exceeded after ${s.deadlineMs} ms waiting for ${s.endpoint}`;
  const err = deadlineExceeded(message);
  if (!s.responded) {
    // the attempt ends with the deadline's outcome (not the local answer's), final
    const sink = s.attemptSink;
    s.attemptSink = undefined;
    const t0 = s.attemptStartedAt;
    s.error = err;
    s.fail(GrpcStatus.DEADLINE_EXCEEDED, 504, message);
    sink?.attempted({
      outcome: {
        error: err,
        grpcStatus: GrpcStatus.DEADLINE_EXCEEDED,
        status: s.isGrpc ? 200 : 504,
      },
      held: false,
      unprocessed: false,
      durationMs: performance.now() - t0,
    });
    return;
  }
  s.error = err;
  s.cancelUp();
  forgetOwed(s.toDown);
  s.up?.release(s.upId);
  const half = s.toDown;
  if (s.isGrpc && !half.ended) {
    // what was received goes out, then trailers with grpc-status 4
    s.grpcStatus = GrpcStatus.DEADLINE_EXCEEDED;
    for (const p of half.queue) p.end = false;
    half.tail = deadlineTrailers(message);
    s.flushDown();
    if (!half.ended) return; // the trailers wait for window; maybeDone() follows them
    if (!s.toUpDone()) s.down.conn.rstStream(s.id, ErrorCode.NO_ERROR);
    s.finish();
    return;
  }
  s.reset = ErrorCode.CANCEL;
  s.down.conn.rstStream(s.id, ErrorCode.CANCEL);
  s.finish();
}
