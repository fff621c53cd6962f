// The HTTP/1.1 mode (`bench --http1`): its phases, the aggregation of its rounds, its report and
// summary lines. Pure; the run itself is in http1-run.ts.
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
import type { Http1Case, Http1Report, SaturatedResult } from "./results.js";

/** What bench/backend-http1.mjs answers every request with (10 bytes, status 200). */
export const HTTP1_BODY = "hello l5d\n";

/** Durations and shape of the HTTP/1.1 mode's load. */
export interface Http1Phases {
  /** interleaved rounds: every case once per round, the order rotated each round. */
  rounds: number;
  /** warm-up of each case in the first round (JITs, pools, upstream connections). */
  firstWarmupS: number;
  /** warm-up before each later round's measurement. */
  warmupS: number;
  saturatedS: number;
  /** h2load --h1 -c: keep-alive connections, one request in flight on each (-m 1). */
  clients: number;
}

/** The phases for a `--scale` (which multiplies the saturated runs only). */
export function http1Phases(scale = 1): Http1Phases {
  return {
    rounds: 3,
    firstWarmupS: 2,
    warmupS: 1,
    saturatedS: Math.max(0.5, Math.round(5 * scale * 2) / 2),
    clients: 16,
  };
}

/** Seconds the load of `cases` cases will take (h2load's start-up not counted). */
export function http1LoadSeconds(p: Http1Phases, cases: number): number {
  return cases * (p.firstWarmupS + p.saturatedS + (p.rounds - 1) * (p.warmupS + p.saturatedS));
}

