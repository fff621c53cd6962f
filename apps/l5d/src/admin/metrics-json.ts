/**
 * `/admin/metrics.json` as Linkerd's AdminMetricsExportTelemeter writes it: flat names by
 * default, `?tree=1` for the nested form (`{"rt":{"outgoing":{...,"requests":{"counter":5}}}}`,
 * histograms as `stat.count`, `stat.p50`...), `?q=<scope/path>` to answer only that subtree
 * (names relative to it), `?pretty=1` for indented, sorted output. As in Linkerd, a histogram
 * with no samples shows only its `.count`.
 */
import type { HistogramSnapshot, MetricsRegistry } from "@l5d/h2-proxy";

const STAT_KEYS: ReadonlyArray<keyof HistogramSnapshot> = [
  "count",
  "max",
  "min",
  "p50",
  "p90",
  "p95",
  "p99",
  "p9990",
  "p9999",
  "sum",
  "avg",
];

/** Finagle's boolean params: `1`, `t`, `true` (any case) are true; a bare `?pretty` too (lenient). */
export function booleanParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null) return false;
  const s = v.toLowerCase();
  return s === "" || s === "1" || s === "t" || s === "true";
}

type Entry = ReturnType<MetricsRegistry["entries"]>[number];

function relative(entries: readonly Entry[], q: string | null): Array<Entry & { rel: string }> {
  const scope = (q ?? "")
    .split("/")
    .filter((s) => s !== "")
    .join("/");
  const out: Array<Entry & { rel: string }> = [];
  for (const e of entries) {
    if (scope === "") out.push({ ...e, rel: e.name });
    else if (e.name === scope) out.push({ ...e, rel: "" });
    else if (e.name.startsWith(`${scope}/`))
      out.push({ ...e, rel: e.name.slice(scope.length + 1) });
  }
  return out;
}

function statFields(
  h: HistogramSnapshot,
  name: string,
  into: Record<string, number | MetricsTreeNode>,
): void {
  into[`${name}.count`] = h.count;
  if (h.count === 0) return;
  for (const k of STAT_KEYS) if (k !== "count") into[`${name}.${k}`] = h[k];
}

export function metricsFlat(registry: MetricsRegistry, q: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of relative(registry.entries(), q)) {
    if (e.kind === "histogram") statFields(e.value, e.rel, out);
    else out[e.rel] = e.value;
  }
  return out;
}

export interface MetricsTreeNode {
  [k: string]: number | MetricsTreeNode;
}

export function metricsTree(registry: MetricsRegistry, q: string | null): MetricsTreeNode {
  const root: MetricsTreeNode = {};
  for (const e of relative(registry.entries(), q)) {
    let node = root;
    for (const seg of e.rel === "" ? [] : e.rel.split("/")) {
      const child = node[seg];
      if (child === undefined || typeof child === "number") {
        const n: MetricsTreeNode = {};
        node[seg] = n;
        node = n;
      } else node = child;
    }
    if (e.kind === "histogram") statFields(e.value, "stat", node);
    else node[e.kind] = e.value;
  }
  return root;
}
