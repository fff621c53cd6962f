import type { CaseResult, ReportBase, RunReport } from "./results.js";

/** A number for a table: "n/a" when missing, few significant digits otherwise. */
export function fmt(n: number | undefined, digits = 1): string {
  if (n === undefined || !Number.isFinite(n)) return "n/a";
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString("en-US");
  return n.toFixed(digits);
}

/** a ÷ b, undefined when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) {
    return undefined;
  }
  return a / b;
}

/** A ratio as "1.23×". */
export function fmtRatio(r: number | undefined): string {
  return r === undefined ? "n/a" : `${r.toFixed(2)}×`;
}

/** A GitHub-flavoured Markdown table; cells' "|" are escaped. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const esc = (c: string): string => c.replace(/\|/g, "\\|");
  const line = (cells: readonly string[]): string => `| ${cells.map(esc).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Square matrix of value(row) ÷ value(column) over named entries. */
export function ratioMatrix(
  entries: readonly { name: string; value: number | undefined }[],
  title: string,
): string {
  const header = [title, ...entries.map((e) => e.name)];
  const rows = entries.map((r) => [
    r.name,
    ...entries.map((c) => fmtRatio(ratio(r.value, c.value))),
  ]);
  return markdownTable(header, rows);
}

/** The last line of `bench:quick`: l5d vs nghttpx CPU per request, one hop. */
export function quickLine(l5dUs: number | undefined, nghttpxUs: number | undefined): string {
  const n = (v: number | undefined): string => (v === undefined ? "n/a" : v.toFixed(1));
  const r = ratio(l5dUs, nghttpxUs);
  return `l5d_cpu_us_per_req=${n(l5dUs)} nghttpx_cpu_us_per_req=${n(nghttpxUs)} ratio=${r === undefined ? "n/a" : r.toFixed(2)}`;
}

/** Issue #16's goal: l5d over TLS at most this many times nghttpx's CPU per request over TLS. */
export const TLS_CPU_GOAL = 1.5;

/** The saturated unary result of one hop of `proxy` in front of the node backend, if it ran. */
function oneHopUnary(
  cases: readonly CaseResult[],
  proxy: CaseResult["proxy"],
): CaseResult["saturated"] {
  return cases.find(
    (c) =>
      c.backend === "node" &&
      c.workload === "unary" &&
      c.hops === 1 &&
      c.proxy === proxy &&
      !c.error,
  )?.saturated;
}

/**
 * The TLS summary line (printed before the quick line): l5d-tls vs nghttpx-tls, one hop, CPU per
 * request and saturated throughput, each with its ratio.
 */
export function tlsLine(cases: readonly CaseResult[]): string {
  const l = oneHopUnary(cases, "l5d-tls");
  const n = oneHopUnary(cases, "nghttpx-tls");
  const v = (x: number | undefined, d: number): string => (x === undefined ? "n/a" : x.toFixed(d));
  return [
    "tls:",
    `l5d_cpu_us_per_req=${v(l?.proxyCpuUsPerReq, 1)}`,
    `nghttpx_cpu_us_per_req=${v(n?.proxyCpuUsPerReq, 1)}`,
    `ratio=${v(ratio(l?.proxyCpuUsPerReq, n?.proxyCpuUsPerReq), 2)}`,
    `l5d_req_per_s=${v(l?.reqPerS, 0)}`,
    `nghttpx_req_per_s=${v(n?.reqPerS, 0)}`,
    `req_per_s_ratio=${v(ratio(l?.reqPerS, n?.reqPerS), 2)}`,
  ].join(" ");
}

/**
 * The TLS section: each `-tls` case against nghttpx-tls (CPU per request and throughput) and
 * against its own cleartext case (what TLS costs it), and issue #16's goal.
 */
