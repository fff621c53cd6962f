/**
 * Failure accrual (Finagle's FailureAccrualFactory): each endpoint of a client has a policy that
 * sees every response's success or failure and may mark the endpoint dead for a backoff. A dead
 * endpoint is unavailable to the balancer; when its backoff ends it is *probing*: available for
 * exactly one request, whose success revives it and whose failure marks it dead again for the
 * next (longer) backoff. Balancers still use unavailable endpoints when all are dead, so an
 * all-ejected client keeps serving (and probing).
 * Policies are plugins by `kind:` (`failure-accrual-policies.ts`); the h2 default is
 * `io.l5d.consecutiveFailures` with 5 failures and jittered backoff 5 s → 300 s.
 */
import type { Endpoint } from "./load-balancer.js";

/** A per-endpoint policy deciding when to mark the endpoint dead. */
export interface FailureAccrualPolicy {
  recordSuccess(): void;
  /** Records a failure; returns the backoff (ms) when the endpoint must be marked dead now. */
  markDeadOnFailure(): number | undefined;
  /** The endpoint came back (its probe succeeded): reset the state and the backoff stream. */
  revived(): void;
}

/** Makes the policy of one endpoint. `undefined` policies (kind `none`) never mark dead. */
export type FailureAccrualMaker = () => FailureAccrualPolicy | undefined;

/** Counters a client's accrual reports to (`rt/<r>/client/<id>/failure_accrual/...`). */
export interface FailureAccrualStats {
  removal(): void;
  revival(): void;
  /** Time an endpoint spent removed, each time it is revived. */
  removedFor(ms: number): void;
}

type State =
  | { kind: "alive" }
  | { kind: "dead"; since: number; timer: NodeJS.Timeout }
  | { kind: "probing"; since: number; probeSent: boolean };

class EndpointAccrual {
  state: State = { kind: "alive" };
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
    }
    return a;
  }

  /** Called when a request is sent to `e`: a probing endpoint takes no second request meanwhile. */
  onDispatch(e: Endpoint): void {
    const a = this.#byEndpoint.get(e);
    if (a?.state.kind === "probing" && !a.state.probeSent) {
      a.state.probeSent = true;
      e.available = false;
    }
  }

  /** Records a finished request's classification on `e`. */
  record(e: Endpoint, success: boolean): void {
    if (this.#closed) return;
    const a = this.#of(e);
    if (!a) return;
    const st = a.state;
    if (success) {
      a.policy.recordSuccess();
      if (st.kind === "probing") {
        a.policy.revived();
        a.state = { kind: "alive" };
        e.available = true;
        this.stats?.revival();
        this.stats?.removedFor(this.now() - st.since);
      }
      return;
    }
    if (st.kind === "dead") return; // a request sent before the ejection
    const backoff = a.policy.markDeadOnFailure();
    if (st.kind === "probing") {
      this.#markDead(a, backoff ?? 5_000, st.since);
    } else if (backoff !== undefined) {
      this.stats?.removal();
      this.#markDead(a, backoff, this.now());
    }
  }

  #markDead(a: EndpointAccrual, backoffMs: number, since: number): void {
    a.endpoint.available = false;
    const timer = setTimeout(() => {
      if (a.state.kind !== "dead") return;
      a.state = { kind: "probing", since, probeSent: false };
      a.endpoint.available = true;
    }, backoffMs);
    timer.unref();
    a.state = { kind: "dead", since, timer };
  }

  /** Forgets endpoints no longer in the client (their timers stop). */
  retain(endpoints: Iterable<Endpoint>): void {
    const keep = new Set(endpoints);
    for (const [e, a] of this.#byEndpoint) {
      if (keep.has(e)) continue;
      if (a.state.kind === "dead") clearTimeout(a.state.timer);
      this.#byEndpoint.delete(e);
    }
  }

  /** Endpoints currently removed (dead or probing). */
  get removed(): number {
    let n = 0;
    for (const a of this.#byEndpoint.values()) if (a.state.kind !== "alive") n++;
    return n;
  }

  /** The state of `e` (`alive`, `dead`, `probing`), for admin pages and tests. */
  stateOf(e: Endpoint): "alive" | "dead" | "probing" {
    return this.#byEndpoint.get(e)?.state.kind ?? "alive";
  }

  close(): void {
    this.#closed = true;
    for (const a of this.#byEndpoint.values())
      if (a.state.kind === "dead") clearTimeout(a.state.timer);
    this.#byEndpoint.clear();
  }
}
