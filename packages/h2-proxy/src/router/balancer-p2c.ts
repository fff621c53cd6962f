/**
 * `p2c` (Linkerd's default): power of two choices, least loaded. Two distinct endpoints are
 * drawn at random and the one with fewer requests in flight (per unit of weight) wins.
 * Unavailable endpoints are redrawn up to `maxEffort` times; if every draw is unavailable, an
 * available endpoint is searched for, and if none is left the least loaded one is used anyway
 * (all-ejected never means zero traffic).
 */
import type { PluginFactory } from "@l5d/config";
import { z } from "zod";
import type { Endpoint, LoadBalancer, LoadBalancerMaker } from "./load-balancer.js";

export const p2cSchema = z.strictObject({
  kind: z.literal("p2c"),
  /** Redraws when a pick lands on an unavailable endpoint (Linkerd default 5). */
  maxEffort: z.number().int().min(1).default(5),
});

export type P2cConfig = z.infer<typeof p2cSchema>;

export function loadOf(e: Endpoint): number {
  return e.inflight / (e.weight > 0 ? e.weight : 1e-9);
}

export class P2cBalancer implements LoadBalancer {
  #endpoints: readonly Endpoint[] = [];

  constructor(
    private readonly maxEffort = 5,
    private readonly random: () => number = Math.random,
  ) {}

  update(endpoints: readonly Endpoint[]): void {
    this.#endpoints = endpoints;
  }

  pick(): Endpoint | undefined {
    const eps = this.#endpoints;
    const n = eps.length;
    if (n === 0) return undefined;
    if (n === 1) return eps[0];
    for (let effort = 0; effort < this.maxEffort; effort++) {
      const i = Math.floor(this.random() * n);
      let j = Math.floor(this.random() * (n - 1));
      if (j >= i) j++;
      const a = eps[i]!;
      const b = eps[j]!;
      const pick = !a.available ? b : !b.available ? a : loadOf(a) <= loadOf(b) ? a : b;
      if (pick.available) return pick;
    }
    let best: Endpoint | undefined;
    for (const e of eps) if (e.available && (!best || loadOf(e) < loadOf(best))) best = e;
    if (best) return best;
    for (const e of eps) if (!best || loadOf(e) < loadOf(best)) best = e;
    return best;
  }
}

export const p2cFactory: PluginFactory<P2cConfig, LoadBalancerMaker> = {
  kind: "p2c",
  schema: p2cSchema as unknown as z.ZodType<P2cConfig>,
  make: (cfg) => () => new P2cBalancer(cfg.maxEffort),
};