function tlsSection(cases: readonly CaseResult[]): string[] {
  const names = ["l5d-tls", "nghttpx-tls"] as const;
  const plain = { "l5d-tls": "l5d", "nghttpx-tls": "nghttpx" } as const;
  const ng = oneHopUnary(cases, "nghttpx-tls");
  const rows = names.flatMap((name) => {
    const s = oneHopUnary(cases, name);
    if (s === undefined) return [];
    const h2c = oneHopUnary(cases, plain[name]);
    return [
      [
        `${name} ×1`,
        fmt(s.reqPerS, 0),
        fmt(s.proxyCpuUsPerReq),
        fmtRatio(ratio(s.proxyCpuUsPerReq, ng?.proxyCpuUsPerReq)),
        fmtRatio(ratio(s.reqPerS, ng?.reqPerS)),
        fmtRatio(ratio(s.proxyCpuUsPerReq, h2c?.proxyCpuUsPerReq)),
        fmtRatio(ratio(s.reqPerS, h2c?.reqPerS)),
      ],
    ];
  });
  if (rows.length === 0) return [];
  const header = [
    "case",
    "req/s saturated",
    "proxy CPU µs/req",
    "CPU ÷ nghttpx-tls",
    "req/s ÷ nghttpx-tls",
    "CPU ÷ same proxy h2c",
    "req/s ÷ same proxy h2c",
  ];
  const r = ratio(oneHopUnary(cases, "l5d-tls")?.proxyCpuUsPerReq, ng?.proxyCpuUsPerReq);
  const verdict =
    r === undefined
      ? "not measured in this run"
      : `${fmtRatio(r)}: ${r <= TLS_CPU_GOAL ? "met" : "not met"}`;
  return [
    "",
    "## TLS, one hop, same run (issue #16)",
    "",
    "TLS with ALPN h2 (the tools' defaults: TLS 1.3) from h2load to the proxy and from the proxy to the backend's TLS port (the same process as its h2c port); the proxies check the backend's certificate against the run's CA. No fixed-rate phase: the paced generators speak h2c only.",
    "",
    markdownTable(header, rows),
    "",
    `Goal: l5d-tls at most ${fmtRatio(TLS_CPU_GOAL)} nghttpx-tls's CPU per request — ${verdict}.`,
  ];
}

function find(
  cases: readonly CaseResult[],
  q: Pick<CaseResult, "backend" | "proxy" | "hops" | "workload">,
): CaseResult | undefined {
  return cases.find(
    (c) =>
      c.backend === q.backend &&
      c.proxy === q.proxy &&
      c.hops === q.hops &&
      c.workload === q.workload,
  );
}

/** An error message fit for one table cell. */
export function oneLine(text: string, max = 160): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The table row of a case none of whose rounds ran: its name, its error, then empty cells. */
export function errorRow(name: string, error: string | undefined, columns: number): string[] {
  const row = [name, `error: ${oneLine(error ?? "no round ran")}`];
  while (row.length < columns) row.push("");
  return row;
}

/** A case's "failed / non-2xx" cell: its rounds' sums. */
export function failedCell(rounds: readonly { failed: number; non2xx?: number }[]): string {
  const failed = rounds.reduce((a, r) => a + r.failed, 0);
  const non2xx = rounds.reduce((a, r) => a + (r.non2xx ?? 0), 0);
  return `${failed} / ${non2xx}`;
}

/** The notes of failed rounds under a table (after a blank line); nothing when there are none. */
export function failedRoundLines(notes: readonly string[]): string[] {
  return notes.length === 0 ? [] : ["", "Failed rounds (not in the medians):", ...notes];
}

/** A marker for a fixed-rate run that could not keep the rate (its latencies are queueing). */
function overloaded(r: { targetRps?: number; achievedRps: number }): string {
  if (r.targetRps === undefined || r.achievedRps >= 0.95 * r.targetRps) return "";
  return ` (overloaded: ${fmt(r.achievedRps, 0)} rps)`;
}

const mib = (kb: number | undefined): number | undefined =>
  kb === undefined ? undefined : kb / 1024;

function caseName(c: CaseResult): string {
  return c.proxy === "direct" ? "direct" : `${c.proxy} ×${c.hops}`;
}

