// The A/B mode (`bench --ab=<other checkout>|nghttpx`): this checkout's l5d against another
// build of it (a git worktree of an earlier commit, built) or against nghttpx, both loaded at the
// same time. Its phases, the summary of its rounds and its lines. Pure; the run is in ab-run.ts.
//
// Why paired: on these machines two runs a minute apart differ by 10-30 % in CPU per request
// (other tenants, frequency), far more than most changes. Two builds loaded together share the
// machine's state round by round: each round's ratio is a fair comparison, and the ratios agree
// where the raw figures do not.
import { median } from "./http1.js";

/** Durations and shape of the mode's load. */
export interface AbPhases {
  rounds: number;
  warmupS: number;
  /** each round: both builds under saturated load for this long, at the same time. */
  saturatedS: number;
  /** h2load -c and -m, per build. */
  clients: number;
  streams: number;
}

/**
 * 10 rounds of 3 s after 4 s of warm-up (4 rounds of 2 s after 2 s with `quick`); `scale`
 * multiplies the rounds' durations. With 1 s of warm-up the first round still cost l5d 30-50 %
 * more than the others.
 */
export function abPhases(quick: boolean, scale: number): AbPhases {
  return {
    rounds: quick ? 4 : 10,
    warmupS: quick ? 2 : 4,
    saturatedS: Math.max(1, Math.round((quick ? 2 : 3) * scale)),
    clients: 4,
    streams: 32,
  };
}

/** One round: each build's proxy CPU per request (all hops of its chain) and its req/s. */
export interface AbRound {
  baseCpuUsPerReq: number;
  otherCpuUsPerReq: number;
  baseReqPerS: number;
  otherReqPerS: number;
}

export interface AbSummary {
  rounds: number;
  /** means over the rounds. */
  baseCpuUsPerReq: number;
  otherCpuUsPerReq: number;
  /** this checkout ÷ the other build: mean CPU, median of the rounds' ratios. */
  cpuRatio: number;
  medianRoundRatio: number;
  /** rounds in which this checkout took less CPU per request. */
  lowerIn: number;
}

/** Undefined for no round. */
export function summarizeAb(rounds: readonly AbRound[]): AbSummary | undefined {
  if (rounds.length === 0) return undefined;
  const mean = (f: (r: AbRound) => number) => rounds.reduce((s, r) => s + f(r), 0) / rounds.length;
  const base = mean((r) => r.baseCpuUsPerReq);
  const other = mean((r) => r.otherCpuUsPerReq);
  return {
    rounds: rounds.length,
    baseCpuUsPerReq: base,
    otherCpuUsPerReq: other,
    cpuRatio: base / other,
    medianRoundRatio: median(rounds.map((r) => r.baseCpuUsPerReq / r.otherCpuUsPerReq)) ?? NaN,
    lowerIn: rounds.filter((r) => r.baseCpuUsPerReq < r.otherCpuUsPerReq).length,
  };
}

/** A round as printed while the run goes on. */
export function abRoundLine(i: number, r: AbRound): string {
  return `bench: ab: round ${i + 1}: this ${r.baseCpuUsPerReq.toFixed(2)} µs/req (${Math.round(r.baseReqPerS)} req/s), other ${r.otherCpuUsPerReq.toFixed(2)} µs/req (${Math.round(r.otherReqPerS)} req/s), ratio ${(r.baseCpuUsPerReq / r.otherCpuUsPerReq).toFixed(3)}`;
}

/**
 * The last line: `ab: other=<build or nghttpx> hops=.. [tls] this_cpu_us_per_req=..
 * other_cpu_us_per_req=.. ratio=.. ...`.
 */
export function abSummaryLine(s: AbSummary, other: string, hops: number, tls = false): string {
  return `ab: other=${other} hops=${hops}${tls ? " tls" : ""} this_cpu_us_per_req=${s.baseCpuUsPerReq.toFixed(2)} other_cpu_us_per_req=${s.otherCpuUsPerReq.toFixed(2)} ratio=${s.cpuRatio.toFixed(3)} median_round_ratio=${s.medianRoundRatio.toFixed(3)} lower_in=${s.lowerIn}/${s.rounds}`;
}
