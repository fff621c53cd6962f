/**
 * The contract of a retryable exchange, shared by the node:http2 plane's `RetryingExchange` and
 * the frame-level relay's exchange: the router's retry loop (`H2Router#forwardRetrying`) drives
 * either through this interface, so there is one retry loop whatever moves the bytes.
 */
import { DataplaneError, GrpcStatus } from "../dataplane/errors.js";
import type { Endpoint } from "../dataplane/upstream-pool.js";
import type { ForwardOutcome, HeaderEdits } from "./routable-request.js";

export interface ExchangeOptions {
  readonly isGrpc: boolean;
  /** Linkerd `retryBufferSize.requestBytes` (16383). */
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

export interface Exchange {
  /** The request body still fits the buffer: another attempt can replay it. */
  readonly replayable: boolean;
  /** The client went away, the deadline expired, or a response was committed. */
  readonly done: boolean;
  /** Time left before the total deadline (ms), or undefined without one. */
  remainingMs(): number | undefined;
  /** Sends one attempt to `endpoint`. Resolves when its response is complete (held) or final. */
  attempt(endpoint: Endpoint, edits: HeaderEdits): Promise<AttemptResult>;
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
