// The whole-mesh mode (`bench --mesh`): the tutorial's request path end to end on two loopback
// "nodes", through l5d and through nghttpx, against the same call made directly. Pure: the
// topology and configs, the phases, the aggregation of rounds, the report and summary lines. The
// run itself is in mesh-run.ts.
//
//   client → out(A) → in(A) → hello(A) → out(A) → in(B) → world(B)
//
// l5d: one process per node (its outgoing and incoming routers), four hops on the path (three
// in node A's l5d, one in node B's). nghttpx: one process per router (out/in on each node; out(B)
// is on no hop of the path but is part of the mesh and of its CPU). direct: hello calls world
// with no proxy.
import { median, roundOrder } from "./http1.js";
import {
  errorRow,
  fmt,
  fmtRatio,
  markdownTable,
  oneLine,
  ratio,
  reportHead,
  settingsList,
  skippedLines,
} from "./report.js";
import type { ReportBase } from "./results.js";

/** Node A (client, hello, both entry points) and node B (world): loopback addresses. */
export const NODE_A = "127.0.0.1";
export const NODE_B = "127.0.0.2";

/** The hello call the tutorial's client makes (helloworld-client: `Hello.Greeting`, empty request). */
export const HELLO_PATH = "/helloworld.Hello/Greeting";
/** hello's downstream call. */
export const WORLD_PATH = "/helloworld.World/Greeting";
/** What the hello call answers when no app has POD_IP set. */
export const HELLO_ANSWER = "Hello world!!";

/**
 * The tutorial's dtab (linkerd-grpc.yaml) with io.l5d.fs in place of io.l5d.k8s/default/grpc:
 * the fs demo's (deploy/local/fs-demo.mjs FS_DTAB; a test keeps them equal).
 */
export const MESH_DTAB = [
  "/srv        => /#/io.l5d.fs ;",
  "/grpc       => /srv ;",
  "/grpc/World => /srv/world-v1 ;",
  "/svc        => /$/io.buoyant.http.domainToPathPfx/grpc ;",
].join("\n");

/** Ports of the l5d mesh: the routers' ports are the same on both nodes (io.l5d.port needs it). */
export interface L5dMeshPorts {
  outgoing: number;
  incoming: number;
  admin: number;
}

/** The variables of templates.ts's L5D_MESH_YAML for one node. */
export function l5dMeshVars(
  node: { name: string; ip: string },
  ports: L5dMeshPorts,
  disco: string,
): Record<string, string | number> {
  return {
    NAME: node.name,
    IP: node.ip,
    ADMIN_PORT: ports.admin,
    DISCO: JSON.stringify(disco),
    DTAB: MESH_DTAB.split("\n")
      .map((l) => `    ${l}`)
      .join("\n"),
    OUTGOING_PORT: ports.outgoing,
    INCOMING_PORT: ports.incoming,
  };
}

/** io.l5d.fs files: `Hello` (the hello instances) and `world-v1`, one `host port` line each. */
export function meshDisco(
  hello: readonly [string, number],
  world: readonly [string, number],
): Record<string, string> {
  return { Hello: `${hello[0]} ${hello[1]}\n`, "world-v1": `${world[0]} ${world[1]}\n` };
}

/** A static route of an nghttpx of the mesh: requests whose :path starts with `prefix`. */
export interface MeshRoute {
  prefix: string;
  host: string;
  port: number;
}

/**
 * nghttpx `backend=` lines for `routes` (h2c), plus the catch-all nghttpx insists on, to a port
 * nothing listens on (127.0.0.1:1, binding it needs root): an unroutable call fails, as l5d's
 * does.
 */
export function nghttpxMeshBackends(routes: readonly MeshRoute[]): string {
  return [
    ...routes.map((r) => `backend=${r.host},${r.port};${r.prefix};proto=h2;no-tls`),
    "backend=127.0.0.1,1;;proto=h2;no-tls",
  ].join("\n");
}

/** Where the nghttpx mesh's routers and the apps listen. */
export interface NghttpxMeshPorts {
  outA: number;
  inA: number;
  outB: number;
  inB: number;
  /** hello (node A) and world (node B). */
  hello: number;
  world: number;
}

