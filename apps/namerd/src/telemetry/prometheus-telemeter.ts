/**
 * namerd's `io.l5d.prometheus` telemeter: serves namerd's metrics in Prometheus text format on
 * the admin port (default `/admin/metrics/prometheus`), through prom-client. Gauges are read
 * at scrape time: the namespaces stored, whether the store is reachable, the ids bound so
 * far, the bindings kept running, plus the process's own metrics (RSS, heap, event loop).
 */
import { type PluginFactory, pluginCommonShape } from "@l5d/config";
import type { Activity } from "@l5d/dtab";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { z } from "zod";
import type { Namespaces } from "../namespaces.js";

export const namerdPrometheusSchema = z.strictObject({
  ...pluginCommonShape,
  kind: z.literal("io.l5d.prometheus"),
  path: z
    .string()
    .startsWith("/", { error: "expected a path such as /admin/metrics/prometheus" })
    .default("/admin/metrics/prometheus"),
  /** Prepended to every metric name. */
  prefix: z
    .string()
    .regex(/^[a-zA-Z_:]*$/, { error: "expected a Prometheus name prefix" })
    .default(""),
});
export type NamerdPrometheusConfig = z.infer<typeof namerdPrometheusSchema>;

/** A telemeter serves admin routes once namerd's namespaces exist. */
export interface NamerdTelemeter {
  routes(namespaces: Namespaces): ReadonlyArray<{
    readonly path: string;
    handler(): Promise<{ contentType: string; body: string }>;
  }>;
}

export function namerdMetricsRegistry(namespaces: Namespaces, prefix: string): Registry {
  const registry = new Registry();
  const sample = <T>(a: Activity<T>): T | undefined => {
    const s = a.sample();
    return s.kind === "ok" ? s.value : undefined;
  };
  new Gauge({
    name: `${prefix}namerd_namespaces`,
    help: "dtab namespaces in the store",
    registers: [registry],
    collect() {
      this.set(sample(namespaces.store.list())?.length ?? 0);
    },
  });
  new Gauge({
    name: `${prefix}namerd_store_healthy`,
    help: "1 while the dtab store is reachable",
    registers: [registry],
    collect() {
      this.set(namespaces.store.healthy?.() === false ? 0 : 1);
    },
  });
  new Gauge({
    name: `${prefix}namerd_bound_names`,
    help: "distinct ids bound so far",
    registers: [registry],
    collect() {
      this.set(namespaces.boundNames().sample().length);
    },
  });
  collectDefaultMetrics({ register: registry, prefix });
  return registry;
}

export const namerdPrometheusFactory: PluginFactory<NamerdPrometheusConfig, NamerdTelemeter> = {
  kind: "io.l5d.prometheus",
  schema: namerdPrometheusSchema,
  make: (config) => ({
    routes(namespaces) {
      const registry = namerdMetricsRegistry(namespaces, config.prefix);
      return [
        {
          path: config.path,
          handler: async () => ({
            contentType: registry.contentType,
            body: await registry.metrics(),
          }),
        },
      ];
    },
  }),
};
