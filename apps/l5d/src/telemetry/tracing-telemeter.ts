/** The common part of the span-exporting telemeters: a sink that batches spans and posts them. */
import type { PluginLogger } from "@l5d/config";
import type { MetricsRegistry } from "@l5d/h2-proxy";
import type { Span } from "../tracing/span.js";
import { SpanExporter } from "../tracing/span-exporter.js";
import type { Telemeter } from "./telemeter.js";

export interface BatchingConfig {
  readonly sampleRate: number;
  readonly batchSize: number;
  readonly maxQueueSize: number;
  readonly flushIntervalMs: number;
}

const WARN_EVERY_MS = 60_000;

export function spanExportingTelemeter(
  kind: string,
  cfg: BatchingConfig,
  metrics: MetricsRegistry | undefined,
  log: PluginLogger,
  url: string,
  send: (spans: readonly Span[]) => Promise<void>,
): Telemeter & { readonly exporter: SpanExporter } {
  let lastWarn = 0;
  const exporter = new SpanExporter({
    scope: `telemetry/${kind}`,
    metrics,
    batchSize: cfg.batchSize,
    maxQueueSize: cfg.maxQueueSize,
    flushIntervalMs: cfg.flushIntervalMs,
    send,
    onError: (e) => {
      const now = Date.now();
      if (now - lastWarn >= WARN_EVERY_MS) {
        lastWarn = now;
        log.warn({ kind, url, err: e.message }, "cannot export spans (spans dropped)");
      }
    },
  });
  return {
    exporter,
    spans: { sampleRate: cfg.sampleRate, recordSpan: (s) => exporter.add(s) },
    close: () => exporter.close(),
  };
}
