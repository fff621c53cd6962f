// The workers mode (`bench --workers`, issue #17 item 6): one hop, unary gRPC, saturated, through
// l5d with `workers: 1` and `2` and nghttpx with `--workers=1` and `2` (and direct, the backend's
// ceiling), in interleaved rounds. Its phases, the CPU accounting over a process tree, the
// aggregation of its rounds, its report and summary lines. Pure; the run is in workers-run.ts.
import { median } from "./http1.js";
import { type ProcSample, statFieldsFrom3 } from "./proc.js";
import {
  errorRow,
  failedCell,
  failedRoundLines,
  fmt,
  fmtRatio,
  markdownTable,
  oneLine,
  ratio,
  reportHead,
  settingsList,
  skippedLines,
} from "./report.js";
import type { ReportBase, RssResult, SaturatedResult } from "./results.js";

/** Durations and shape of the mode's load. */
export interface WorkersPhases {
  /** interleaved rounds: every case once per round, the order rotated each round. */
  rounds: number;
  /** warm-up of each case in the first round (JITs, pools, the backend connections). */
  firstWarmupS: number;
  /** warm-up before each later round's measurement. */
  warmupS: number;
  saturatedS: number;
  /**
   * h2load -c: connections. 8, so each of 2 workers gets several (l5d's cluster primary and
   * nghttpx's acceptor hand connections out one at a time: a connection stays on its worker).
   */
  clients: number;
  /** h2load -m: streams in flight per connection (8 × 32 = 256 calls in flight). */
  streams: number;
}

/** The phases: 3 rounds, or 1 with `quick`; `scale` multiplies the saturated runs only. */
export function workersPhases(quick: boolean, scale = 1): WorkersPhases {
  return {
    rounds: quick ? 1 : 3,
    firstWarmupS: 2,
    warmupS: 1,
    saturatedS: Math.max(0.5, Math.round((quick ? 4 : 5) * scale * 2) / 2),
    clients: 8,
    streams: 32,
  };
}

/** Seconds the load of `cases` cases will take (h2load's start-up not counted). */
export function workersLoadSeconds(p: WorkersPhases, cases: number): number {
  return cases * (p.firstWarmupS + p.saturatedS + (p.rounds - 1) * (p.warmupS + p.saturatedS));
}

/** What one case runs. */
export interface WorkersCaseSpec {
  /** `direct`, or the proxy and its worker count: `l5d-w2`. */
  name: string;
  proxy: "direct" | "l5d" | "nghttpx";
  /** 0 for direct. */
  workers: number;
  label: string;
}

/** The mode's cases, in report order. */
export const WORKERS_CASES: readonly WorkersCaseSpec[] = [
  {
    name: "direct",
    proxy: "direct",
    workers: 0,
    label: "h2load → backend, no proxy: the backend's (one node process) ceiling",
  },
  {
    name: "l5d-w1",
    proxy: "l5d",
    workers: 1,
    label: "l5d without a workers key (the default, workers: 1): one process",
  },
  {
    name: "l5d-w2",
    proxy: "l5d",
    workers: 2,
    label:
      "l5d with workers: 2: the first process (namers, admin) forks 2 node:cluster workers that share the router's port",
  },
  {
    name: "nghttpx-w1",
    proxy: "nghttpx",
    workers: 1,
    label: "nghttpx --workers=1: its master and one single-threaded worker process",
  },
  {
    name: "nghttpx-w2",
    proxy: "nghttpx",
    workers: 2,
    label:
      "nghttpx --workers=2: its master and one worker process with 2 worker threads (and its acceptor thread)",
  },
];

/**
 * Processes a case's tree has once it is up: l5d one, or its first process and `workers`
 * workers; nghttpx its master and its one worker process (its workers are threads); direct none.
 */
export function expectedProcesses(proxy: WorkersCaseSpec["proxy"], workers: number): number {
  if (proxy === "direct") return 0;
  if (proxy === "nghttpx") return 2;
  return workers <= 1 ? 1 : workers + 1;
}

/** Raised when /proc/stat has no aggregate `cpu` line. */
export class CpuTimesError extends Error {
  override name = "CpuTimesError";
}

/** The machine's CPU time, in ticks, from /proc/stat's aggregate line. */
export interface CpuTimes {
  /** every state but idle and iowait. */
  busy: number;
  /** user, nice, system, idle, iowait, irq, softirq, steal (guest is inside user). */
  total: number;
}

