/** Telemeters (`telemetry:` kinds): each may add admin routes, observe finished requests and take spans. */
import type { MetricsRegistry, RequestRecord } from "@l5d/h2-proxy";
import type { AdminRoute } from "../admin/admin-server.js";
import type { SpanSink } from "../tracing/span.js";

export interface Telemeter {
  readonly adminRoutes?: readonly AdminRoute[];
  onRequest?(r: RequestRecord): void;
  /** Set by tracing telemeters (`io.l5d.zipkin`, `io.l5d.otlp`): where sampled spans go. */
  readonly spans?: SpanSink;
  close?(): void | Promise<void>;
}

/** What the daemon hands telemeter factories through `BuildContext.services`. */
export interface TelemetryServices {
  readonly metrics: MetricsRegistry;
}
