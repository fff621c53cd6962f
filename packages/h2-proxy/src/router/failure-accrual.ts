/**
 * Failure accrual (Finagle's FailureAccrualFactory): each endpoint of a client has a policy that
 * sees every response's success or failure and may mark the endpoint dead for a backoff. A dead
 * endpoint is unavailable to the balancer; when its backoff ends it is *probing*: available for
 * exactly one request, whose success revives it and whose failure marks it dead again for the
 * next (longer) backoff. A probe that ends without a verdict on the endpoint (its client reset
 * or cancelled it, the request was requeued before the endpoint saw it) reopens the probe: the
 * next request is the probe. Balancers still use unavailable endpoints when all are dead, so
 * an all-ejected client keeps serving (and probing).
 * What counts as a failure is decided by the router (`accrual-verdict.ts`): the response
 * classifier's verdict, except for outcomes the client caused, which are never counted.
 * Policies are plugins by `kind:` (`failure-accrual-policies.ts`); the h2 default is
 * `io.l5d.consecutiveFailures` with 5 failures and jittered backoff 5 s → 300 s.
 */
import type { Endpoint } from "./load-balancer.js";
import type { ForwardOutcome } from "./routable-request.js";

/** A per-endpoint policy deciding when to mark the endpoint dead. */
export interface FailureAccrualPolicy {
  recordSuccess(): void;
  /** Records a failure; returns the backoff (ms) when the endpoint must be marked dead now. */
  markDeadOnFailure(): number | undefined;
  /** The endpoint came back (its probe succeeded): reset the state and the backoff stream. */
  revived(): void;
  /** Why the policy marks the endpoint dead now (`5 consecutive failures`), for admin pages. */
  describe?(): string;
}

/** Makes the policy of one endpoint. `undefined` policies (kind `none`) never mark dead. */
export type FailureAccrualMaker = () => FailureAccrualPolicy | undefined;

/** Counters a client's accrual reports to (`rt/<r>/client/<id>/failure_accrual/...`). */
export interface FailureAccrualStats {
  removal(): void;
  revival(): void;
  /** Time an endpoint spent removed, each time it is revived. */
  removedFor(ms: number): void;
  /** A probe request was sent to an endpoint whose backoff ended. */
  probe?(): void;
  /** `e` was marked dead for `backoffMs`, for `reason` (Linkerd logs it: "marking ... as dead"). */
  markedDead?(e: Endpoint, reason: string, backoffMs: number): void;
  /** `e`'s probe succeeded: it is alive again after `removedMs` removed. */
  revived?(e: Endpoint, removedMs: number): void;
  /**
   * The accrual tracks `e` from its first verdict on (per-endpoint gauges read `state`); the
   * function returned is called when it stops (the endpoint left the client, or close).
   */
  track?(e: Endpoint, state: () => EndpointState): () => void;
}

/** An endpoint's accrual state. */
export type EndpointState = "alive" | "dead" | "probing";

/** An endpoint's accrual state and why, for admin pages (`/routers.json`, the dashboard). */
export interface EndpointAccrualView {
  readonly state: EndpointState;
  /** When the endpoint was removed (epoch ms), while dead or probing. */
  readonly since?: number;
  /** Why it was removed: the policy's reason and the failure that tipped it, or the probe's. */
  readonly reason?: string;
  /** The backoff it is (or was last) marked dead for (ms). */
  readonly backoffMs?: number;
  /** Probing: a probe request is in flight (no other request is sent to it meanwhile). */
  readonly probeInFlight?: boolean;
}

type State =
  | { kind: "alive" }
  | { kind: "dead"; since: number; timer: NodeJS.Timeout }
  | { kind: "probing"; since: number; probeSent: boolean };

class EndpointAccrual {
  state: State = { kind: "alive" };
  /** Why it was last marked dead (kept while removed). */
  reason = "";
  backoffMs = 0;
  /** Stops the per-endpoint gauges (`FailureAccrualStats.track`). */
  untrack: (() => void) | undefined;
  constructor(
    readonly endpoint: Endpoint,
    readonly policy: FailureAccrualPolicy,
  ) {}
}

/** The failure accrual of one client: tracks each endpoint's policy and dead/probing state. */
export class FailureAccrual {
  readonly #byEndpoint = new Map<Endpoint, EndpointAccrual>();
  #closed = false;

  constructor(
    private readonly maker: FailureAccrualMaker,
    private readonly stats?: FailureAccrualStats,
    private readonly now: () => number = Date.now,
  ) {}

