/**
 * A latency histogram with log-linear buckets (about 2% relative precision), fixed memory and
 * no allocation per recorded value. Snapshots give Linkerd's stat names: count, sum, avg, min,
 * max, p50, p90, p95, p99, p9990, p9999.
 */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** Values below this are counted in bucket 0 (ms: 1 µs). */
const MIN_VALUE = 0.001;
const BUCKETS = Math.ceil(Math.log(3_600_000 / MIN_VALUE) / LOG_GROWTH) + 2;

export interface HistogramSnapshot {
  readonly count: number;
  readonly sum: number;
  readonly avg: number;
  readonly min: number;
  readonly max: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly p9990: number;
  readonly p9999: number;
}

export const QUANTILES: ReadonlyArray<readonly [keyof HistogramSnapshot, number]> = [
  ["p50", 0.5],
  ["p90", 0.9],
  ["p95", 0.95],
  ["p99", 0.99],
  ["p9990", 0.999],
  ["p9999", 0.9999],
];

function bucketOf(v: number): number {
  if (!(v > MIN_VALUE)) return 0;
  const i = Math.floor(Math.log(v / MIN_VALUE) / LOG_GROWTH) + 1;
  return i >= BUCKETS ? BUCKETS - 1 : i;
}

function bucketValue(i: number): number {
  if (i === 0) return 0;
  // the geometric middle of the bucket
  return MIN_VALUE * GROWTH ** (i - 0.5);
}

/**
 * A histogram's state as plain data, for another process to merge (`Histogram.merge`): its
 * non-empty buckets as `[index, count]` pairs.
 */
export interface HistogramData {
  readonly buckets: ReadonlyArray<readonly [number, number]>;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

export class Histogram {
  readonly #counts = new Uint32Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;

  add(value: number): void {
    this.#counts[bucketOf(value)]!++;
    this.#count++;
    this.#sum += value;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
  }

  get count(): number {
    return this.#count;
  }

  /** The value at quantile q (0..1), to bucket precision; 0 when empty. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    if (rank >= this.#count) return this.#max;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, bucketValue(i)));
    }
    return this.#max;
  }

  snapshot(): HistogramSnapshot {
    const n = this.#count;
    const s: Record<string, number> = {
      count: n,
      sum: round(this.#sum),
      avg: n ? round(this.#sum / n) : 0,
      min: n ? round(this.#min) : 0,
      max: round(this.#max),
    };
    for (const [k, q] of QUANTILES) s[k] = round(this.quantile(q));
    return s as unknown as HistogramSnapshot;
  }

  /** The state as plain data (see `HistogramData`). */
  data(): HistogramData {
    const buckets: Array<readonly [number, number]> = [];
    if (this.#count > 0)
      for (let i = 0; i < BUCKETS; i++) {
        const c = this.#counts[i]!;
        if (c > 0) buckets.push([i, c]);
      }
    return {
      buckets,
      count: this.#count,
      sum: this.#sum,
      min: this.#count > 0 ? this.#min : 0,
      max: this.#max,
    };
  }

  /** Adds another histogram's samples (its `data()`), as if they had been recorded here. */
  merge(d: HistogramData): void {
    if (!(d.count > 0)) return;
    for (const [i, c] of d.buckets) {
      if (Number.isInteger(i) && i >= 0 && i < BUCKETS) this.#counts[i]! += c;
    }
    this.#count += d.count;
    this.#sum += d.sum;
    if (d.min < this.#min) this.#min = d.min;
    if (d.max > this.#max) this.#max = d.max;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = 0;
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
