/**
 * Backoff streams (Finagle's `Backoff`): `constant` (Linkerd default for retries, 0 ms) and
 * `jittered` (decorrelated jitter between `minMs` and `maxMs`; Linkerd's failure-accrual default
 * is jittered 5 s → 300 s).
 */
import { z } from "zod";

export type BackoffConfig =
  | { readonly kind: "constant"; readonly ms: number }
  | { readonly kind: "jittered"; readonly minMs: number; readonly maxMs: number };

/** A fresh stream of delays; each call of `next()` gives the next delay in ms. */
export interface Backoff {
  next(): number;
}

export const backoffSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("constant"), ms: z.number().int().min(0).default(0) }),
  z.strictObject({
    kind: z.literal("jittered"),
    minMs: z.number().int().min(0),
    maxMs: z.number().int().positive(),
  }),
]);

/** Linkerd's failure-accrual backoff: jittered 5 s → 300 s. */
export const DEFAULT_ACCRUAL_BACKOFF: BackoffConfig = {
  kind: "jittered",
  minMs: 5_000,
  maxMs: 300_000,
};

/**
 * Starts a backoff stream. Jittered is "decorrelated jitter": the first delay is `minMs`, each
 * next one is drawn uniformly from [minMs, 3 × previous], capped at `maxMs`.
 */
export function startBackoff(cfg: BackoffConfig, random: () => number = Math.random): Backoff {
  if (cfg.kind === "constant") return { next: () => cfg.ms };
  const min = Math.min(cfg.minMs, cfg.maxMs);
  const max = cfg.maxMs;
  let prev = 0;
  return {
    next() {
      if (prev === 0) {
        prev = Math.max(min, 1);
        return Math.min(prev, max);
      }
      const hi = Math.min(max, prev * 3);
      prev = Math.min(max, min + random() * Math.max(0, hi - min));
      return Math.round(prev);
    },
  };
}
