/**
 * Per-service policy (Linkerd `service:` keys) and per-client policy (Linkerd `client:` keys)
 * as the router consumes them; the daemon builds them from the parsed config.
 */
import type { UpstreamTls } from "./address.js";
import type { BackoffConfig } from "./backoff.js";
import type { FailureAccrualMaker } from "./failure-accrual.js";
import type { ResponseClassifier } from "./response-classifier.js";
import type { RetryBudgetConfig } from "./retry-budget.js";

export interface ServicePolicy {
  /** Linkerd `responseClassifier` (h2 default `io.l5d.h2.nonRetryable5XX`). */
  readonly classifier?: ResponseClassifier | undefined;
  /** Linkerd `retries`: budget (10/s, 20%, 10 s) and backoff (constant 0 ms). */
  readonly retries?:
    | { readonly budget: RetryBudgetConfig; readonly backoff: BackoffConfig }
    | undefined;
  /** Linkerd `totalTimeoutMs` (none): spans every attempt and backoff. */
  readonly totalTimeoutMs?: number | undefined;
  /** Linkerd `classificationTimeoutMs` (100). */
  readonly classificationTimeoutMs?: number | undefined;
  /** Linkerd `retryBufferSize` (16383 / 16383 bytes). */
  readonly retryBufferSize?:
    | { readonly requestBytes: number; readonly responseBytes: number }
    | undefined;
}

export interface ClientPolicy {
  /** Linkerd `failureAccrual` (h2 default: 5 consecutive failures, jittered 5 s → 300 s). */
  readonly failureAccrual?: FailureAccrualMaker | undefined;
  /** Linkerd `requeueBudget` (retry-budget defaults): immediate retries of unprocessed requests. */
  readonly requeueBudget?: RetryBudgetConfig | undefined;
  /** l5d-ts `connectTimeoutMs` (the data plane's default, 3 s): a new upstream connection's bound. */
  readonly connectTimeoutMs?: number | undefined;
  /** Linkerd `client.tls`: TLS to this client's endpoints (unset: plaintext). */
  readonly tls?: UpstreamTls | undefined;
}

/** Requeues of one request at most (Finagle's RequeueFilter bound). */
export const MAX_REQUEUES_PER_REQUEST = 25;
