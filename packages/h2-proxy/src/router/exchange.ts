/**
 * The contract of an exchange: one request's attempts, driven by the router's loop
 * (`forward-loop.ts`), which alone decides requeues and retries. The frame-level relay
 * implements it (`../relay/relay-exchange.ts`); a plain forward is one attempt of an exchange
 * whose responses are not held.
 */
import { DataplaneError, GrpcStatus } from "../dataplane/errors.js";
import type { Address } from "./address.js";
import type { HeaderEdits } from "./header-list.js";
import type { ForwardOutcome } from "./routable-request.js";

export interface ExchangeOptions {
  /**
   * Hold each attempt's response (up to `responseBufferBytes`, `classificationTimeoutMs`) until
   * the router commits or discards it: retries are possible. False: a response streams through
   * as it arrives (nothing held, no added latency) and only an attempt that failed before its
   * response started (e.g. unprocessed) comes back held, for a requeue or a local answer.
   */
  readonly holdResponses: boolean;
  /** Linkerd `retryBufferSize.requestBytes` (16383): request DATA kept for replays. */
  readonly requestBufferBytes: number;
  /** Linkerd `retryBufferSize.responseBytes` (16383). */
  readonly responseBufferBytes: number;
  /** Linkerd `classificationTimeoutMs` (100): how long a response may take to complete while held. */
  readonly classificationTimeoutMs: number;
  /** Linkerd `totalTimeoutMs` (none), combined with the request's `grpc-timeout` (earlier wins). */
  readonly deadlineMs?: number | undefined;
}

/** The outcome of one attempt. */
export interface AttemptResult {
  readonly outcome: ForwardOutcome;
  /** The response (or error) is held back: `commit()` or `discard()` it. False: already final. */
  readonly held: boolean;
  /** The upstream never processed the request (connect failure, REFUSED_STREAM): safe to requeue. */
  readonly unprocessed: boolean;
  readonly durationMs: number;
}

/**
 * Receives an attempt's result (`Exchange.attempt`): an object with a method, not a callback, so
 * that the router's per-request loop state is the sink and an attempt allocates no closure.
 */
export interface AttemptSink {
  attempted(r: AttemptResult): void;
}

export interface Exchange {
  /** The request body still fits the buffer: another attempt can replay it. */
  readonly replayable: boolean;
  /** The client went away, the deadline expired, or a response was committed. */
  readonly done: boolean;
  /** Time left before the total deadline (ms), or undefined without one. */
  remainingMs(): number | undefined;
  /**
   * Sends one attempt to `endpoint`; `sink.attempted` is called once, when its response is
   * complete (held) or final. A held result is delivered from a later microtask (the sink may
   * call the exchange back: `commit`, `discard`, another `attempt`); a final one (held false)
   * may be delivered synchronously from inside the data plane, and its sink must then only
   * record it (no call back into the exchange).
   */
  attempt(endpoint: Address, edits: HeaderEdits, sink: AttemptSink): void;
  /** Drops the held response (before another attempt). */
  discard(): void;
  /**
   * Sends the held response (or its error, answered locally) to the client, with extra
   * response headers (e.g. `l5d-retryable`). Resolves when the client's stream has closed.
   */
  commit(extra?: Readonly<Record<string, string>>): Promise<void>;
}

/**
 * The outcome of a total deadline that expired between attempts (the exchange answers the
 * client itself on `commit()`): DEADLINE_EXCEEDED, as a trailers-only gRPC error or HTTP 504.
 */
export function deadlineExceededOutcome(isGrpc: boolean): ForwardOutcome {
  return {
    error: new DataplaneError(
      "DEADLINE_EXCEEDED",
      "deadline exceeded",
      GrpcStatus.DEADLINE_EXCEEDED,
      504,
    ),
    grpcStatus: GrpcStatus.DEADLINE_EXCEEDED,
    status: isGrpc ? 200 : 504,
  };
}

/**
 * Hands `r` to `sink` from a microtask of its own: how a held result is delivered (the sink may
 * then call the exchange back), and any result an exchange does not deliver at once.
 */
export function deliverLater(sink: AttemptSink, r: AttemptResult): void {
  queueMicrotask(() => sink.attempted(r));
}

/**
 * One attempt as a promise, for callers that await it (tests, tools): the router's loop is a
 * sink instead (no promise per attempt).
 */
export function attemptOnce(
  ex: Exchange,
  endpoint: Address,
  edits: HeaderEdits,
): Promise<AttemptResult> {
  return new Promise((resolve) => ex.attempt(endpoint, edits, { attempted: resolve }));
}
