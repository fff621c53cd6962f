/**
 * Linkerd's named h2 response classifiers (`linkerd/protocol/h2/.../H2Classifiers`):
 * - `io.l5d.h2.nonRetryable5XX` (the default): 5xx or an exception is a failure, never retried.
 * - `io.l5d.h2.retryableRead5XX`: as above, but GET/HEAD/OPTIONS/TRACE failures are retryable.
 * - `io.l5d.h2.retryableIdempotent5XX`: as retryableRead5XX, plus PUT and DELETE.
 * - `io.l5d.h2.retryableAll5XX`: every 5xx or exception is retryable.
 * - `io.l5d.h2.allSuccessful`: everything is a success.
 */
import type { PluginFactory } from "@l5d/config";
import { z } from "zod";
import { headerValue } from "./header-list.js";
import { nonRetryable5XX, type ResponseClassifier } from "./response-classifier.js";

const READ_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([...READ_METHODS, "PUT", "DELETE"]);

function retryable5XX(methods: ReadonlySet<string> | undefined): ResponseClassifier {
  return {
    mayRetry: true,
    classify(o, req) {
      const failed = o.error !== undefined || (o.status !== undefined && o.status >= 500);
      if (!failed) return "success";
      if (methods === undefined) return "retryable";
      return methods.has((headerValue(req, ":method") ?? "").toUpperCase())
        ? "retryable"
        : "failure";
    },
  };
}

export const retryableRead5XX: ResponseClassifier = retryable5XX(READ_METHODS);
export const retryableIdempotent5XX: ResponseClassifier = retryable5XX(IDEMPOTENT_METHODS);
export const retryableAll5XX: ResponseClassifier = retryable5XX(undefined);
export const allSuccessful: ResponseClassifier = { mayRetry: false, classify: () => "success" };

type KindOnly = { kind: string };

/** A classifier kind with no keys (`kind:` only), as a plugin factory. */
export function fixedClassifier(
  kind: string,
  classifier: ResponseClassifier,
): PluginFactory<KindOnly, ResponseClassifier> {
  return {
    kind,
    schema: z.strictObject({ kind: z.literal(kind) }) as unknown as z.ZodType<KindOnly>,
    make: () => classifier,
  };
}

export const h2ClassifierFactories = [
  fixedClassifier("io.l5d.h2.nonRetryable5XX", nonRetryable5XX),
  fixedClassifier("io.l5d.h2.retryableRead5XX", retryableRead5XX),
  fixedClassifier("io.l5d.h2.retryableIdempotent5XX", retryableIdempotent5XX),
  fixedClassifier("io.l5d.h2.retryableAll5XX", retryableAll5XX),
  fixedClassifier("io.l5d.h2.allSuccessful", allSuccessful),
] as const;
