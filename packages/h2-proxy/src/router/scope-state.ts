/**
 * The router's per-scope state that a request's loop updates: a scope's request counters and
 * latency, a service's policy and retry budget, a client's failure accrual and requeue budget.
 */
import type { Histogram } from "../metrics/histogram.js";
import type { Counter, MetricsRegistry } from "../metrics/metrics-registry.js";
import type { ExchangeOptions } from "./exchange.js";
import type { FailureAccrual } from "./failure-accrual.js";
import type { ResponseClassifier } from "./response-classifier.js";
import type { RetryBudget } from "./retry-budget.js";
import type { ServicePolicy } from "./service-policy.js";

export interface ScopeStats {
  requests: Counter;
  success: Counter;
  failures: Counter;
  /** Requests their client reset before the response completed (counted in `failures` too). */
  cancelled: Counter;
  latency: Histogram;
}

/** A service's policy, retry budget and retry stats (`rt/<r>/service/<svc>/retries/...`). */
export interface ServiceState extends ScopeStats {
  policy: ServicePolicy;
  /** The exchange options of its requests (made once per service). */
  exchange: ExchangeOptions;
  classifier: ResponseClassifier;
  budget: RetryBudget;
  retries: Counter;
  budgetExhausted: Counter;
  perRequest: Histogram;
}

/** A client's failure accrual, requeue budget and stats. */
export interface ClientState extends ScopeStats {
  accrual: FailureAccrual;
  requeueBudget: RetryBudget;
  requeues: Counter;
  requeueBudgetExhausted: Counter;
}

/** Per-server stats (`rt/<router>/server/<ip>/<port>`), created by the daemon per listener. */
export class ServerScope {
  readonly stats: ScopeStats;
  constructor(metrics: MetricsRegistry, label: string, ip: string, port: number) {
    this.stats = scopeStats(metrics, `rt/${label}/server/${ip}/${port}`);
  }
}

export function scopeStats(m: MetricsRegistry, scope: string): ScopeStats {
  return {
    requests: m.counter(`${scope}/requests`),
    success: m.counter(`${scope}/success`),
    failures: m.counter(`${scope}/failures`),
    cancelled: m.counter(`${scope}/failures/${CANCELLED_REQUEST}`),
    latency: m.histogram(`${scope}/request_latency_ms`),
  };
}

/**
 * Linkerd's (Finagle's) name for a request its client gave up on, under `failures/`: a client
 * reset before the response completed is a failed request in the stats (whatever had arrived),
 * never a failure of the endpoint in failure accrual (`accrual-verdict.ts`).
 */
const CANCELLED_REQUEST = "com.twitter.finagle.CancelledRequestException";

/** One finished request in a scope's success/failure counters and latency histogram. */
export function countDone(s: ScopeStats, ok: boolean, cancelled: boolean, ms: number): void {
  if (ok) s.success.incr();
  else {
    s.failures.incr();
    if (cancelled) s.cancelled.incr();
  }
  s.latency.add(ms);
}
