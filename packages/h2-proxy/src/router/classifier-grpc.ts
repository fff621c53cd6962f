/**
 * gRPC-aware response classifiers (Linkerd 1.1.3+, `linkerd/protocol/h2/.../grpc/GrpcClassifiers`).
 * They read `grpc-status` from the trailers or from a trailers-only response: a status in
 * `successStatusCodes` (default `[0]`; when given, include 0 yourself) is a success, any other
 * status a failure, retryable when the kind says so:
 * - `io.l5d.h2.grpc.default`: only UNAVAILABLE (14) is retryable.
 * - `io.l5d.h2.grpc.compliant`: UNAVAILABLE, and (without a grpc-status) RST_STREAM
 *   REFUSED_STREAM or HTTP 429/502/503/504.
 * - `io.l5d.h2.grpc.alwaysRetryable`: every failing status is retryable.
 * - `io.l5d.h2.grpc.neverRetryable`: no status is retryable.
 * - `io.l5d.h2.grpc.retryableStatusCodes`: the statuses in `retryableStatusCodes`.
 * Without any grpc-status, a transport error or a 5xx is a non-retryable failure (except as
 * `compliant` says) and anything else a success.
 */
import type { PluginFactory } from "@l5d/config";
import { ErrorCode } from "@l5d/h2";
import { z } from "zod";
import { type ResponseClassifier, rstCodeOf } from "./response-classifier.js";

const UNAVAILABLE = 14;
const COMPLIANT_HTTP: ReadonlySet<number> = new Set([429, 502, 503, 504]);

export interface GrpcClassifierOptions {
  /** Statuses counted as success. Linkerd default `[0]`. */
  readonly successStatusCodes?: readonly number[];
  /** For `compliant`: REFUSED_STREAM and HTTP 429/502/503/504 are retryable too. */
  readonly compliant?: boolean;
}

/** A gRPC classifier; `retryable(status)` says which failing statuses may be retried. */
export function grpcClassifier(
  retryable: (status: number) => boolean,
  opts: GrpcClassifierOptions = {},
): ResponseClassifier {
  const success = new Set(opts.successStatusCodes ?? [0]);
  const compliant = opts.compliant === true;
  return {
    mayRetry: true,
    classify(o) {
      if (o.grpcStatus !== undefined) {
        if (success.has(o.grpcStatus)) return "success";
        return retryable(o.grpcStatus) ? "retryable" : "failure";
      }
      if (o.error !== undefined) {
        if (compliant && rstCodeOf(o) === ErrorCode.REFUSED_STREAM) return "retryable";
        return "failure";
      }
      if (o.status !== undefined && o.status >= 500) {
        return compliant && COMPLIANT_HTTP.has(o.status) ? "retryable" : "failure";
      }
      if (compliant && o.status === 429) return "retryable";
      return "success";
    },
  };
}

const statusCode = z.number().int().min(0).max(16);
const successCodes = z.array(statusCode).optional();

type GrpcCfg = { kind: string; successStatusCodes?: number[] | undefined };
type RetryableCodesCfg = GrpcCfg & { retryableStatusCodes: number[] };

function kindFactory(
  kind: string,
  retryable: (s: number) => boolean,
  compliant = false,
): PluginFactory<GrpcCfg, ResponseClassifier> {
  return {
    kind,
    schema: z.strictObject({
      kind: z.literal(kind),
      successStatusCodes: successCodes,
    }) as unknown as z.ZodType<GrpcCfg>,
    make: (cfg) =>
      grpcClassifier(retryable, {
        compliant,
        ...(cfg.successStatusCodes ? { successStatusCodes: cfg.successStatusCodes } : {}),
      }),
  };
}

const retryableStatusCodesFactory: PluginFactory<RetryableCodesCfg, ResponseClassifier> = {
  kind: "io.l5d.h2.grpc.retryableStatusCodes",
  schema: z.strictObject({
    kind: z.literal("io.l5d.h2.grpc.retryableStatusCodes"),
    retryableStatusCodes: z.array(statusCode),
    successStatusCodes: successCodes,
  }) as unknown as z.ZodType<RetryableCodesCfg>,
  make: (cfg) => {
    const codes = new Set(cfg.retryableStatusCodes);
    return grpcClassifier(
      (s) => codes.has(s),
      cfg.successStatusCodes ? { successStatusCodes: cfg.successStatusCodes } : {},
    );
  },
};

/** `io.l5d.h2.grpc.default`: only UNAVAILABLE is retryable. */
export const grpcDefault: ResponseClassifier = grpcClassifier((s) => s === UNAVAILABLE);

export const grpcClassifierFactories = [
  kindFactory("io.l5d.h2.grpc.default", (s) => s === UNAVAILABLE),
  kindFactory("io.l5d.h2.grpc.compliant", (s) => s === UNAVAILABLE, true),
  kindFactory("io.l5d.h2.grpc.alwaysRetryable", () => true),
  kindFactory("io.l5d.h2.grpc.neverRetryable", () => false),
  retryableStatusCodesFactory,
] as const;
