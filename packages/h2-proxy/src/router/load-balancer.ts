/**
 * The load-balancer seam: a client (one per bound id) keeps its endpoints in a balancer,
 * which picks one per request. Balancers are plugins selected by `client.loadBalancer.kind`:
 * `p2c` (default), `ewma`, `roundRobin`, `heap`, `aperture`.
 */
import type { UpstreamTls } from "./address.js";

/** One endpoint of a client, with the live numbers balancers read. */
export class Endpoint {
  /** Requests in flight through this client to this endpoint. */
  inflight = 0;
  /** False while failure accrual has marked it dead (or while its one probe is in flight). */
  available = true;
  /** Peak-EWMA latency state (ms) for balancers that want it. */
  ewmaMs = 0;
  lastUpdateMs = 0;
  /** Requests sent to this endpoint by its client (for the per-endpoint split). */
  requests = 0;
  /** `host:port`, made once (read per request: stats, logs, the relay's connection lookup). */
  readonly key: string;
  /** Its client's `connectTimeoutMs` (unset: the data plane's default). */
  connectTimeoutMs: number | undefined = undefined;
  /** Its client's TLS (unset: plaintext). */
  tls: UpstreamTls | undefined = undefined;

  constructor(
    readonly host: string,
    readonly port: number,
    public weight: number,
    readonly meta: Readonly<Record<string, unknown>>,
  ) {
    this.key = `${host}:${port}`;
  }
}

export interface LoadBalancer {
  /** Replaces the endpoint set (same Endpoint objects are kept for unchanged addresses). */
  update(endpoints: readonly Endpoint[]): void;
  /** Picks an endpoint, or undefined when there are none. */
  pick(): Endpoint | undefined;
  /** Feeds back one finished attempt's latency (latency-aware balancers use it). */
  record?(endpoint: Endpoint, latencyMs: number): void;
  /** The balancer's load metric for an endpoint (gauges `.../loadbalancer/load`). */
  load?(endpoint: Endpoint): number;
}

export type LoadBalancerMaker = () => LoadBalancer;

/** Weighted in-flight load: requests in flight per unit of weight. */
export function loadOf(e: Endpoint): number {
  return e.inflight / (e.weight > 0 ? e.weight : 1e-9);
}

/**
 * Power of two choices over `eps` with `load`: draws two distinct endpoints (up to `maxEffort`
 * times while the choice is unavailable), then falls back to the least loaded available
 * endpoint, then to the least loaded of all (all-ejected never means zero traffic).
 */
export function p2cPick(
  eps: readonly Endpoint[],
  load: (e: Endpoint) => number,
  maxEffort: number,
  random: () => number,
): Endpoint | undefined {
  const n = eps.length;
  if (n === 0) return undefined;
  if (n === 1) return eps[0];
  for (let effort = 0; effort < maxEffort; effort++) {
    const i = Math.floor(random() * n);
    let j = Math.floor(random() * (n - 1));
    if (j >= i) j++;
    const a = eps[i]!;
    const b = eps[j]!;
    const pick = !a.available ? b : !b.available ? a : load(a) <= load(b) ? a : b;
    if (pick.available) return pick;
  }
  return leastLoaded(eps, load);
}

/** The least loaded available endpoint, else the least loaded of all. */
export function leastLoaded(
  eps: readonly Endpoint[],
  load: (e: Endpoint) => number,
): Endpoint | undefined {
  let best: Endpoint | undefined;
  let bestLoad = Number.POSITIVE_INFINITY;
  for (const e of eps) {
    if (!e.available) continue;
    const l = load(e);
    if (!best || l < bestLoad) {
      best = e;
      bestLoad = l;
    }
  }
  if (best) return best;
  for (const e of eps) {
    const l = load(e);
    if (!best || l < bestLoad) {
      best = e;
      bestLoad = l;
    }
  }
  return best;
}
