/**
 * Config schema pieces shared by the namerd interpreters (`io.l5d.namerd.http`, `io.l5d.mesh`,
 * `io.l5d.namerd`): paths such as `dst`, the namespace, and Linkerd's `retry` and
 * `failureThreshold` blocks.
 */
import { positiveInt } from "@l5d/config";
import { Path } from "@l5d/dtab";
import { z } from "zod";

/** A path written as text (`/$/inet/namerd/4100`); `example` shows one in the error. */
export function pathSchema(example: string) {
  return z.string({ error: `expected a path such as ${example}` }).transform((t, ctx) => {
    try {
      return Path.read(t);
    } catch (e) {
      ctx.issues.push({
        code: "custom",
        message: `invalid path: ${(e as Error).message}`,
        input: t,
      });
      return z.NEVER;
    }
  });
}

/** The namerd namespace to bind in (Linkerd's default `default`). */
export const namespaceSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, { error: "expected a namespace name" })
  .default("default");

/** Linkerd's namerd `retry` (seconds; fractions allowed here so tests can be quick). */
export function retrySchema(defaultBaseSeconds: number) {
  return z
    .strictObject({
      baseSeconds: z.number().positive().default(defaultBaseSeconds),
      maxSeconds: z.number().positive().default(600),
    })
    .prefault({});
}

/** `retrySchema`, refusing a base delay longer than the maximum. */
export function orderedRetrySchema(defaultBaseSeconds: number) {
  return retrySchema(defaultBaseSeconds).refine((r) => r.baseSeconds <= r.maxSeconds, {
    error: "baseSeconds must not exceed maxSeconds",
  });
}

/** `io.l5d.namerd.http`'s retry: Linkerd's 5 s doubling up to 10 minutes. */
export const namerdRetrySchema = retrySchema(5);

/** Linkerd's threshold failure detector: a ping every `minPeriodMs`, closed if unanswered. */
export const failureThresholdSchema = z
  .strictObject({
    minPeriodMs: positiveInt().default(5_000),
    closeTimeoutMs: positiveInt().default(4_000),
  })
  .prefault({});

/** A parsed `retry` block in milliseconds, as the connections take it. */
export function retryMs(retry: { readonly baseSeconds: number; readonly maxSeconds: number }): {
  baseMs: number;
  maxMs: number;
} {
  return { baseMs: retry.baseSeconds * 1000, maxMs: retry.maxSeconds * 1000 };
}
