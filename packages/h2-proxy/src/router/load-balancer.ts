/**
 * The load-balancer seam: a client (one per bound id) keeps its endpoints in a balancer,
 * which picks one per request. Balancers are plugins selected by `client.loadBalancer.kind`.
 */

/** One endpoint of a client, with the live numbers balancers read. */
export class Endpoint {
  /** Requests in flight through this client to this endpoint. */
  inflight = 0;
  /** False while failure accrual has marked it dead (the resilience issue fills this in). */
  available = true;
  /** Peak-EWMA latency state (ms) for balancers that want it. */
  ewmaMs = 0;
  lastUpdateMs = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    public weight: number,
    readonly meta: Readonly<Record<string, unknown>>,
  ) {}

  get key(): string {
    return `${this.host}:${this.port}`;
  }
}

export interface LoadBalancer {
  /** Replaces the endpoint set (same Endpoint objects are kept for unchanged addresses). */
  update(endpoints: readonly Endpoint[]): void;
  /** Picks an endpoint, or undefined when there are none. */
  pick(): Endpoint | undefined;
}

export type LoadBalancerMaker = () => LoadBalancer;
