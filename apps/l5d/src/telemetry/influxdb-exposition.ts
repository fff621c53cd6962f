/**
 * InfluxDB LINE protocol exposition of the metrics, as Linkerd's `io.l5d.influxdb` telemeter
 * writes it: one line per scope, `<measurement>,<tags> <field>=<value>,…`. The measurement is
 * the scope path joined by `:` (`rt:server`, `rt:service`, `rt:client`, `root` for a metric with
 * no scope); the router, server, service and client ids are tags (`rt=incoming`,
 * `server=127.0.0.1/4141`, `service=/svc/foo`, `client=/#/bar`) with `host` (the scraping
 * request's Host, `none` without one), tags sorted by name; counters are integers, gauges
 * decimals (`1.0`), histograms `<name>_avg,_count,_max,_min,_p50,_p90,_p95,_p99,_p999,_p9999,_sum`.
 */
import type { MetricsRegistry } from "@l5d/h2-proxy";
import { parseMetricName } from "./prometheus-exposition.js";

/** Tag values and keys escape `,`, `=` and spaces; a measurement `,` and spaces. */
function escapeTag(s: string): string {
  return s.replace(/[,= ]/g, (c) => `\\${c}`);
}

function escapeMeasurement(s: string): string {
  return s.replace(/[, ]/g, (c) => `\\${c}`);
}

function gauge(v: number): string {
  if (!Number.isFinite(v)) return "0.0";
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

function int(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v)) : "0";
}

const HISTOGRAM_FIELDS: ReadonlyArray<
  readonly [
    string,
    "avg" | "count" | "max" | "min" | "p50" | "p90" | "p95" | "p99" | "p9990" | "p9999" | "sum",
  ]
> = [
  ["avg", "avg"],
  ["count", "count"],
  ["max", "max"],
  ["min", "min"],
  ["p50", "p50"],
  ["p90", "p90"],
  ["p95", "p95"],
  ["p99", "p99"],
  ["p999", "p9990"],
  ["p9999", "p9999"],
  ["sum", "sum"],
];

/** The LINE text of every metric; `host` is the tag Linkerd takes from the request's Host. */
export function toInfluxLines(registry: MetricsRegistry, host = "none"): string {
  // per line, [metric name, field text]: sorted by metric name, a histogram's fields in order
  const lines = new Map<string, [string, string][]>();
  for (const e of registry.entries()) {
    const p = parseMetricName(e.name);
    const parts = p.name.split(":");
    const field = parts.pop() as string;
    const measurement = parts.length === 0 ? "root" : parts.join(":");
    const tags = [
      ["host", host],
      ...p.labels.map(([k, v]) => [k, k === "service" || k === "client" ? `/${v}` : v]),
    ].sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
    const key = `${escapeMeasurement(measurement)},${tags.map(([k, v]) => `${escapeTag(k as string)}=${escapeTag(v as string)}`).join(",")}`;
    let fields = lines.get(key) as [string, string][] | undefined;
    if (fields === undefined) {
      fields = [];
      lines.set(key, fields);
    }
    if (e.kind === "histogram") {
      const h = e.value;
      if (h.count === 0) continue;
      for (const [suffix, k] of HISTOGRAM_FIELDS)
        fields.push([field, `${field}_${suffix}=${k === "avg" ? gauge(h[k]) : int(h[k])}`]);
    } else fields.push([field, `${field}=${e.kind === "counter" ? int(e.value) : gauge(e.value)}`]);
  }
  let out = "";
  for (const key of [...lines.keys()].sort()) {
    const fields = lines.get(key) as [string, string][];
    if (fields.length === 0) continue;
    fields.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    out += `${key} ${fields.map((f) => f[1]).join(",")}\n`;
  }
  return out;
}
