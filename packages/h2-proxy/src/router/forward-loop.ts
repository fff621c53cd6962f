/**
 * The router's loop over one request's exchange (`Forwarding`): each attempt is dispatched,
 * settled (balancer latency, failure accrual) and classified; an unprocessed attempt is
 * requeued (requeue budget, at most `MAX_REQUEUES_PER_REQUEST`), a retryable one retried (retry
 * budget, backoff, deadline), else the held response is committed. A plain forward (responses
 * not held) is one attempt, requeued only if it failed before its response started.
 *
 * The loop's state is one object per request that is also the exchange's `AttemptSink`: a
 * request that is neither requeued nor retried costs no promise, closure or async frame (its
 * final result may come synchronously from the data plane; it is only recorded then).
 */
import { accrualVerdict } from "./accrual-verdict.js";
import { type Backoff, type BackoffConfig, startBackoff } from "./backoff.js";
import type { BoundClient } from "./bound-client.js";
import {
  type AttemptResult,
  type AttemptSink,
  deadlineExceededOutcome,
  type Exchange,
} from "./exchange.js";
import type { Endpoint } from "./load-balancer.js";
import type { ResponseClass } from "./response-classifier.js";
import type { ForwardOutcome, HeaderEdits, RoutableRequest } from "./routable-request.js";
import type { ClientState, ServerScope, ServiceState } from "./scope-state.js";
import { MAX_REQUEUES_PER_REQUEST } from "./service-policy.js";

/** What the loop hands back to its router: the request's end, counted and reported. */
export interface ForwardHost {
  finish(
    req: RoutableRequest,
    server: ServerScope,
    t0: number,
    outcome: ForwardOutcome,
    cls: ResponseClass,
    service: ServiceState,
    client: ClientState,
    endpoint: Endpoint,
  ): void;
  /** A bug in the loop (the exchange itself never fails): answered as a local failure. */
  failed(req: RoutableRequest, server: ServerScope, t0: number, e: unknown): void;
}

/** The headers a committed response gets (made once: `commit` only reads them). */
const RETRYABLE_EXTRA: Readonly<Record<string, string>> = Object.freeze({
  "l5d-retryable": "true",
});
const NO_EXTRA: Readonly<Record<string, string>> = Object.freeze({});
const NO_BACKOFF: BackoffConfig = { kind: "constant", ms: 0 };

/** One request's loop (see the header); `start()` sends the first attempt. */
export class Forwarding implements AttemptSink {
  #endpoint: Endpoint;
  /** The current attempt is the endpoint's failure-accrual probe. */
  #probe = false;
  #retries = 0;
  #requeues = 0;
  /** Made at the first retry: a request that is not retried allocates none. */
  #backoff: Backoff | undefined;
  /** An attempt is out: its result is awaited (a second delivery, or one after a throw, is ignored). */
  #out = false;
  #outcome: ForwardOutcome | undefined;
  #cls: ResponseClass = "success";

  constructor(
    readonly host: ForwardHost,
    readonly req: RoutableRequest,
    readonly server: ServerScope,
    readonly t0: number,
    readonly ex: Exchange,
    readonly edits: HeaderEdits,
    readonly service: ServiceState,
    readonly client: BoundClient,
    readonly cstats: ClientState,
    first: Endpoint,
  ) {
    this.#endpoint = first;
  }

