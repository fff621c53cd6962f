/** One RSS sample of the soak: minutes since the start, summed VmRSS of the proxy in KiB. */
export interface RssSample {
  minute: number;
  rssKb: number;
  requests: number;
}

/** The soak's conclusion. */
export interface SoakVerdict {
  ok: boolean;
  /** median RSS over the first fifth of the samples after warm-up, KiB. */
  baselineKb: number;
  /** median RSS over the last fifth, KiB. */
  endKb: number;
  /** least-squares slope after warm-up, KiB per minute. */
  slopeKbPerMin: number;
  /** growth allowed: max(8 MiB, 10% of the baseline), KiB. */
  allowedKb: number;
  text: string;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Least-squares slope of y over x. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * Judges RSS growth. Samples in the first `warmupMin` minutes are ignored (heap sizing, JIT).
 * Growth is flagged when the end median exceeds the baseline median by more than the allowance,
 * or when the trend would add more than the allowance over the soak's length.
 */
export function soakVerdict(samples: readonly RssSample[], warmupMin = 1): SoakVerdict {
  const warm = samples.filter((s) => s.minute >= warmupMin);
  const use = warm.length >= 3 ? warm : samples;
  const k = Math.max(1, Math.floor(use.length / 5));
  const baselineKb = median(use.slice(0, k).map((s) => s.rssKb));
  const endKb = median(use.slice(-k).map((s) => s.rssKb));
  const slopeKbPerMin = slope(use.map((s) => ({ x: s.minute, y: s.rssKb })));
  const allowedKb = Math.max(8 * 1024, baselineKb * 0.1);
  const spanMin = use.length > 1 ? use[use.length - 1]!.minute - use[0]!.minute : 0;
  const growth = endKb - baselineKb;
  const trend = slopeKbPerMin * spanMin;
  const ok = use.length >= 2 && growth <= allowedKb && trend <= allowedKb;
  const mb = (kb: number): string => (kb / 1024).toFixed(1);
  const text = ok
    ? `no growth: RSS ${mb(baselineKb)} → ${mb(endKb)} MiB (${mb(growth)} MiB, trend ${mb(slopeKbPerMin)} MiB/min, allowed ${mb(allowedKb)} MiB)`
    : use.length < 2
      ? "inconclusive: fewer than 2 samples"
      : `GROWTH: RSS ${mb(baselineKb)} → ${mb(endKb)} MiB (${mb(growth)} MiB, trend ${mb(slopeKbPerMin)} MiB/min over ${spanMin.toFixed(1)} min, allowed ${mb(allowedKb)} MiB)`;
  return { ok, baselineKb, endKb, slopeKbPerMin, allowedKb, text };
}
