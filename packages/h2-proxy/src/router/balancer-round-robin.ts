/**
 * `roundRobin`: endpoints in turn, weighted smoothly (each pick adds every endpoint's weight to
 * its credit and takes the total from the winner, so a weight-2 endpoint gets two turns in
 * three, interleaved). Unavailable endpoints are skipped; if all are unavailable they are used
 * anyway.
 */
import type { PluginFactory } from "@l5d/config";
import { z } from "zod";
import {
  type Endpoint,
  type LoadBalancer,
  type LoadBalancerMaker,
  loadOf,
} from "./load-balancer.js";

export const roundRobinSchema = z.strictObject({
  kind: z.literal("roundRobin"),
  /** Accepted for Linkerd compatibility (default 5); round robin never redraws. */
  maxEffort: z.number().int().min(1).default(5),
});

export type RoundRobinConfig = z.infer<typeof roundRobinSchema>;

export class RoundRobinBalancer implements LoadBalancer {
  #endpoints: readonly Endpoint[] = [];
  #credit = new Map<Endpoint, number>();

  update(endpoints: readonly Endpoint[]): void {
    this.#endpoints = endpoints;
    const next = new Map<Endpoint, number>();
    for (const e of endpoints) next.set(e, this.#credit.get(e) ?? 0);
    this.#credit = next;
  }

  pick(): Endpoint | undefined {
    const eps = this.#endpoints;
    if (eps.length <= 1) return eps[0];
    const anyAvailable = eps.some((e) => e.available);
    let total = 0;
    let best: Endpoint | undefined;
    let bestCredit = Number.NEGATIVE_INFINITY;
    for (const e of eps) {
      if (anyAvailable && !e.available) continue;
      const w = Math.max(e.weight, 0);
      const c = (this.#credit.get(e) ?? 0) + w;
      this.#credit.set(e, c);
      total += w;
      if (c > bestCredit) {
        best = e;
        bestCredit = c;
      }
    }
    if (best) this.#credit.set(best, bestCredit - (total > 0 ? total : 1));
    return best;
  }

  load(e: Endpoint): number {
    return loadOf(e);
  }
}

export const roundRobinFactory: PluginFactory<RoundRobinConfig, LoadBalancerMaker> = {
  kind: "roundRobin",
  schema: roundRobinSchema as unknown as z.ZodType<RoundRobinConfig>,
  make: () => () => new RoundRobinBalancer(),
};