  /** Sends an attempt to the current endpoint. */
  start(): void {
    const endpoint = this.#endpoint;
    this.#probe = dispatch(this.client, this.cstats, endpoint);
    this.#out = true;
    try {
      this.ex.attempt(endpoint, this.edits, this);
    } catch (e) {
      // a throw after the attempt ended (its result was delivered and recorded) changes nothing
      if (!this.#out) return;
      this.#out = false;
      this.#release();
      this.host.failed(this.req, this.server, this.t0, e);
    }
  }

  attempted(r: AttemptResult): void {
    if (!this.#out) return;
    this.#out = false;
    try {
      this.#attempted(r);
    } catch (e) {
      this.host.failed(this.req, this.server, this.t0, e);
    }
  }

  #attempted(r: AttemptResult): void {
    const { client, cstats, ex, service } = this;
    const endpoint = this.#endpoint;
    this.#release();
    const outcome = r.outcome;
    const cls = service.classifier.classify(outcome, this.req.headers);
    this.#outcome = outcome;
    this.#cls = cls;
    settle(client, cstats, endpoint, outcome, cls, r.durationMs, this.#probe);
    if (!r.held) {
      this.#done();
      return;
    }
    if (r.unprocessed && ex.replayable && !ex.done && this.#requeues < MAX_REQUEUES_PER_REQUEST) {
      if (cstats.requeueBudget.tryWithdraw()) {
        this.#requeues++;
        cstats.requeues.incr();
        ex.discard();
        this.#endpoint = client.balancer.pick() ?? endpoint;
        this.start();
        return;
      }
      cstats.requeueBudgetExhausted.incr();
    }
    if (cls === "retryable" && ex.replayable && !ex.done) {
      this.#backoff ??= startBackoff(service.policy.retries?.backoff ?? NO_BACKOFF);
      const delay = this.#backoff.next();
      const remaining = ex.remainingMs();
      if (remaining === undefined || delay < remaining) {
        if (service.budget.tryWithdraw()) {
          this.#retries++;
          service.retries.incr();
          ex.discard();
          if (delay > 0) setTimeout(retryAfterBackoff, delay, this);
          else this.#retry();
          return;
        }
        service.budgetExhausted.incr();
      }
    }
    ex.commit(cls === "retryable" ? RETRYABLE_EXTRA : NO_EXTRA).then(
      () => this.#done(),
      (e: unknown) => this.host.failed(this.req, this.server, this.t0, e),
    );
  }

  /** The retry after its backoff: a new attempt, unless the deadline expired meanwhile. */
  retry(): void {
    try {
      this.#retry();
    } catch (e) {
      this.host.failed(this.req, this.server, this.t0, e);
    }
  }

  #retry(): void {
    if (this.ex.done) {
      // the exchange answered the client itself (DEADLINE_EXCEEDED)
      this.#outcome = deadlineExceededOutcome(this.req.isGrpc);
      this.#cls = this.service.classifier.classify(this.#outcome, this.req.headers);
      this.#done();
      return;
    }
    this.#endpoint = this.client.balancer.pick() ?? this.#endpoint;
    this.start();
  }

  /** The attempt is over: the endpoint and client no longer count it in flight. */
  #release(): void {
    this.#endpoint.inflight--;
    this.client.inflight--;
  }

  #done(): void {
    const service = this.service;
    service.perRequest.add(this.#retries);
    this.host.finish(
      this.req,
      this.server,
      this.t0,
      this.#outcome as ForwardOutcome,
      this.#cls,
      service,
      this.cstats,
      this.#endpoint,
    );
  }
}

function retryAfterBackoff(f: Forwarding): void {
  f.retry();
}

/** Counts a request sent to `endpoint`; true when it is the endpoint's accrual probe. */
function dispatch(client: BoundClient, cstats: ClientState, endpoint: Endpoint): boolean {
  endpoint.inflight++;
  endpoint.requests++;
  client.inflight++;
  return cstats.accrual.onDispatch(endpoint);
}

/**
 * Feeds one finished attempt to the balancer (latency) and failure accrual (its verdict,
 * `accrual-verdict.ts`: what the client caused is never the endpoint's failure). `probe`:
 * the attempt was the endpoint's probe (an attempt without a verdict reopens the probe).
 */
function settle(
  client: BoundClient,
  cstats: ClientState,
  endpoint: Endpoint,
  outcome: ForwardOutcome,
  cls: ResponseClass,
  ms: number,
  probe: boolean,
): void {
  client.balancer.record?.(endpoint, ms);
  const verdict = accrualVerdict(outcome, cls);
  if (verdict === "ignored") cstats.accrual.release(endpoint, probe);
  else cstats.accrual.record(endpoint, verdict === "success", probe, outcome);
}
