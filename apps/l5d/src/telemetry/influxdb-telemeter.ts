/** `io.l5d.influxdb`: serves the metrics in InfluxDB LINE protocol at `/admin/metrics/influxdb` (for Telegraf to scrape). */
import type { BuildContext, PluginFactory } from "@l5d/config";
import { z } from "zod";
import { toInfluxLines } from "./influxdb-exposition.js";
import type { Telemeter, TelemetryServices } from "./telemeter.js";

export const influxDbSchema = z.strictObject({
  kind: z.literal("io.l5d.influxdb"),
  experimental: z.boolean().optional(),
});
export type InfluxDbConfig = z.infer<typeof influxDbSchema>;

export const influxDbTelemeterFactory: PluginFactory<InfluxDbConfig, Telemeter> = {
  kind: "io.l5d.influxdb",
  schema: influxDbSchema as unknown as z.ZodType<InfluxDbConfig>,
  make(_cfg, ctx: BuildContext) {
    const { metrics } = ctx.services as unknown as TelemetryServices;
    return {
      adminRoutes: [
        {
          path: "/admin/metrics/influxdb",
          description: "metrics in InfluxDB LINE protocol",
          handler: (req) => ({
            contentType: "text/plain; charset=utf-8",
            body: toInfluxLines(metrics, req.headers.host || "none"),
          }),
        },
      ],
    };
  },
};