/** `items` rotated left by `round` (so no case always runs first, or right after the same one). */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const k = ((round % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Median (the mean of the middle two for an even count); undefined for none. */
export function median(values: readonly number[]): number | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

function medianOf(
  rounds: readonly SaturatedResult[],
  pick: (s: SaturatedResult) => number | undefined,
): number | undefined {
  return median(rounds.flatMap((s) => (pick(s) === undefined ? [] : [pick(s) as number])));
}

/** The case with its medians over its rounds filled in (any old medians dropped). */
export function summarizeCase(c: Http1Case): Http1Case {
  const { reqPerS: _r, proxyCpuUsPerReq: _p, backendCpuUsPerReq: _b, ...rest }: Http1Case = c;
  const out: Http1Case = { ...rest };
  const rps = medianOf(c.rounds, (s) => s.reqPerS);
  const cpu = medianOf(c.rounds, (s) => s.proxyCpuUsPerReq);
  const be = medianOf(c.rounds, (s) => s.backendCpuUsPerReq);
  if (rps !== undefined) out.reqPerS = rps;
  if (cpu !== undefined) out.proxyCpuUsPerReq = cpu;
  if (be !== undefined) out.backendCpuUsPerReq = be;
  return out;
}

function byName(cases: readonly Http1Case[], name: Http1Case["proxy"]): Http1Case | undefined {
  return cases.find((c) => c.proxy === name && c.rounds.length > 0);
}

const PEERS = ["nginx", "haproxy", "nghttpx"] as const;

/**
 * The mode's last line: l5d's proxy CPU per request against haproxy's, and nginx's and
 * nghttpx's CPU per request (medians over the rounds; n/a for a case that did not run).
 */
export function http1Line(cases: readonly Http1Case[]): string {
  const cpu = (n: Http1Case["proxy"]): number | undefined => byName(cases, n)?.proxyCpuUsPerReq;
  const us = (v: number | undefined): string => (v === undefined ? "n/a" : v.toFixed(1));
  const r = ratio(cpu("l5d"), cpu("haproxy"));
  return `http1: l5d_cpu_us_per_req=${us(cpu("l5d"))} haproxy_cpu_us_per_req=${us(cpu("haproxy"))} ratio_vs_haproxy=${r === undefined ? "n/a" : r.toFixed(2)} nginx=${us(cpu("nginx"))} nghttpx=${us(cpu("nghttpx"))}`;
}

/** Saturated req/s of every case and l5d's req/s ÷ each peer's (medians over the rounds). */
export function http1RpsLine(cases: readonly Http1Case[]): string {
  const rps = (n: Http1Case["proxy"]): number | undefined => byName(cases, n)?.reqPerS;
  const n0 = (v: number | undefined): string => (v === undefined ? "n/a" : String(Math.round(v)));
  const each = (["direct", "l5d", ...PEERS] as const).map((n) => `${n}=${n0(rps(n))}`);
  const ratios = PEERS.map((p) => {
    const r = ratio(rps("l5d"), rps(p));
    return `l5d/${p}=${r === undefined ? "n/a" : r.toFixed(2)}`;
  });
  return `http1 req/s: ${[...each, ...ratios].join(" ")}`;
}

const mib = (kb: number): string => fmt(kb / 1024);

/** The mode's report as Markdown: settings, the one-hop table, the peers' configurations. */
export function renderHttp1Markdown(rep: Http1Report): string {
  const out: string[] = [];
  out.push(...reportHead(`l5d-ts HTTP/1.1 benchmark (http1), ${rep.startedAt}`, rep));
  out.push("");
  const rounds = rep.settings.rounds ?? "n";
  out.push(
    `Settings: ${settingsList(rep.settings)}. Loopback HTTP/1.1 with keep-alive on both legs: h2load --h1 (one request in flight per connection, no pipelining) → one proxy hop → its pooled keep-alive connections → a node:http backend answering 200 with a 10-byte body (bench/backend-http1.mjs). Every proxy runs at once; the cases are measured in ${rounds} interleaved rounds (order rotated each round) and the table gives each round's value and the median. CPU from /proc utime+stime of every process of the proxy (nginx's and nghttpx's workers included) ÷ successful requests of the saturated run; RSS summed over those processes (VmRSS idle before any load, VmHWM peak).`,
  );
  out.push(...skippedLines(rep.skipped));
  out.push("");
  out.push("## HTTP/1.1, one hop, node:http backend");
  out.push("");
  const direct = byName(rep.cases, "direct");
  const l5d = byName(rep.cases, "l5d");
  const header = [
    "case",
    "req/s saturated (median)",
    "req/s per round",
    "÷ direct",
    "proxy CPU µs/req (median)",
    "µs/req per round",
    "backend CPU µs/req",
    "l5d ÷ this, CPU µs/req",
    "l5d ÷ this, req/s",
    "RSS idle → peak (MiB)",
    "failed / non-2xx",
  ];
  const notes: string[] = [];
  const rows = rep.cases.map((c) => {
    if (c.rounds.length === 0) return errorRow(c.proxy, c.error, header.length);
    if (c.error) notes.push(`- ${c.proxy}: ${oneLine(c.error, 300)}`);
    const isDirect = c.proxy === "direct";
    return [
      c.proxy,
      fmt(c.reqPerS, 0),
      c.rounds.map((s) => fmt(s.reqPerS, 0)).join(" / "),
      fmtRatio(ratio(c.reqPerS, direct?.reqPerS)),
      isDirect ? "—" : fmt(c.proxyCpuUsPerReq),
      isDirect ? "—" : c.rounds.map((s) => fmt(s.proxyCpuUsPerReq)).join(" / "),
      fmt(c.backendCpuUsPerReq),
      isDirect || c.proxy === "l5d"
        ? "—"
        : fmtRatio(ratio(l5d?.proxyCpuUsPerReq, c.proxyCpuUsPerReq)),
      c.proxy === "l5d" ? "—" : fmtRatio(ratio(l5d?.reqPerS, c.reqPerS)),
      c.rss ? `${mib(c.rss.idleKb)} → ${mib(c.rss.peakKb)}` : "—",
      failedCell(c.rounds),
    ];
  });
  out.push(markdownTable(header, rows));
  out.push(...failedRoundLines(notes));
  out.push("");
  out.push("Cases:");
  for (const c of rep.cases) out.push(`- ${c.proxy}: ${c.label}`);
  out.push("");
  return out.join("\n");
}