function unaryTable(cases: readonly CaseResult[], backend: CaseResult["backend"]): string {
  const list = cases.filter((c) => c.backend === backend && c.workload === "unary");
  const direct = find(cases, { backend, proxy: "direct", hops: 0, workload: "unary" });
  const header = [
    "case",
    "req/s saturated",
    "÷ direct",
    "proxy CPU µs/req",
    "µs/req per hop",
    "backend CPU µs/req",
    "p50 / p99 / p99.9 @1k rps (µs)",
    "p99 added vs direct (µs)",
    "serial p50 / p99 (µs)",
    "RSS idle → peak (MiB)",
  ];
  const rows = list.map((c) => {
    if (c.error)
      return [caseName(c), `error: ${c.error.slice(0, 160)}`, ...header.slice(2).map(() => "")];
    const s = c.saturated;
    const r = c.rate;
    const added = r && direct?.rate ? r.p99 - direct.rate.p99 : undefined;
    return [
      caseName(c),
      fmt(s?.reqPerS, 0),
      fmtRatio(ratio(s?.reqPerS, direct?.saturated?.reqPerS)),
      c.proxy === "direct" ? "—" : fmt(s?.proxyCpuUsPerReq),
      c.proxy === "direct" ? "—" : fmt(s?.proxyCpuUsPerReqPerHop),
      fmt(s?.backendCpuUsPerReq),
      r ? `${fmt(r.p50, 0)} / ${fmt(r.p99, 0)} / ${fmt(r.p999, 0)}${overloaded(r)}` : "n/a",
      c.proxy === "direct" ? "—" : fmt(added, 0),
      c.serial ? `${fmt(c.serial.p50, 0)} / ${fmt(c.serial.p99, 0)}` : "n/a",
      c.rss ? `${fmt(mib(c.rss.idleKb))} → ${fmt(mib(c.rss.peakKb))}` : "—",
    ];
  });
  return markdownTable(header, rows);
}

function bulkTable(cases: readonly CaseResult[]): string {
  const list = cases.filter((c) => c.workload !== "unary" && c.backend === "node");
  const header = [
    "case",
    "workload",
    "calls/s",
    "÷ direct",
    "throughput",
    "proxy CPU µs/call",
    "µs per hop",
    "backend CPU µs/call",
  ];
  const rows = list.map((c) => {
    if (c.error)
      return [caseName(c), c.workload, `error: ${c.error.slice(0, 160)}`, "", "", "", "", ""];
    const s = c.saturated;
    const direct = find(cases, { backend: "node", proxy: "direct", hops: 0, workload: c.workload });
    const thr =
      c.workload === "stream1000"
        ? `${fmt((s?.reqPerS ?? Number.NaN) * 1000, 0)} msg/s`
        : `${fmt((s?.reqPerS ?? Number.NaN) * 2, 1)} MiB/s (both ways)`;
    return [
      caseName(c),
      c.workload,
      fmt(s?.reqPerS, 1),
      fmtRatio(ratio(s?.reqPerS, direct?.saturated?.reqPerS)),
      thr,
      c.proxy === "direct" ? "—" : fmt(s?.proxyCpuUsPerReq, 0),
      c.proxy === "direct" ? "—" : fmt(s?.proxyCpuUsPerReqPerHop, 0),
      fmt(s?.backendCpuUsPerReq, 0),
    ];
  });
  return markdownTable(header, rows);
}

/** The report's "Machine: …" sentence, with the load average and a noise warning. */
export function machineLine(rep: Pick<ReportBase, "machine" | "loadAvg">): string {
  const m = rep.machine;
  return `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memTotalMiB} MiB, ${m.kernel}, ${m.os}, node ${m.node}. Load average (1 min) at start ${fmt(rep.loadAvg?.start, 2)}, at end ${fmt(rep.loadAvg?.end, 2)}${(rep.loadAvg?.start ?? 0) > 0.5 ? " — other work was running; treat throughput and latency as noisy" : ""}.`;
}

