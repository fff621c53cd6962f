/**
 * `heap`: always the least loaded endpoint (fewest requests in flight per unit of weight),
 * Finagle's `Balancers.heap`. Ties go to the endpoint picked least recently in list order, by
 * rotating the scan start. Unavailable endpoints are used only when no other is left.
 */
import type { PluginFactory } from "@l5d/config";
import { z } from "zod";
import {
  type Endpoint,
  type LoadBalancer,
  type LoadBalancerMaker,
  loadOf,
} from "./load-balancer.js";

export const heapSchema = z.strictObject({ kind: z.literal("heap") });

export type HeapConfig = z.infer<typeof heapSchema>;

export class HeapBalancer implements LoadBalancer {
  #endpoints: readonly Endpoint[] = [];
  #start = 0;

  update(endpoints: readonly Endpoint[]): void {
    this.#endpoints = endpoints;
  }

  pick(): Endpoint | undefined {
    const eps = this.#endpoints;
    const n = eps.length;
    if (n <= 1) return eps[0];
    this.#start = (this.#start + 1) % n;
    let best: Endpoint | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    let fallback: Endpoint | undefined;
    let fallbackLoad = Number.POSITIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      const e = eps[(this.#start + k) % n]!;
      const l = loadOf(e);
      if (e.available) {
        if (l < bestLoad) {
          best = e;
          bestLoad = l;
        }
      } else if (l < fallbackLoad) {
        fallback = e;
        fallbackLoad = l;
      }
    }
    return best ?? fallback;
  }

  load(e: Endpoint): number {
    return loadOf(e);
  }
}

export const heapFactory: PluginFactory<HeapConfig, LoadBalancerMaker> = {
  kind: "heap",
  schema: heapSchema as unknown as z.ZodType<HeapConfig>,
  make: () => () => new HeapBalancer(),
};
