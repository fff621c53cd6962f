/**
 * Prometheus text exposition (format 0.0.4) of the metrics tree with Linkerd's
 * `io.l5d.prometheus` names and labels (`rt:server:requests{rt="outgoing", server="0.0.0.0/4140"}`,
 * `rt:service:...{service=...}`, `rt:client:...{client=...}`). Unlike a plain dump, samples are
 * grouped into families with `# TYPE` lines (counters, gauges, and histograms as summaries
 * with `quantile` labels, `_sum` and `_count`; Linkerd's `_avg` is its own gauge family), so
 * strict parsers accept it.
 */
import type { MetricsRegistry } from "@l5d/h2-proxy";

type FamilyType = "counter" | "gauge" | "summary";

interface Family {
  readonly type: FamilyType;
  readonly lines: string[];
  readonly seen: Set<string>;
}

const QUANTILES: ReadonlyArray<
  readonly [string, "min" | "p50" | "p90" | "p95" | "p99" | "p9990" | "p9999" | "max"]
> = [
  ["0", "min"],
  ["0.5", "p50"],
  ["0.9", "p90"],
  ["0.95", "p95"],
  ["0.99", "p99"],
  ["0.999", "p9990"],
  ["0.9999", "p9999"],
  ["1", "max"],
];

function metricName(s: string): string {
  const clean = s.replace(/[^a-zA-Z0-9_:]/g, "_");
  return /^[a-zA-Z_:]/.test(clean) ? clean : `_${clean}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * The sub-scopes of a service's or client's stats (`.../failure_accrual/removals`,
 * `.../loadbalancer/size`, `.../retries/total`, `.../failures/<exception>`): not part of the id.
 */
const SUBSCOPES: ReadonlySet<string> = new Set([
  "failure_accrual",
  "loadbalancer",
  "retries",
  "failures",
]);

interface Parsed {
  readonly name: string;
  readonly labels: ReadonlyArray<readonly [string, string]>;
}

/**
 * Splits a flat metric name into a Prometheus name and labels: the router, server, service and
 * client scopes become the `rt`, `server`, `service` and `client` labels.
 */
export function parseMetricName(flat: string, prefix = ""): Parsed {
  const segs = flat.split("/");
  if (segs[0] === "rt" && segs.length >= 4) {
    const rt = segs[1]!;
    const kind = segs[2]!;
    if (kind === "server" && segs.length >= 6) {
      return {
        name: metricName(`${prefix}rt:server:${segs.slice(5).join(":")}`),
        labels: [
          ["rt", rt],
          ["server", `${segs[3]}/${segs[4]}`],
        ],
      };
    }
    const ep = segs.length - 4;
    if (kind === "client" && ep >= 4 && segs[ep] === "endpoint") {
      // a client's endpoint: `rt/<r>/client/<id>/endpoint/<host:port>/<sub>/<stat>`
      return {
        name: metricName(`${prefix}rt:client:endpoint:${segs.slice(ep + 2).join(":")}`),
        labels: [
          ["rt", rt],
          ["client", segs.slice(3, ep).join("/")],
          ["endpoint", segs[ep + 1]!],
        ],
      };
    }
    if ((kind === "service" || kind === "client") && segs.length >= 5) {
      // a stat in a sub-scope keeps it in its name, as Linkerd's ids are one scope there:
      // `rt:client:failure_accrual:removals{client="$/inet/127.1/7777"}`
      const sub = segs.length >= 6 && SUBSCOPES.has(segs[segs.length - 2]!);
      const idEnd = sub ? segs.length - 2 : segs.length - 1;
      return {
        name: metricName(`${prefix}rt:${kind}:${segs.slice(idEnd).join(":")}`),
        labels: [
          ["rt", rt],
          [kind, segs.slice(3, idEnd).join("/")],
        ],
      };
    }
    return { name: metricName(`${prefix}rt:${segs.slice(2).join(":")}`), labels: [["rt", rt]] };
  }
  return { name: metricName(prefix + segs.join(":")), labels: [] };
}

function labelText(labels: ReadonlyArray<readonly [string, string]>): string {
  if (labels.length === 0) return "";
  return `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(", ")}}`;
}

/** A sample value as Prometheus writes it (`NaN`, `+Inf`, `-Inf`). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

export function toPrometheusText(registry: MetricsRegistry, prefix = ""): string {
  const families = new Map<string, Family>();
  const family = (name: string, type: FamilyType): { name: string; f: Family } => {
    let n = name;
    let f = families.get(n);
    if (f && f.type !== type) {
      n = `${name}_${type}`;
      f = families.get(n);
    }
    if (!f) {
      f = { type, lines: [], seen: new Set() };
      families.set(n, f);
    }
    return { name: n, f };
  };
  const sample = (f: Family, line: string, key: string) => {
    if (f.seen.has(key)) return;
    f.seen.add(key);
    f.lines.push(line);
  };
  for (const e of registry.entries()) {
    const p = parseMetricName(e.name, prefix);
    const base = metricName(p.name);
    const labels = labelText(p.labels);
    if (e.kind === "histogram") {
      const h = e.value;
      const { name, f } = family(base, "summary");
      for (const [q, k] of QUANTILES) {
        const l = labelText([...p.labels, ["quantile", q]]);
        sample(f, `${name}${l} ${formatValue(h[k])}`, `q${l}`);
      }
      sample(f, `${name}_sum${labels} ${formatValue(h.sum)}`, `s${labels}`);
      sample(f, `${name}_count${labels} ${formatValue(h.count)}`, `c${labels}`);
      const avg = family(`${base}_avg`, "gauge");
      sample(avg.f, `${avg.name}${labels} ${formatValue(h.avg)}`, labels);
    } else {
      const { name, f } = family(base, e.kind);
      sample(f, `${name}${labels} ${formatValue(e.value)}`, labels);
    }
  }
  const out: string[] = [];
  for (const [name, f] of families) {
    out.push(`# TYPE ${name} ${f.type}`);
    for (const l of f.lines) out.push(l);
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}
