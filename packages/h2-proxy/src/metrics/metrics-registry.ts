/**
 * The metrics tree, flat-named as Linkerd's `/admin/metrics.json`: scopes joined with `/`
 * (`rt/outgoing/server/0.0.0.0/4140/requests`), histograms expanded with `.count`, `.p50`, ...
 * Hot paths hold on to their Counter/Histogram objects; nothing is looked up per request.
 */
import { Histogram, type HistogramSnapshot } from "./histogram.js";

export class Counter {
  value = 0;
  incr(n = 1): void {
    this.value += n;
  }
}

export class Gauge {
  constructor(readonly read: () => number) {}
}

type Metric = Counter | Gauge | Histogram;

export class MetricsRegistry {
  readonly #metrics = new Map<string, Metric>();

  counter(name: string): Counter {
    return this.#get(name, () => new Counter(), Counter);
  }

  histogram(name: string): Histogram {
    return this.#get(name, () => new Histogram(), Histogram);
  }

  /** Registers (or replaces) a gauge computed when metrics are read. */
  gauge(name: string, read: () => number): Gauge {
    const g = new Gauge(read);
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

  /** Each metric with its kind, for exporters (Prometheus, the dashboard). */
  entries(): Array<
    | { name: string; kind: "counter"; value: number }
    | { name: string; kind: "gauge"; value: number }
    | { name: string; kind: "histogram"; value: HistogramSnapshot }
  > {
    const out: ReturnType<MetricsRegistry["entries"]> = [];
    for (const [name, m] of this.#metrics) {
      if (m instanceof Counter) out.push({ name, kind: "counter", value: m.value });
      else if (m instanceof Gauge) out.push({ name, kind: "gauge", value: safeRead(m) });
      else out.push({ name, kind: "histogram", value: m.snapshot() });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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