/** One nghttpx of the mesh: its name, listener and routes. */
export interface NghttpxRole {
  name: "out-a" | "in-a" | "out-b" | "in-b";
  host: string;
  port: number;
  routes: MeshRoute[];
}

/**
 * The four nghttpx processes mirroring the l5ds' routing: each outgoing router sends a service
 * to the incoming router of the node its instances are on (hello: A, world: B); each incoming
 * router sends to its own node's instances only.
 */
export function nghttpxMeshRoles(p: NghttpxMeshPorts): NghttpxRole[] {
  const out = [
    { prefix: "/helloworld.Hello/", host: NODE_A, port: p.inA },
    { prefix: "/helloworld.World/", host: NODE_B, port: p.inB },
  ];
  return [
    { name: "out-a", host: NODE_A, port: p.outA, routes: out },
    {
      name: "in-a",
      host: NODE_A,
      port: p.inA,
      routes: [{ prefix: "/helloworld.Hello/", host: NODE_A, port: p.hello }],
    },
    { name: "out-b", host: NODE_B, port: p.outB, routes: out },
    {
      name: "in-b",
      host: NODE_B,
      port: p.inB,
      routes: [{ prefix: "/helloworld.World/", host: NODE_B, port: p.world }],
    },
  ];
}

/**
 * The `message` (field 1, string) of a helloworld `SvcResponse`; "" for an empty message.
 * Throws on anything else (wire type, truncation).
 */
