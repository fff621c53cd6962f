/**
 * `io.l5d.zipkin`: sampled spans as Zipkin v2 JSON, POSTed to `http://<host>:<port>/api/v2/spans`.
 * Linkerd 1 sent Thrift over Scribe to port 9410; this speaks Zipkin's HTTP API, so the default
 * port is Zipkin's HTTP port 9411.
 */
import type { BuildContext, PluginFactory } from "@l5d/config";
import { z } from "zod";
import { postJson } from "../tracing/span-exporter.js";
import { toZipkinJson } from "../tracing/zipkin-json.js";
import type { Telemeter, TelemetryServices } from "./telemeter.js";
import { spanExportingTelemeter } from "./tracing-telemeter.js";

export const zipkinSchema = z.strictObject({
  kind: z.literal("io.l5d.zipkin"),
  /** Zipkin collector host. Linkerd default `localhost`. */
  host: z.string().min(1).default("localhost"),
  /** Zipkin HTTP port. Default 9411 (Linkerd's 9410 was Scribe, which this does not speak). */
  port: z.number().int().min(1).max(65535).default(9411),
  /** Path of Zipkin's v2 span API. Default `/api/v2/spans`. */
  path: z.string().startsWith("/").default("/api/v2/spans"),
  /** Fraction of new traces to sample. Linkerd default 0.001. */
  sampleRate: z.number().min(0).max(1).default(0.001),
  /** Spans per POST at most. Default 100. */
  batchSize: z.number().int().min(1).default(100),
  /** Spans waiting at most; more are dropped (`telemetry/io.l5d.zipkin/spans_dropped`). Default 1000. */
  maxQueueSize: z.number().int().min(1).default(1000),
  /** Flush at least this often. Default 1000 ms. */
  flushIntervalMs: z.number().int().min(10).default(1000),
  experimental: z.boolean().optional(),
});
export type ZipkinConfig = z.infer<typeof zipkinSchema>;

function hostForUrl(h: string): string {
  return h.includes(":") && !h.startsWith("[") ? `[${h}]` : h;
}

export const zipkinTelemeterFactory: PluginFactory<ZipkinConfig, Telemeter> = {
  kind: "io.l5d.zipkin",
  schema: zipkinSchema as unknown as z.ZodType<ZipkinConfig>,
  make(cfg, ctx: BuildContext) {
    const { metrics } = ctx.services as unknown as TelemetryServices;
    const url = `http://${hostForUrl(cfg.host)}:${cfg.port}${cfg.path}`;
    return spanExportingTelemeter("io.l5d.zipkin", cfg, metrics, ctx.log, url, (spans) =>
      postJson(url, toZipkinJson(spans)),
    );
  },
};
