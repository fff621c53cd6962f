/**
 * The metrics tree, flat-named as Linkerd's `/admin/metrics.json`: scopes joined with `/`
 * (`rt/outgoing/server/0.0.0.0/4140/requests`), histograms expanded with `.count`, `.p50`, ...
 * Hot paths hold on to their Counter/Histogram objects; nothing is looked up per request.
 */
import { Histogram, type HistogramData, type HistogramSnapshot } from "./histogram.js";

export class Counter {
  value = 0;
  incr(n = 1): void {
    this.value += n;
  }
}

/**
 * How a gauge read in several processes (the daemon's workers) adds up: `sum` (connections,
 * in-flight requests) or `max` (the size of an endpoint set every worker sees).
 */
export type GaugeCombine = "sum" | "max";

export class Gauge {
  constructor(
    readonly read: () => number,
    readonly combine: GaugeCombine = "sum",
  ) {}
}

type Metric = Counter | Gauge | Histogram;

/** A metric as plain data (another process's, for `MetricsRegistry.addSource`). */
export type MetricData =
  | {
      readonly name: string;
      readonly kind: "counter" | "gauge";
      readonly value: number;
      readonly combine?: GaugeCombine;
    }
  | { readonly name: string; readonly kind: "histogram"; readonly data: HistogramData };

type Entry =
  | { name: string; kind: "counter"; value: number }
  | { name: string; kind: "gauge"; value: number }
  | { name: string; kind: "histogram"; value: HistogramSnapshot };

export class MetricsRegistry {
  readonly #metrics = new Map<string, Metric>();
  readonly #sources: Array<() => Iterable<MetricData>> = [];

  /**
   * Adds metrics read from elsewhere (the daemon's worker processes) to what `entries()`
   * reports: a name reported here and by sources is summed (histograms merged bucket by bucket).
   */
  addSource(read: () => Iterable<MetricData>): void {
    this.#sources.push(read);
  }

  counter(name: string): Counter {
    return this.#get(name, () => new Counter(), Counter);
  }

  histogram(name: string): Histogram {
    return this.#get(name, () => new Histogram(), Histogram);
  }

  /** Registers (or replaces) a gauge computed when metrics are read. */
  gauge(name: string, read: () => number, combine: GaugeCombine = "sum"): Gauge {
    const g = new Gauge(read, combine);
    this.#metrics.set(name, g);
    return g;
  }

  /** Removes every metric under `prefix` (e.g. an evicted client's scope). */
  removeScope(prefix: string): void {
    for (const k of this.#metrics.keys()) {
      if (k === prefix || k.startsWith(`${prefix}/`)) this.#metrics.delete(k);
    }
  }

  #get<M extends Metric>(name: string, make: () => M, cls: abstract new (...a: never[]) => M): M {
    const m = this.#metrics.get(name);
    if (m) {
      if (!(m instanceof cls))
        throw new Error(`metric ${name} already registered with another type`);
      return m;
    }
    const created = make();
    this.#metrics.set(name, created);
    return created;
  }

  /** Each metric with its kind, for exporters (Prometheus, the dashboard), sources summed in. */
  entries(): Entry[] {
    if (this.#sources.length > 0) return this.#summed();
    const out: Entry[] = [];
    for (const [name, m] of this.#metrics) {
      if (m instanceof Counter) out.push({ name, kind: "counter", value: m.value });
      else if (m instanceof Gauge) out.push({ name, kind: "gauge", value: safeRead(m) });
      else out.push({ name, kind: "histogram", value: m.snapshot() });
    }
    return out.sort(byName);
  }

  /** This registry's own metrics as plain data (what a worker process reports). */
  data(): MetricData[] {
    const out: MetricData[] = [];
    for (const [name, m] of this.#metrics) {
      if (m instanceof Counter) out.push({ name, kind: "counter", value: m.value });
      else if (m instanceof Gauge)
        out.push(
          m.combine === "sum"
            ? { name, kind: "gauge", value: safeRead(m) }
            : { name, kind: "gauge", value: safeRead(m), combine: m.combine },
        );
      else out.push({ name, kind: "histogram", data: m.data() });
    }
    return out;
  }

  #summed(): Entry[] {
    const numbers = new Map<string, { kind: "counter" | "gauge"; value: number }>();
    const histograms = new Map<string, Histogram>();
    const add = (d: MetricData) => {
      if (d.kind === "histogram") {
        let h = histograms.get(d.name);
        if (h === undefined) {
          h = new Histogram();
          histograms.set(d.name, h);
        }
        h.merge(d.data);
      } else if (!histograms.has(d.name)) {
        const n = numbers.get(d.name);
        if (n === undefined) numbers.set(d.name, { kind: d.kind, value: d.value });
        else if (d.combine === "max") n.value = Math.max(n.value, d.value);
        else n.value += d.value;
      }
    };
    for (const d of this.data()) add(d);
    for (const read of this.#sources) for (const d of read()) add(d);
    const out: Entry[] = [];
    for (const [name, n] of numbers)
      if (!histograms.has(name)) out.push({ name, kind: n.kind, value: n.value });
    for (const [name, h] of histograms) out.push({ name, kind: "histogram", value: h.snapshot() });
    return out.sort(byName);
  }

  /** Linkerd's flat `/admin/metrics.json` object. */
  toFlatJson(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.entries()) {
      if (e.kind === "histogram") {
        for (const [k, v] of Object.entries(e.value)) out[`${e.name}.${k}`] = v;
      } else {
        out[e.name] = e.value;
      }
    }
    return out;
  }
}

function byName(a: Entry, b: Entry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function safeRead(g: Gauge): number {
  try {
    const v = g.read();
    return Number.isFinite(v) ? v : 0;
  } catch {
    return 0;
  }
}

/** Linkerd scopes metric names by ids without their leading slash: `/svc/x` → `svc/x`. */
export function scopeOf(pathShow: string): string {
  return pathShow.startsWith("/") ? pathShow.slice(1) : pathShow;
}
