/**
 * Prometheus text exposition of the metrics tree, named as Linkerd's `io.l5d.prometheus`
 * telemeter does: scope segments joined by `:`, illegal characters turned into `_`, and the
 * router/server/service/client scopes lifted into labels:
 * `rt:server:requests{rt="outgoing", server="0.0.0.0/4140"}`. Histograms give `_count`,
 * `_sum`, `_avg` and `quantile` series.
 */
import type { HistogramSnapshot } from "./histogram.js";
import type { MetricsRegistry } from "./metrics-registry.js";

const QUANTILE_KEYS: ReadonlyArray<readonly [string, keyof HistogramSnapshot]> = [
  ["0", "min"],
  ["0.5", "p50"],
  ["0.9", "p90"],
  ["0.95", "p95"],
  ["0.99", "p99"],
  ["0.999", "p9990"],
  ["0.9999", "p9999"],
  ["1", "max"],
];

interface Parsed {
  readonly name: string;
  readonly labels: ReadonlyArray<readonly [string, string]>;
}

export function sanitizeName(s: string): string {
  return s.replace(/[^a-zA-Z0-9_:]/g, "_");
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Splits a flat metric name into a Prometheus name and labels. */
export function parseMetricName(flat: string, prefix = ""): Parsed {
  const segs = flat.split("/");
  if (segs[0] === "rt" && segs.length >= 4) {
    const rt = segs[1]!;
    const kind = segs[2]!;
    const stat = segs[segs.length - 1]!;
    if (kind === "server" && segs.length >= 6) {
      return {
        name: sanitizeName(`${prefix}rt:server:${segs.slice(5).join(":")}`),
        labels: [
          ["rt", rt],
          ["server", `${segs[3]}/${segs[4]}`],
        ],
      };
    }
    if ((kind === "service" || kind === "client") && segs.length >= 5) {
      return {
        name: sanitizeName(`${prefix}rt:${kind}:${stat}`),
        labels: [
          ["rt", rt],
          [kind, segs.slice(3, -1).join("/")],
        ],
      };
    }
    return { name: sanitizeName(`${prefix}rt:${segs.slice(2).join(":")}`), labels: [["rt", rt]] };
  }
  return { name: sanitizeName(prefix + segs.join(":")), labels: [] };
}

function labelText(labels: ReadonlyArray<readonly [string, string]>): string {
  if (labels.length === 0) return "";
  return `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(", ")}}`;
}

export function toPrometheus(registry: MetricsRegistry, prefix = ""): string {
  const lines: string[] = [];
  for (const e of registry.entries()) {
    const p = parseMetricName(e.name, prefix);
    if (e.kind === "histogram") {
      const h = e.value;
      lines.push(`${p.name}_count${labelText(p.labels)} ${h.count}`);
      lines.push(`${p.name}_sum${labelText(p.labels)} ${h.sum}`);
      lines.push(`${p.name}_avg${labelText(p.labels)} ${h.avg}`);
      for (const [q, k] of QUANTILE_KEYS) {
        lines.push(`${p.name}${labelText([...p.labels, ["quantile", q]])} ${h[k]}`);
      }
    } else {
      lines.push(`${p.name}${labelText(p.labels)} ${e.value}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
