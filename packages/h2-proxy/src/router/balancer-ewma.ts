/**
 * `ewma`: power of two choices over peak-EWMA latency (Finagle's `Balancers.p2cPeakEwma`).
 * Each endpoint's cost is an exponentially weighted moving average of its latency that jumps
 * up at once to any slower observation (the "peak") and decays over `decayTimeMs`; the load is
 * cost × (in flight + 1) / weight. An endpoint with no latency yet but requests in flight gets a
 * large penalty, so new endpoints are probed gently.
 */
import type { PluginFactory } from "@l5d/config";
import { z } from "zod";
import {
  type Endpoint,
  type LoadBalancer,
  type LoadBalancerMaker,
  p2cPick,
} from "./load-balancer.js";

export const ewmaSchema = z.strictObject({
  kind: z.literal("ewma"),
  /** Redraws when a pick lands on an unavailable endpoint (Linkerd default 5). */
  maxEffort: z.number().int().min(1).default(5),
  /** The EWMA's time constant (Linkerd default 10000 ms). */
  decayTimeMs: z.number().int().positive().default(10_000),
});

export type EwmaConfig = z.infer<typeof ewmaSchema>;

const PENALTY_MS = 1e6;

export class EwmaBalancer implements LoadBalancer {
  #endpoints: readonly Endpoint[] = [];
  readonly #loadFn = (e: Endpoint) => this.load(e);

  constructor(
    private readonly decayTimeMs = 10_000,
    private readonly maxEffort = 5,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = () => performance.now(),
  ) {}

  update(endpoints: readonly Endpoint[]): void {
    this.#endpoints = endpoints;
  }

  pick(): Endpoint | undefined {
    return p2cPick(this.#endpoints, this.#loadFn, this.maxEffort, this.random);
  }

  #observe(e: Endpoint, rttMs: number): void {
    const t = this.now();
    const elapsed = Math.max(0, t - e.lastUpdateMs);
    e.lastUpdateMs = t;
    if (rttMs > e.ewmaMs) {
      e.ewmaMs = rttMs; // peak: slow observations count at once
    } else {
      const w = Math.exp(-elapsed / this.decayTimeMs);
      e.ewmaMs = e.ewmaMs * w + rttMs * (1 - w);
    }
  }

  record(e: Endpoint, latencyMs: number): void {
    this.#observe(e, latencyMs);
  }

  load(e: Endpoint): number {
    if (e.lastUpdateMs !== 0) this.#observe(e, 0); // decay towards 0 while idle
    const w = e.weight > 0 ? e.weight : 1e-9;
    if (e.ewmaMs === 0 && e.inflight !== 0) return (PENALTY_MS + e.inflight) / w;
    return (e.ewmaMs * (e.inflight + 1)) / w;
  }
}

export const ewmaFactory: PluginFactory<EwmaConfig, LoadBalancerMaker> = {
  kind: "ewma",
  schema: ewmaSchema as unknown as z.ZodType<EwmaConfig>,
  make: (cfg) => () => new EwmaBalancer(cfg.decayTimeMs, cfg.maxEffort),
};