/** Parses the aggregate `cpu ` line of /proc/stat's text. */
export function parseCpuTimes(procStat: string): CpuTimes {
  const m = /^cpu\s+(.+)$/m.exec(procStat);
  if (!m?.[1]) throw new CpuTimesError("no aggregate cpu line in /proc/stat");
  const f = m[1]
    .trim()
    .split(/\s+/)
    .slice(0, 8)
    .map((x) => Number(x));
  if (f.length < 4 || f.some((x) => !Number.isFinite(x)))
    throw new CpuTimesError(`unreadable cpu line: ${m[0].slice(0, 120)}`);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * The CPU ticks (cutime + cstime, fields 16 and 17) of the children a process has waited for,
 * from the text of its /proc/<pid>/stat: h2load's, once the harness has reaped it.
 */
export function parseReapedChildTicks(stat: string): number {
  const rest = statFieldsFrom3(stat);
  if (rest === undefined) throw new CpuTimesError(`no command name in stat: ${stat.slice(0, 80)}`);
  // rest[0] is field 3
  const cutime = Number(rest[16 - 3]);
  const cstime = Number(rest[17 - 3]);
  if (!Number.isFinite(cutime) || !Number.isFinite(cstime))
    throw new CpuTimesError("stat fields 16 and 17 missing");
  return cutime + cstime;
}

/** Cores busy between two samples of the whole machine (`cores` × the busy fraction). */
export function busyCores(before: CpuTimes, after: CpuTimes, cores: number): number | undefined {
  const total = after.total - before.total;
  if (total <= 0) return undefined;
  return ((after.busy - before.busy) / total) * cores;
}

/** One process of a proxy's tree over a saturated run. */
export interface ProcessCores {
  pid: number;
  /** the process the harness started (l5d's first process, nghttpx's master). */
  root: boolean;
  /** CPU used over the run, in cores (1.0 = one core busy the whole run). */
  cores: number;
  /** VmRSS at the end of the run, KiB. */
  rssKb: number;
  /**
   * its threads' cores over the run, busiest first, those at 0.01 or more (at most 8): nghttpx's
   * worker threads; a node process's main thread and its GC helpers.
   */
  threads?: number[];
}

/**
 * Each process of a tree over a window of `wallS` seconds, from samples taken at its start and
 * its end (`after` lists the tree's processes then, the root first): a process not in `before`
 * was born in the window and counts from 0. Total: the sum of `cores`.
 */
export function processCores(
  before: readonly ProcSample[],
  after: readonly ProcSample[],
  rootPid: number,
  wallS: number,
  ticksPerSecond = 100,
): { processes: ProcessCores[]; cores: number } {
  if (wallS <= 0) return { processes: [], cores: 0 };
  const start = new Map(before.map((s) => [s.pid, s.ticks]));
  const processes = after.map((s) => ({
    pid: s.pid,
    root: s.pid === rootPid,
    cores: Math.max(0, s.ticks - (start.get(s.pid) ?? 0)) / ticksPerSecond / wallS,
    rssKb: s.rssKb,
  }));
  processes.sort((a, b) => Number(b.root) - Number(a.root));
  return { processes, cores: processes.reduce((a, p) => a + p.cores, 0) };
}

/**
 * The busiest threads of one process over a window, from samples of its /proc/<pid>/task/*
 * (each thread as a ProcSample whose pid is its tid): cores, busiest first, those at `min` or
 * more, at most `max`.
 */
export function threadCores(
  before: readonly ProcSample[],
  after: readonly ProcSample[],
  wallS: number,
  min = 0.01,
  max = 8,
): number[] {
  return processCores(before, after, -1, wallS)
    .processes.map((t) => t.cores)
    .filter((c) => c >= min)
    .sort((a, b) => b - a)
    .slice(0, max);
}

/** One measured round of a case: h2load's and the proxy's numbers, and the machine's. */
export interface WorkersRound extends SaturatedResult {
  /** 0-based round. */
  round: number;
  /** the backend's CPU over the run, in cores (it is one node process: at most ~1). */
  backendCores?: number;
  /** the whole machine's busy CPU over the run, in cores (of {@link Machine.cores}). */
  machineBusyCores?: number;
  /** h2load's CPU over the run, in cores (reaped by the harness: its cutime + cstime). */
  loadCores?: number;
  /**
   * the machine's busy cores not used by the proxy, the backend, h2load or the harness: the other
   * cases' idle proxies and any other work on the machine (0 on a quiet machine).
   */
  otherCores?: number;
  /** the proxy's processes, its root first. */
  processes?: ProcessCores[];
}

/** One case of the mode, with its rounds and their medians. */
export interface WorkersCase extends WorkersCaseSpec {
  /** the successful rounds, in the order they ran. */
  rounds: WorkersRound[];
  /** processes in the proxy's tree once it was up. */
  processCount?: number;
  /** medians over `rounds`. */
  reqPerS?: number;
  proxyCpuUsPerReq?: number;
  proxyCores?: number;
  backendCpuUsPerReq?: number;
  backendCores?: number;
  machineBusyCores?: number;
  loadCores?: number;
  otherCores?: number;
  /** RSS summed over the proxy's processes: idle before any load, after the last round, peak. */
  rss?: RssResult;
  /** the first failure (start, probe or a round); failed rounds are not in `rounds`. */
  error?: string;
}

/** The mode's run, as written to bench/results/<timestamp>-workers[-quick].json. */
export interface WorkersReport extends ReportBase {
  mode: "workers" | "workers-quick";
  settings: Record<string, number | string>;
  durationS?: number;
  cases: WorkersCase[];
}

const MEDIANS = [
  "reqPerS",
  "proxyCpuUsPerReq",
  "proxyCores",
  "backendCpuUsPerReq",
  "backendCores",
  "machineBusyCores",
  "loadCores",
  "otherCores",
] as const;

/** The case with its medians over its rounds filled in (any old medians dropped). */
export function summarizeWorkersCase(c: WorkersCase): WorkersCase {
  const out: WorkersCase = { ...c };
  for (const k of MEDIANS) {
    delete out[k];
    const m = median(c.rounds.flatMap((r) => (r[k] === undefined ? [] : [r[k] as number])));
    if (m !== undefined) out[k] = m;
  }
  return out;
}

function byName(cases: readonly WorkersCase[], name: string): WorkersCase | undefined {
  return cases.find((c) => c.name === name && c.rounds.length > 0);
}

const num = (v: number | undefined, digits: number): string =>
  v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(digits);

/**
 * The mode's two summary lines: CPU per request of each proxy case and the machine's share
 * (`workers cpu: …`), then throughput, scaling (w2 ÷ w1) and l5d ÷ nghttpx at each worker count
 * (`workers: …`, the last line). Medians over the rounds; n/a for a case that did not run.
 */
export function workersLines(cases: readonly WorkersCase[], cores: number): [string, string] {
  const get = (n: string) => byName(cases, n);
  const rps = (n: string) => get(n)?.reqPerS;
  const us = (n: string) => get(n)?.proxyCpuUsPerReq;
  const busiest = Math.max(...cases.flatMap((c) => c.rounds.map((r) => r.machineBusyCores ?? 0)));
  const backendMax = Math.max(...cases.flatMap((c) => c.rounds.map((r) => r.backendCores ?? 0)));
  const otherMax = Math.max(...cases.flatMap((c) => c.rounds.map((r) => r.otherCores ?? 0)));
  const anyRound = cases.some((c) => c.rounds.length > 0);
  const cpu = [
    "workers cpu:",
    `l5d_w1_us_per_req=${num(us("l5d-w1"), 1)}`,
    `l5d_w2_us_per_req=${num(us("l5d-w2"), 1)}`,
    `nghttpx_w1_us_per_req=${num(us("nghttpx-w1"), 1)}`,
    `nghttpx_w2_us_per_req=${num(us("nghttpx-w2"), 1)}`,
    `direct_rps=${num(rps("direct"), 0)}`,
    `cores=${cores}`,
    `machine_busy_cores_max=${anyRound ? busiest.toFixed(2) : "n/a"}`,
    `backend_cores_max=${anyRound ? backendMax.toFixed(2) : "n/a"}`,
    `other_work_cores_max=${anyRound ? otherMax.toFixed(2) : "n/a"}`,
  ].join(" ");
  const last = [
    "workers:",
    `l5d_w1_rps=${num(rps("l5d-w1"), 0)}`,
    `l5d_w2_rps=${num(rps("l5d-w2"), 0)}`,
    `l5d_scaling=${num(ratio(rps("l5d-w2"), rps("l5d-w1")), 2)}`,
    `nghttpx_w1_rps=${num(rps("nghttpx-w1"), 0)}`,
    `nghttpx_w2_rps=${num(rps("nghttpx-w2"), 0)}`,
    `nghttpx_scaling=${num(ratio(rps("nghttpx-w2"), rps("nghttpx-w1")), 2)}`,
    `l5d_vs_nghttpx_w1=${num(ratio(rps("l5d-w1"), rps("nghttpx-w1")), 2)}`,
    `l5d_vs_nghttpx_w2=${num(ratio(rps("l5d-w2"), rps("nghttpx-w2")), 2)}`,
  ].join(" ");
  return [cpu, last];
}

/**
 * What this machine can and cannot show about a second worker, from the run's own numbers:
 * h2load (one thread), the backend (one node process) and the proxy share `cores` cores.
 */
export function machineNote(cases: readonly WorkersCase[], cores: number): string {
  const ran = cases.filter((c) => c.rounds.length > 0);
  if (ran.length === 0) return "No case ran: nothing to say about this machine.";
  const s = cores === 1 ? "" : "s";
  const parts: string[] = [];
  const busy = ran
    .filter((c) => c.machineBusyCores !== undefined)
    .map((c) => `${c.name} ${num(c.machineBusyCores, 2)}`);
  parts.push(
    `This machine has ${cores} core${s}, shared by h2load (one thread), the backend (one node process: one JavaScript thread) and the proxy. Machine CPU busy during the saturated runs (median, cores): ${busy.join(", ") || "n/a"}.`,
  );
  const noisy = ran.filter((c) => (c.otherCores ?? 0) >= 0.2);
  if (noisy.length > 0)
    parts.push(
      `Other work took ${noisy.map((c) => `${num(c.otherCores, 2)} cores during ${c.name}`).join(", ")} (the machine's busy CPU beyond the proxy, the backend, h2load and the harness): those cases' numbers are low and noisy.`,
    );
  const bound = ran.filter((c) => (c.backendCores ?? 0) >= 0.9);
  if (bound.length > 0) {
    const b = bound.map((c) => c.backendCores as number);
    parts.push(
      `The backend was at ${Math.min(...b).toFixed(2)}–${Math.max(...b).toFixed(2)} cores (its one thread's limit is about 1) in ${bound.map((c) => c.name).join(", ")}: there the throughput is the backend's, not the proxy's.`,
    );
  }
  for (const c of ran) {
    if (c.workers !== 1 || c.proxyCores === undefined || c.proxyCores >= 0.9) continue;
    const idle = c.machineBusyCores !== undefined && c.machineBusyCores < 0.9 * cores;
    parts.push(
      idle
        ? `${c.name} used ${c.proxyCores.toFixed(2)} cores while the machine had idle time: its one worker was not the bottleneck, so a second had nothing to take over.`
        : `${c.name} used ${c.proxyCores.toFixed(2)} cores of a machine with no idle time: it ran on what the scheduler gave it, and a second worker had no free core to run on.`,
    );
  }
  const direct = byName(cases, "direct");
  if (direct?.reqPerS !== undefined) {
    const past = ran.filter((c) => c.proxy !== "direct" && (c.reqPerS ?? 0) > direct.reqPerS!);
    parts.push(
      `The backend alone (direct) answered ${fmt(direct.reqPerS, 0)} req/s at ${fmt(direct.backendCpuUsPerReq)} µs of backend CPU per call${
        past.length > 0
          ? `; ${past.map((c) => c.name).join(", ")} went past it: behind a proxy the backend serves the proxy's few pooled connections instead of h2load's, and each call costs it less (the backend CPU µs/req column).`
          : "."
      }`,
    );
  }
  const saturatedW2 = ran.filter(
    (c) => c.workers === 2 && (c.machineBusyCores ?? 0) >= 0.9 * cores,
  );
  if (saturatedW2.length > 0)
    parts.push(
      `During ${saturatedW2.map((c) => c.name).join(" and ")} the machine was at least 90 % busy: a second worker could only take CPU time from h2load and the backend.`,
    );
  if (cores <= 2)
    parts.push(
      `With ${cores} core${s} two workers cannot show 2×: that needs two free cores for the proxy besides the backend's and h2load's, so w2 ÷ w1 here is not the proxy's scaling. What the run does show: whether the load is split over the workers (the per-process and per-thread cores), what the second worker costs in CPU per request and in memory, and whether throughput holds.`,
    );
  return parts.join(" ");
}

const mib = (kb: number): string => fmt(kb / 1024);

/**
 * A round's processes' cores, root first, with the busiest threads of a multi-threaded one:
 * `0.00 + 0.30 [0.15, 0.14]`; `—` for none.
 */
export function processList(r: WorkersRound | undefined): string {
  if (r?.processes === undefined || r.processes.length === 0) return "—";
  const threads = (p: ProcessCores): string =>
    p.threads !== undefined && p.threads.length > 1
      ? ` [${p.threads.map((t) => t.toFixed(2)).join(", ")}]`
      : "";
  return r.processes.map((p) => `${p.cores.toFixed(2)}${threads(p)}`).join(" + ");
}

/** The mode's report as Markdown: settings, the cases, the ratios, what the machine can show. */
export function renderWorkersMarkdown(rep: WorkersReport): string {
  const out: string[] = [];
  out.push(...reportHead(`l5d-ts workers benchmark (${rep.mode}), ${rep.startedAt}`, rep));
  out.push("");
  const s = rep.settings;
  out.push(
    `Settings: ${settingsList(s)}. Loopback h2c, unary gRPC (/helloworld.World/Greeting, an empty request) from h2load (-t 1 -c ${s.clients ?? "n"} -m ${s.streams ?? "n"}) → one proxy hop → bench/backend.mjs (one node process). Every case runs at once; they are measured in ${s.rounds ?? "n"} interleaved round(s) (order rotated each round), each a warm-up then a saturated run; the table gives medians. Proxy CPU from /proc utime+stime summed over every process of the proxy's tree (l5d's first process and its cluster workers; nghttpx's master and worker process, all threads) ÷ successful requests; cores = CPU seconds ÷ wall seconds. Machine CPU from /proc/stat over the same run; h2load's from the harness's reaped-children time; "other work" is the machine's busy CPU beyond the proxy, the backend, h2load and the harness (the other cases' idle proxies, anything else running). RSS summed over the proxy's processes (VmRSS idle before any load and after the last round; VmHWM summed, peak).`,
  );
  out.push(...skippedLines(rep.skipped));
  out.push("");
  out.push("## One hop, saturated, 1 and 2 workers");
  out.push("");
  const header = [
    "case",
    "processes",
    "req/s (median)",
    "req/s per round",
    "proxy CPU µs/req",
    "proxy cores",
    "per-process cores (root first; [busiest threads]; last round)",
    "backend CPU µs/req",
    "backend cores",
    "h2load cores",
    `machine busy (of ${rep.machine.cores})`,
    "other work, cores",
    "RSS idle → after (peak), MiB",
    "failed / non-2xx",
  ];
  const notes: string[] = [];
  const rows = rep.cases.map((c) => {
    if (c.rounds.length === 0) return errorRow(c.name, c.error, header.length);
    if (c.error) notes.push(`- ${c.name}: ${oneLine(c.error, 300)}`);
    const direct = c.proxy === "direct";
    return [
      c.name,
      direct ? "—" : String(c.processCount ?? "n/a"),
      fmt(c.reqPerS, 0),
      c.rounds.map((r) => fmt(r.reqPerS, 0)).join(" / "),
      direct ? "—" : fmt(c.proxyCpuUsPerReq),
      direct ? "—" : num(c.proxyCores, 2),
      direct ? "—" : processList(c.rounds.at(-1)),
      fmt(c.backendCpuUsPerReq),
      num(c.backendCores, 2),
      num(c.loadCores, 2),
      num(c.machineBusyCores, 2),
      num(c.otherCores, 2),
      c.rss ? `${mib(c.rss.idleKb)} → ${mib(c.rss.afterKb)} (${mib(c.rss.peakKb)})` : "—",
      failedCell(c.rounds),
    ];
  });
  out.push(markdownTable(header, rows));
  out.push(...failedRoundLines(notes));
  out.push("");
  out.push("## Ratios (medians)");
  out.push("");
  const get = (n: string) => byName(rep.cases, n);
  const pair = (label: string, a: string, b: string): string[] => [
    label,
    fmtRatio(ratio(get(a)?.reqPerS, get(b)?.reqPerS)),
    fmtRatio(ratio(get(a)?.proxyCpuUsPerReq, get(b)?.proxyCpuUsPerReq)),
    fmtRatio(ratio(get(a)?.rss?.afterKb, get(b)?.rss?.afterKb)),
  ];
  out.push(
    markdownTable(
      ["ratio", "req/s", "proxy CPU µs/req", "RSS after"],
      [
        pair("l5d w2 ÷ w1 (scaling)", "l5d-w2", "l5d-w1"),
        pair("nghttpx w2 ÷ w1 (scaling)", "nghttpx-w2", "nghttpx-w1"),
        pair("l5d ÷ nghttpx, 1 worker", "l5d-w1", "nghttpx-w1"),
        pair("l5d ÷ nghttpx, 2 workers", "l5d-w2", "nghttpx-w2"),
      ],
    ),
  );
  out.push("");
  out.push("## What this machine can show");
  out.push("");
  out.push(machineNote(rep.cases, rep.machine.cores));
  out.push("");
  out.push("Cases:");
  for (const c of rep.cases) out.push(`- ${c.name}: ${c.label}`);
  out.push("");
  return out.join("\n");
}
