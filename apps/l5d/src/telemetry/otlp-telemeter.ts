/**
 * `io.l5d.otlp`: sampled spans as OpenTelemetry OTLP/HTTP JSON, POSTed to `endpoint`
 * (default `http://localhost:4318/v1/traces`, the collector's OTLP/HTTP receiver).
 */
import type { BuildContext, PluginFactory } from "@l5d/config";
import { z } from "zod";
import { toOtlpRequest } from "../tracing/otlp-json.js";
import { postJson } from "../tracing/span-exporter.js";
import type { Telemeter, TelemetryServices } from "./telemeter.js";
import { spanExportingTelemeter } from "./tracing-telemeter.js";

export const otlpSchema = z.strictObject({
  kind: z.literal("io.l5d.otlp"),
  /** Full URL of the OTLP/HTTP traces endpoint. Default `http://localhost:4318/v1/traces`. */
  endpoint: z.url({ protocol: /^https?$/ }).default("http://localhost:4318/v1/traces"),
  /** Extra request headers (e.g. an API key). Default none. */
  headers: z.record(z.string(), z.string()).default({}),
  /** `service.name` of every span; default the router label. */
  serviceName: z.string().min(1).optional(),
  /** Fraction of new traces to sample. Default 0.001 (as `io.l5d.zipkin`). */
  sampleRate: z.number().min(0).max(1).default(0.001),
  /** Spans per POST at most. Default 100. */
  batchSize: z.number().int().min(1).default(100),
  /** Spans waiting at most; more are dropped (`telemetry/io.l5d.otlp/spans_dropped`). Default 1000. */
  maxQueueSize: z.number().int().min(1).default(1000),
  /** Flush at least this often. Default 1000 ms. */
  flushIntervalMs: z.number().int().min(10).default(1000),
  experimental: z.boolean().optional(),
});
export type OtlpConfig = z.infer<typeof otlpSchema>;

export const otlpTelemeterFactory: PluginFactory<OtlpConfig, Telemeter> = {
  kind: "io.l5d.otlp",
  schema: otlpSchema as unknown as z.ZodType<OtlpConfig>,
  make(cfg, ctx: BuildContext) {
    const { metrics } = ctx.services as unknown as TelemetryServices;
    return spanExportingTelemeter("io.l5d.otlp", cfg, metrics, ctx.log, cfg.endpoint, (spans) =>
      postJson(
        cfg.endpoint,
        JSON.stringify(toOtlpRequest(spans, { serviceName: cfg.serviceName })),
        cfg.headers,
      ),
    );
  },
};
