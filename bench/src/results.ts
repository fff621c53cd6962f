import type { Machine } from "./machine.js";
import type { ProxyName } from "./peers.js";
import type { Percentiles } from "./stats.js";

/** What a request does. */
export type Workload = "unary" | "stream1000" | "echo1MiB";

/** Which backend answers. */
export type BackendName = "node" | "world";

/** A saturated, fixed-duration run. */
export interface SaturatedResult {
  clients: number;
  streams: number;
  durationS: number;
  reqPerS: number;
  succeeded: number;
  failed: number;
  /** succeeded (complete) responses whose status was not 2xx, when there were any. */
  non2xx?: number;
  /** CPU µs per request summed over every proxy process of the case (all hops). */
  proxyCpuUsPerReq?: number;
  /** proxyCpuUsPerReq divided by the number of hops. */
  proxyCpuUsPerReqPerHop?: number;
  /** CPU µs per request of the backend. */
  backendCpuUsPerReq?: number;
  /** proxy CPU utilisation over the run, in cores (1.0 = one core busy). */
  proxyCores?: number;
}

/** A latency run (fixed rate or serial); latencies in µs. */
export interface LatencyResult extends Percentiles {
  /** requested total rate, or undefined for the serial run. */
  targetRps?: number;
  achievedRps: number;
  failed: number;
  /** fixed-rate runs: p99 of the generator's lateness against its schedule, µs. */
  sendLagP99Us?: number;
  /** fixed-rate runs: which paced generator measured it (`c`: pacer.c, `node`: paced.ts). */
  generator?: "c" | "node";
}

/** RSS summed over a case's proxy processes, KiB. */
export interface RssResult {
  idleKb: number;
  afterKb: number;
  peakKb: number;
}

/** One measured case. */
export interface CaseResult {
  id: string;
  backend: BackendName;
  proxy: ProxyName | "direct";
  hops: number;
  workload: Workload;
  saturated?: SaturatedResult;
  rate?: LatencyResult;
  serial?: LatencyResult;
  rss?: RssResult;
  error?: string;
}

/** What every mode's report holds besides its own results. */
export interface ReportBase {
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  /** 1-minute load average when the run started and ended (other work on the machine skews results). */
  loadAvg?: { start: number; end: number };
  versions: Record<string, string>;
  skipped: { what: string; reason: string }[];
}

/** The whole run, as written to bench/results/<timestamp>.json. */
export interface RunReport extends ReportBase {
  mode: "full" | "quick";
  settings: Record<string, number | string>;
  cases: CaseResult[];
}

/** One case of the HTTP/1.1 mode (`--http1`): one hop (or none), measured in interleaved rounds. */
export interface Http1Case {
  proxy: ProxyName | "direct";
  /** what ran, for the report. */
  label: string;
  /** the successful saturated rounds, in the order they ran. */
  rounds: SaturatedResult[];
  /** medians over `rounds`. */
  reqPerS?: number;
  proxyCpuUsPerReq?: number;
  backendCpuUsPerReq?: number;
  /** RSS summed over the proxy's processes: idle before any load, after the last round, peak. */
  rss?: RssResult;
  /** the first failure (start, probe or a round); rounds that failed are not in `rounds`. */
  error?: string;
}

/** The HTTP/1.1 mode's run, as written to bench/results/<timestamp>-http1.json. */
export interface Http1Report extends ReportBase {
  mode: "http1";
  settings: Record<string, number | string>;
  cases: Http1Case[];
}
