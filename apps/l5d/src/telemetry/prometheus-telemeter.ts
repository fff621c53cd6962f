/** `io.l5d.prometheus`: serves the metrics in Prometheus text format (default `/admin/metrics/prometheus`). */
import type { BuildContext, PluginFactory } from "@l5d/config";
import { z } from "zod";
import { toPrometheusText } from "./prometheus-exposition.js";
import type { Telemeter, TelemetryServices } from "./telemeter.js";

export const prometheusSchema = z.strictObject({
  kind: z.literal("io.l5d.prometheus"),
  /** Where the metrics are served on the admin port. */
  path: z.string().startsWith("/").default("/admin/metrics/prometheus"),
  /** Prepended to every metric name. */
  prefix: z.string().default(""),
  experimental: z.boolean().optional(),
});
export type PrometheusConfig = z.infer<typeof prometheusSchema>;

export const prometheusTelemeterFactory: PluginFactory<PrometheusConfig, Telemeter> = {
  kind: "io.l5d.prometheus",
  schema: prometheusSchema as unknown as z.ZodType<PrometheusConfig>,
  make(cfg, ctx: BuildContext) {
    const { metrics } = ctx.services as unknown as TelemetryServices;
    return {
      adminRoutes: [
        {
          path: cfg.path,
          description: "metrics in Prometheus text format",
          handler: () => ({
            contentType: "text/plain; version=0.0.4; charset=utf-8",
            body: toPrometheusText(metrics, cfg.prefix),
          }),
        },
      ],
    };
  },
};