/** The report's "Versions: …" sentence. */
export function versionsLine(versions: Readonly<Record<string, string>>): string {
  return `Versions: ${Object.entries(versions)
    .map(([k, v]) => `${k}: ${v}`)
    .join("; ")}.`;
}

/** A report's opening lines: its `# title`, the machine and the versions. */
export function reportHead(
  title: string,
  rep: Pick<ReportBase, "machine" | "loadAvg" | "versions">,
): string[] {
  return [`# ${title}`, "", machineLine(rep), "", versionsLine(rep.versions)];
}

/** A report's settings as `key=value, …`. */
export function settingsList(settings: Readonly<Record<string, number | string>>): string {
  return Object.entries(settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/** The "Skipped:" list (after a blank line); nothing when nothing was skipped. */
export function skippedLines(skipped: ReportBase["skipped"]): string[] {
  if (skipped.length === 0) return [];
  return ["", "Skipped:", ...skipped.map((s) => `- ${s.what}: ${s.reason}`)];
}

/** The whole report as Markdown. */
export function renderMarkdown(rep: RunReport): string {
  const out: string[] = [];
  out.push(...reportHead(`l5d-ts side-by-side benchmark (${rep.mode}), ${rep.startedAt}`, rep));
  out.push("");
  out.push(
    `Settings: ${settingsList(rep.settings)}. Loopback h2c${rep.cases.some((c) => c.proxy.endsWith("-tls")) ? " (the `-tls` cases: TLS with ALPN h2 on both sides)" : ""}; CPU from /proc utime+stime of every process of the proxy (all hops) ÷ successful requests of the saturated run; RSS summed over the proxy's processes (VmRSS idle, VmHWM peak).`,
  );
  const lags = rep.cases.flatMap((c) =>
    c.rate?.sendLagP99Us !== undefined ? [c.rate.sendLagP99Us] : [],
  );
  if (lags.length > 0) {
    out.push("");
    out.push(
      `Fixed-rate runs: open loop, evenly paced, latency from send to end of response, measured by ${rep.cases.some((c) => c.rate?.generator === "c") ? "the C generator (bench/src/pacer.c: one process, no GC, ppoll wake-ups)" : "the Node generator (bench/src/paced.ts; its own GC pauses are in every percentile)"}; the generator's own lateness against its schedule was at most ${fmt(Math.max(...lags), 0)} µs at p99 (not included in the latencies).`,
    );
  }
  out.push(...skippedLines(rep.skipped));
  const backends = [...new Set(rep.cases.map((c) => c.backend))];
  for (const b of backends) {
    out.push("");
    out.push(
      `## Unary gRPC, ${b === "node" ? "minimal node:http2 backend (bench/backend.mjs)" : "the world app (apps/world)"}`,
    );
    out.push("");
    out.push(unaryTable(rep.cases, b));
  }
  const oneHop = rep.cases.filter(
    (c) => c.backend === "node" && c.workload === "unary" && c.hops === 1 && !c.error,
  );
  if (oneHop.length > 1) {
    out.push("");
    out.push("## One hop, same run: ratios (row ÷ column)");
    out.push("");
    out.push(
      ratioMatrix(
        oneHop.map((c) => ({ name: c.proxy, value: c.saturated?.proxyCpuUsPerReq })),
        "CPU µs/req",
      ),
    );
    out.push("");
    out.push(
      ratioMatrix(
        oneHop.map((c) => ({ name: c.proxy, value: c.saturated?.reqPerS })),
        "req/s saturated",
      ),
    );
    out.push("");
    out.push(
      ratioMatrix(
        oneHop.map((c) => ({ name: c.proxy, value: c.rss?.peakKb })),
        "RSS peak",
      ),
    );
  }
  out.push(...tlsSection(rep.cases));
  if (rep.cases.some((c) => c.workload !== "unary")) {
    out.push("");
    out.push("## Streaming (server stream of 1,000 messages per call) and 1 MiB messages (echoed)");
    out.push("");
    out.push(bulkTable(rep.cases));
  }
  out.push("");
  return out.join("\n");
}