export function decodeSvcResponse(msg: Uint8Array): string {
  let off = 0;
  let out = "";
  while (off < msg.length) {
    const key = msg[off++]!;
    if (key !== 0x0a) throw new Error(`SvcResponse: unexpected field key 0x${key.toString(16)}`);
    let len = 0;
    let shift = 0;
    for (let i = 0; ; i++) {
      if (off >= msg.length || i >= 5) throw new Error("SvcResponse: bad length varint");
      const b = msg[off++]!;
      len |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    if (off + len > msg.length) throw new Error("SvcResponse: truncated message field");
    out = Buffer.from(msg.subarray(off, off + len)).toString("utf8");
    off += len;
  }
  return out;
}

/** Durations and shapes of the mesh mode's load. */
export interface MeshPhases {
  /** interleaved rounds: every case once per round, the order rotated each round. */
  rounds: number;
  /** h2load warm-up before each case's measurements (first round / later rounds). */
  firstWarmupS: number;
  warmupS: number;
  /** the paced run: calls/s over `rateConnections` connections, for `rateS` seconds. */
  rate: number;
  rateS: number;
  rateConnections: number;
  /** the saturated run: h2load -c clients -m streams for `saturatedS` seconds. */
  saturatedS: number;
  clients: number;
  streams: number;
}

/** The phases: full (3 rounds) or quick (1 round, shorter); `scale` multiplies rate and saturated runs. */
export function meshPhases(quick: boolean, scale = 1): MeshPhases {
  const s = (x: number): number => Math.max(0.5, Math.round(x * scale * 2) / 2);
  return quick
    ? {
        rounds: 1,
        firstWarmupS: 2,
        warmupS: 1,
        rate: 1000,
        rateS: s(2),
        rateConnections: 4,
        saturatedS: s(2),
        clients: 4,
        streams: 16,
      }
    : {
        rounds: 3,
        firstWarmupS: 2,
        warmupS: 1,
        rate: 1000,
        rateS: s(5),
        rateConnections: 4,
        saturatedS: s(4),
        clients: 4,
        streams: 16,
      };
}

/** Seconds of load one case takes in round `round` (0-based), start-up of the tools not counted. */
export function meshCaseSeconds(p: MeshPhases, round: number): number {
  return (round === 0 ? p.firstWarmupS : p.warmupS) + p.rateS + p.saturatedS;
}

/** Seconds of load of the whole run over `cases` cases. */
export function meshLoadSeconds(p: MeshPhases, cases: number): number {
  let s = 0;
  for (let r = 0; r < p.rounds; r++) s += cases * meshCaseSeconds(p, r);
  return s;
}

export { roundOrder };

/** The cases of the mode. */
export type MeshCaseName = "direct" | "l5d" | "nghttpx";

/** The paced run of one round: latencies of the hello call (µs) and CPU per call. */
export interface MeshRateResult {
  targetRps: number;
  achievedRps: number;
  calls: number;
  failed: number;
  p50: number;
  p99: number;
  p999: number;
  /** the generator's own lateness against its schedule, p99 µs (not in the latencies). */
  sendLagP99Us: number;
  generator: "c" | "node";
  /** proxies' CPU (every proxy process of the mesh) ÷ successful calls, µs. */
  proxyCpuUsPerCall?: number;
  /** hello's and world's CPU ÷ successful calls, µs. */
  appsCpuUsPerCall?: number;
}

/** The saturated run of one round. */
export interface MeshSaturatedResult {
  clients: number;
  streams: number;
  durationS: number;
  callsPerS: number;
  succeeded: number;
  failed: number;
  /** latencies of the successful calls (h2load --log-file), µs. */
  p50: number;
  p99: number;
  p999: number;
  proxyCpuUsPerCall?: number;
  appsCpuUsPerCall?: number;
  /** the proxies' CPU over the run, in cores. */
  proxyCores?: number;
}

/** One round of one case; a phase that failed is missing and `error` says why. */
export interface MeshRound {
  round: number;
  rate?: MeshRateResult;
  saturated?: MeshSaturatedResult;
  error?: string;
}

/** Medians over a case's rounds, and what it adds over direct (medians of per-round differences). */
export interface MeshSummary {
  rateP50?: number;
  rateP99?: number;
  rateP999?: number;
  rateCpuUsPerCall?: number;
  rateAppsCpuUsPerCall?: number;
  rateAddedP50?: number;
  rateAddedP99?: number;
  satCallsPerS?: number;
  satP50?: number;
  satP99?: number;
  satCpuUsPerCall?: number;
  satAppsCpuUsPerCall?: number;
  satAddedP50?: number;
  satAddedP99?: number;
}

/** One case: what ran and its rounds. */
export interface MeshCase {
  name: MeshCaseName;
  /** what ran, for the report. */
  label: string;
  /** the proxy processes whose CPU is counted (none for direct). */
  proxies: string[];
  /** proxy hops on the path of one hello call. */
  hops: number;
  rounds: MeshRound[];
  /** RSS summed over the proxy processes after the last round, KiB. */
  proxyRssKb?: number;
  summary?: MeshSummary;
  /** why the case could not start (then no rounds). */
  error?: string;
}

/** The mode's run, as written to bench/results/<timestamp>-mesh[-quick].json. */
export interface MeshReport extends ReportBase {
  mode: "mesh" | "mesh-quick";
  settings: Record<string, number | string>;
  /** the hello call's answer through each case's path, checked before the load. */
  answers: Partial<Record<MeshCaseName, string>>;
  /** wall-clock seconds of the whole run. */
  durationS?: number;
  cases: MeshCase[];
}

function med(values: readonly (number | undefined)[]): number | undefined {
  return median(values.filter((v): v is number => v !== undefined && Number.isFinite(v)));
}

/**
 * `c`'s summary: medians over its rounds, and (with `direct`) the medians of its per-round
 * differences from direct's same round (the cases of a round ran back to back).
 */
export function summarizeMesh(c: MeshCase, direct: MeshCase | undefined): MeshSummary {
  const rs = c.rounds;
  const out: MeshSummary = {};
  const put = (k: keyof MeshSummary, v: number | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  const over = (pick: (r: MeshRound) => number | undefined): number | undefined =>
    med(rs.map(pick));
  put(
    "rateP50",
    over((r) => r.rate?.p50),
  );
  put(
    "rateP99",
    over((r) => r.rate?.p99),
  );
  put(
    "rateP999",
    over((r) => r.rate?.p999),
  );
  put(
    "rateCpuUsPerCall",
    over((r) => r.rate?.proxyCpuUsPerCall),
  );
  put(
    "rateAppsCpuUsPerCall",
    over((r) => r.rate?.appsCpuUsPerCall),
  );
  put(
    "satCallsPerS",
    over((r) => r.saturated?.callsPerS),
  );
  put(
    "satP50",
    over((r) => r.saturated?.p50),
  );
  put(
    "satP99",
    over((r) => r.saturated?.p99),
  );
  put(
    "satCpuUsPerCall",
    over((r) => r.saturated?.proxyCpuUsPerCall),
  );
  put(
    "satAppsCpuUsPerCall",
    over((r) => r.saturated?.appsCpuUsPerCall),
  );
  if (direct !== undefined && direct !== c) {
    const diff = (pick: (r: MeshRound) => number | undefined): number | undefined =>
      med(
        rs.map((r) => {
          const d = direct.rounds.find((x) => x.round === r.round);
          const a = pick(r);
          const b = d === undefined ? undefined : pick(d);
          return a === undefined || b === undefined ? undefined : a - b;
        }),
      );
    put(
      "rateAddedP50",
      diff((r) => r.rate?.p50),
    );
    put(
      "rateAddedP99",
      diff((r) => r.rate?.p99),
    );
    put(
      "satAddedP50",
      diff((r) => r.saturated?.p50),
    );
    put(
      "satAddedP99",
      diff((r) => r.saturated?.p99),
    );
  }
  return out;
}

/** Every case with its summary filled in. */
export function summarizeAll(cases: readonly MeshCase[]): MeshCase[] {
  const direct = cases.find((c) => c.name === "direct");
  return cases.map((c) => ({ ...c, summary: summarizeMesh(c, direct) }));
}

const us0 = (v: number | undefined): string => (v === undefined ? "n/a" : String(Math.round(v)));
const us1 = (v: number | undefined): string => (v === undefined ? "n/a" : v.toFixed(1));
const r2 = (v: number | undefined): string => (v === undefined ? "n/a" : v.toFixed(2));

/**
 * a ÷ b for what two paths add over direct: undefined unless both are positive (noise can make
 * an added latency ≤ 0, and a ratio to that means nothing).
 */
export function addedRatio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && a > 0 && b > 0 ? a / b : undefined;
}

function sumOf(cases: readonly MeshCase[], name: MeshCaseName): MeshSummary {
  return cases.find((c) => c.name === name)?.summary ?? {};
}

/**
 * The mode's two summary lines: at the fixed rate and saturated, direct's latency, what l5d and
 * nghttpx add to it, their proxies' CPU per call, and l5d ÷ nghttpx.
 */
export function meshLines(cases: readonly MeshCase[], rate = 1000): string[] {
  const d = sumOf(cases, "direct");
  const l = sumOf(cases, "l5d");
  const n = sumOf(cases, "nghttpx");
  return [
    [
      `mesh @${rate}/s:`,
      `direct_p50_us=${us0(d.rateP50)}`,
      `direct_p99_us=${us0(d.rateP99)}`,
      `l5d_added_p50_us=${us0(l.rateAddedP50)}`,
      `l5d_added_p99_us=${us0(l.rateAddedP99)}`,
      `nghttpx_added_p50_us=${us0(n.rateAddedP50)}`,
      `nghttpx_added_p99_us=${us0(n.rateAddedP99)}`,
      `added_p99_ratio=${r2(addedRatio(l.rateAddedP99, n.rateAddedP99))}`,
      `l5d_cpu_us_per_call=${us1(l.rateCpuUsPerCall)}`,
      `nghttpx_cpu_us_per_call=${us1(n.rateCpuUsPerCall)}`,
      `cpu_ratio=${r2(ratio(l.rateCpuUsPerCall, n.rateCpuUsPerCall))}`,
    ].join(" "),
    [
      "mesh saturated:",
      `direct_calls_per_s=${us0(d.satCallsPerS)}`,
      `l5d_calls_per_s=${us0(l.satCallsPerS)}`,
      `nghttpx_calls_per_s=${us0(n.satCallsPerS)}`,
      `direct_p99_us=${us0(d.satP99)}`,
      `l5d_p99_us=${us0(l.satP99)}`,
      `nghttpx_p99_us=${us0(n.satP99)}`,
      `l5d_cpu_us_per_call=${us1(l.satCpuUsPerCall)}`,
      `nghttpx_cpu_us_per_call=${us1(n.satCpuUsPerCall)}`,
      `cpu_ratio=${r2(ratio(l.satCpuUsPerCall, n.satCpuUsPerCall))}`,
    ].join(" "),
  ];
}

function perRound(c: MeshCase, pick: (r: MeshRound) => number | undefined, digits = 0): string {
  return c.rounds.map((r) => fmt(pick(r), digits)).join(" / ");
}

function pair(a: number | undefined, b: number | undefined): string {
  return `${fmt(a, 0)} / ${fmt(b, 0)}`;
}

/** The sum over `c`'s rounds of what `pick` gives (0 for a round without it). */
function total(c: MeshCase, pick: (r: MeshRound) => number | undefined): string {
  return String(c.rounds.reduce((a, r) => a + (pick(r) ?? 0), 0));
}

/**
 * A table of the cases: `cells` (given the case's summary and whether it is direct) for each
 * case that ran rounds, the error of each that did not; every row filled to the header's width.
 */
function caseTable(
  header: readonly string[],
  live: readonly MeshCase[],
  dead: readonly MeshCase[],
  cells: (c: MeshCase, m: MeshSummary, isDirect: boolean) => string[],
): string {
  const rows = [
    ...live.map((c) => cells(c, c.summary ?? {}, c.name === "direct")),
    ...dead.map((c) => errorRow(c.name, c.error, 2)),
  ];
  return markdownTable(
    header,
    rows.map((row) => [...row, ...Array<string>(header.length - row.length).fill("")]),
  );
}

/** The mode's report as Markdown. */
export function renderMeshMarkdown(rep: MeshReport): string {
  const out: string[] = [];
  const s = rep.settings;
  out.push(...reportHead(`l5d-ts whole-mesh benchmark (${rep.mode}), ${rep.startedAt}`, rep));
  out.push("");
  out.push(`Settings: ${settingsList(s)}.`);
  out.push("");
  out.push(
    `The tutorial's request path on two loopback "nodes" (A = ${NODE_A}, B = ${NODE_B}): client → outgoing router (A) → incoming router (A) → hello (apps/hello) → outgoing router (A) → incoming router (B) → world (apps/world), the hello call \`${HELLO_PATH}\` with an empty SvcRequest, as helloworld-client makes it. direct: client → hello → world, no proxy. The cases are measured in ${s.rounds ?? "n"} interleaved rounds (order rotated each round); tables give medians over the rounds (per-round values after them), "added" is the median of each round's difference from direct's same round. At ${s.rate ?? "the fixed"} calls/s: open loop, evenly paced (${rep.cases.some((c) => c.rounds.some((r) => r.rate?.generator === "node")) ? "the Node generator, bench/src/paced.ts" : "the C generator, bench/src/pacer.c"}), latency from send to the end of the response. Saturated: h2load -c ${s.clients ?? "?"} -m ${s.streams ?? "?"}, latencies from its --log-file. Proxy CPU: /proc utime+stime of every proxy process of the mesh (all of their processes) ÷ successful calls; apps CPU: hello's and world's, the same way.`,
  );
  const answers = Object.entries(rep.answers);
  if (answers.length > 0) {
    out.push("");
    out.push(
      `Answers checked before the load: ${answers.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("; ")}.`,
    );
  }
  out.push(...skippedLines(rep.skipped));
  const live = rep.cases.filter((c) => c.rounds.length > 0);
  const dead = rep.cases.filter((c) => c.rounds.length === 0);
  out.push("");
  out.push(`## At ${s.rate ?? "the fixed rate of"} calls/s`);
  out.push("");
  out.push(
    caseTable(
      [
        "case",
        "p50 / p99 / p99.9 (µs)",
        "p99 per round (µs)",
        "added vs direct p50 / p99 (µs)",
        "proxy CPU µs/call",
        "per round",
        "µs/call per hop",
        "apps CPU µs/call",
        "achieved calls/s",
        "failed",
      ],
      live,
      dead,
      (c, m, isDirect) => [
        c.name,
        `${fmt(m.rateP50, 0)} / ${fmt(m.rateP99, 0)} / ${fmt(m.rateP999, 0)}`,
        perRound(c, (r) => r.rate?.p99),
        isDirect ? "—" : pair(m.rateAddedP50, m.rateAddedP99),
        isDirect ? "—" : fmt(m.rateCpuUsPerCall),
        isDirect ? "—" : perRound(c, (r) => r.rate?.proxyCpuUsPerCall, 1),
        isDirect ? "—" : fmt((m.rateCpuUsPerCall ?? Number.NaN) / Math.max(1, c.hops)),
        fmt(m.rateAppsCpuUsPerCall),
        c.rounds
          .map((r) =>
            r.rate === undefined
              ? "n/a"
              : `${fmt(Math.round(r.rate.achievedRps), 0)}${r.rate.achievedRps < 0.95 * r.rate.targetRps ? " (overloaded)" : ""}`,
          )
          .join(" / "),
        total(c, (r) => r.rate?.failed),
      ],
    ),
  );
  if (
    live.some((c) => c.rounds.some((r) => r.rate && r.rate.achievedRps < 0.95 * r.rate.targetRps))
  )
    out.push(
      "",
      "(overloaded): that round's path did not keep up with the rate (under 95 % of it); its latencies are mostly queueing.",
    );
  out.push("");
  out.push("## Saturated");
  out.push("");
  const direct = live.find((c) => c.name === "direct")?.summary;
  out.push(
    caseTable(
      [
        "case",
        "calls/s",
        "per round",
        "÷ direct",
        "p50 / p99 (µs)",
        "added vs direct p50 / p99 (µs)",
        "proxy CPU µs/call",
        "per round",
        "apps CPU µs/call",
        "failed",
      ],
      live,
      dead,
      (c, m, isDirect) => [
        c.name,
        fmt(m.satCallsPerS, 0),
        perRound(c, (r) => r.saturated?.callsPerS),
        fmtRatio(ratio(m.satCallsPerS, direct?.satCallsPerS)),
        pair(m.satP50, m.satP99),
        isDirect ? "—" : pair(m.satAddedP50, m.satAddedP99),
        isDirect ? "—" : fmt(m.satCpuUsPerCall),
        isDirect ? "—" : perRound(c, (r) => r.saturated?.proxyCpuUsPerCall, 1),
        fmt(m.satAppsCpuUsPerCall),
        total(c, (r) => r.saturated?.failed),
      ],
    ),
  );
  const l = live.find((c) => c.name === "l5d")?.summary;
  const n = live.find((c) => c.name === "nghttpx")?.summary;
  if (l !== undefined && n !== undefined) {
    out.push("");
    out.push("## l5d ÷ nghttpx, same run");
    out.push("");
    const row = (
      what: string,
      a: number | undefined,
      b: number | undefined,
      d = 0,
      r = ratio,
    ): string[] => [what, fmt(a, d), fmt(b, d), fmtRatio(r(a, b))];
    out.push(
      markdownTable(
        ["metric", "l5d", "nghttpx", "l5d ÷ nghttpx"],
        [
          row(`p50 added @${s.rate ?? "?"}/s (µs)`, l.rateAddedP50, n.rateAddedP50, 0, addedRatio),
          row(`p99 added @${s.rate ?? "?"}/s (µs)`, l.rateAddedP99, n.rateAddedP99, 0, addedRatio),
          row(`proxy CPU µs/call @${s.rate ?? "?"}/s`, l.rateCpuUsPerCall, n.rateCpuUsPerCall, 1),
          row("calls/s saturated", l.satCallsPerS, n.satCallsPerS),
          row("p50 saturated (µs)", l.satP50, n.satP50),
          row("p99 saturated (µs)", l.satP99, n.satP99),
          row("proxy CPU µs/call saturated", l.satCpuUsPerCall, n.satCpuUsPerCall, 1),
        ],
      ),
    );
  }
  const errs = rep.cases.flatMap((c) =>
    c.rounds
      .filter((r) => r.error)
      .map((r) => `- ${c.name} round ${r.round + 1}: ${oneLine(r.error ?? "", 300)}`),
  );
  if (errs.length > 0) {
    out.push("");
    out.push("Failed phases (not in the medians):");
    out.push(...errs);
  }
  out.push("");
  out.push("Cases:");
  for (const c of rep.cases)
    out.push(
      `- ${c.name}: ${c.label}${c.proxies.length > 0 ? ` (CPU of: ${c.proxies.join(", ")}${c.proxyRssKb !== undefined ? `; RSS after the load ${fmt(c.proxyRssKb / 1024)} MiB` : ""})` : ""}`,
    );
  out.push("");
  return out.join("\n");
}