  #of(e: Endpoint): EndpointAccrual | undefined {
    let a = this.#byEndpoint.get(e);
    if (!a) {
      const policy = this.maker();
      if (!policy) return undefined;
      a = new EndpointAccrual(e, policy);
      this.#byEndpoint.set(e, a);
      const tracked = a;
      a.untrack = this.stats?.track?.(e, () => tracked.state.kind);
    }
    return a;
  }

  /**
   * Called when a request is sent to `e`. True when it is `e`'s probe: a probing endpoint takes
   * no second request until the probe's verdict (pass the flag back to `record`/`release`).
   */
  onDispatch(e: Endpoint): boolean {
    const a = this.#byEndpoint.get(e);
    if (a?.state.kind === "probing" && !a.state.probeSent) {
      a.state.probeSent = true;
      e.available = false;
      this.stats?.probe?.();
      return true;
    }
    return false;
  }

  /**
   * Records a finished request's verdict on `e`; `probe` is what `onDispatch` answered for it,
   * `failure` the failed outcome (kept to say why, when it marks the endpoint dead).
   */
  record(e: Endpoint, success: boolean, probe = false, failure?: ForwardOutcome): void {
    if (this.#closed) return;
    const a = this.#of(e);
    if (!a) return;
    const st = a.state;
    if (success) {
      a.policy.recordSuccess();
      if (st.kind === "probing") {
        a.policy.revived();
        a.state = { kind: "alive" };
        a.reason = "";
        e.available = true;
        const removedMs = this.now() - st.since;
        this.stats?.revival();
        this.stats?.removedFor(removedMs);
        this.stats?.revived?.(e, removedMs);
      }
      return;
    }
    if (st.kind === "dead") return; // a request sent before the ejection
    const backoff = a.policy.markDeadOnFailure();
    if (st.kind === "probing") {
      const what = probe ? "the probe failed" : "a request failed while probing";
      a.reason = `${what}: ${describeFailure(failure)}`;
      this.#markDead(a, backoff ?? (a.backoffMs || 5_000), st.since);
    } else if (backoff !== undefined) {
      const why = a.policy.describe?.() ?? "the failure accrual policy";
      a.reason = `${why}; last: ${describeFailure(failure)}`;
      this.stats?.removal();
      this.#markDead(a, backoff, this.now());
    }
  }

  /**
   * A request to `e` ended without a verdict on the endpoint (the client reset or cancelled it,
   * or it was requeued elsewhere). When it was the probe, the probe reopens: the next request
   * to this client may be the probe (else the endpoint would stay probing for good).
   */
  release(e: Endpoint, probe: boolean): void {
    if (!probe || this.#closed) return;
    const a = this.#byEndpoint.get(e);
    if (a?.state.kind !== "probing" || !a.state.probeSent) return;
    a.state.probeSent = false;
    e.available = true;
  }

  #markDead(a: EndpointAccrual, backoffMs: number, since: number): void {
    a.endpoint.available = false;
    a.backoffMs = backoffMs;
    const timer = setTimeout(() => {
      if (a.state.kind !== "dead") return;
      a.state = { kind: "probing", since, probeSent: false };
      a.endpoint.available = true;
    }, backoffMs);
    timer.unref();
    a.state = { kind: "dead", since, timer };
    this.stats?.markedDead?.(a.endpoint, a.reason, backoffMs);
  }

  /** Forgets endpoints no longer in the client (their timers stop). */
  retain(endpoints: Iterable<Endpoint>): void {
    const keep = new Set(endpoints);
    for (const [e, a] of this.#byEndpoint) {
      if (keep.has(e)) continue;
      if (a.state.kind === "dead") clearTimeout(a.state.timer);
      a.untrack?.();
      this.#byEndpoint.delete(e);
    }
  }

  /** Endpoints currently removed (dead or probing). */
  get removed(): number {
    let n = 0;
    for (const a of this.#byEndpoint.values()) if (a.state.kind !== "alive") n++;
    return n;
  }

  /** Endpoints currently in `state` (`dead` or `probing`; alive ones may not be tracked). */
  count(state: "dead" | "probing"): number {
    let n = 0;
    for (const a of this.#byEndpoint.values()) if (a.state.kind === state) n++;
    return n;
  }

  /** The state of `e` (`alive`, `dead`, `probing`), for admin pages and tests. */
  stateOf(e: Endpoint): EndpointState {
    return this.#byEndpoint.get(e)?.state.kind ?? "alive";
  }

  /** The state of `e` and why, for admin pages. */
  viewOf(e: Endpoint): EndpointAccrualView {
    const a = this.#byEndpoint.get(e);
    if (a === undefined || a.state.kind === "alive") return { state: "alive" };
    const st = a.state;
    return {
      state: st.kind,
      since: st.since,
      reason: a.reason,
      backoffMs: a.backoffMs,
      ...(st.kind === "probing" ? { probeInFlight: st.probeSent } : {}),
    };
  }

  close(): void {
    this.#closed = true;
    for (const a of this.#byEndpoint.values()) {
      if (a.state.kind === "dead") clearTimeout(a.state.timer);
      a.untrack?.();
    }
    this.#byEndpoint.clear();
  }
}

/** One failed outcome in words (`grpc-status 13`, `HTTP 503`, the transport error's message). */
export function describeFailure(o: ForwardOutcome | undefined): string {
  if (o === undefined) return "a failure";
  if (o.error !== undefined) return o.error.message;
  if (o.grpcStatus !== undefined && o.grpcStatus !== 0) return `grpc-status ${o.grpcStatus}`;
  if (o.status !== undefined) return `HTTP ${o.status}`;
  return "a failure";
}
