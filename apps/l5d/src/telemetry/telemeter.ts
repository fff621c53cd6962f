/** Telemeters (`telemetry:` kinds): each may add admin routes and observe finished requests. */
import type { MetricsRegistry, RequestRecord } from "@l5d/h2-proxy";
import type { AdminRoute } from "../admin/admin-server.js";

export interface Telemeter {
  readonly adminRoutes?: readonly AdminRoute[];
  onRequest?(r: RequestRecord): void;
  close?(): void | Promise<void>;
}

/** What the daemon hands telemeter factories through `BuildContext.services`. */
export interface TelemetryServices {
  readonly metrics: MetricsRegistry;
}
