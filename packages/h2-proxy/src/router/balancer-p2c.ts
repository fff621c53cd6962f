/**
 * `p2c` (Linkerd's default): power of two choices, least loaded. Two distinct endpoints are
 * drawn at random and the one with fewer requests in flight (per unit of weight) wins.
 * Unavailable endpoints are redrawn up to `maxEffort` times; if every draw is unavailable, an
 * available endpoint is searched for, and if none is left the least loaded one is used anyway
 * (all-ejected never means zero traffic).
 */
import type { PluginFactory } from "@l5d/config";
import { z } from "zod";
import {
  type Endpoint,
  type LoadBalancer,
  type LoadBalancerMaker,
  loadOf,
  p2cPick,
} from "./load-balancer.js";

export { loadOf };

export const p2cSchema = z.strictObject({
  kind: z.literal("p2c"),
  /** Redraws when a pick lands on an unavailable endpoint (Linkerd default 5). */
  maxEffort: z.number().int().min(1).default(5),
});

export type P2cConfig = z.infer<typeof p2cSchema>;

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
    return p2cPick(this.#endpoints, loadOf, this.maxEffort, this.random);
  }

  load(e: Endpoint): number {
    return loadOf(e);
  }
}

export const p2cFactory: PluginFactory<P2cConfig, LoadBalancerMaker> = {
  kind: "p2c",
  schema: p2cSchema as unknown as z.ZodType<P2cConfig>,
  make: (cfg) => () => new P2cBalancer(cfg.maxEffort),
};
