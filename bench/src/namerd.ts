// The namerd mode (`bench --namerd`): its counts, the configs and dtabs it feeds namerd and the
// linkers, the aggregation of what it measured, its report and summary lines. Pure; the run
// itself is in namerd-run.ts and the files it calls (namerd-bind, -propagation, -memory).
import {
  fmt,
  fmtRatio,
  markdownTable,
  oneLine,
  ratio,
  reportHead,
  skippedLines,
} from "./report.js";
import type { ReportBase } from "./results.js";
import { type Percentiles, percentiles } from "./stats.js";

/** How much the namerd mode does. Every loop is bounded by these counts and by `budgetS`. */
export interface NamerdPhases {
  /** distinct names (one io.l5d.fs file each) bound once cold, then `warmPasses` more times. */
  bindNames: number;
  warmPasses: number;
  /** binds through l5d's `io.l5d.namerd.http` client (each one a new watch stream). */
  clientBinds: number;
  /** how many linkers follow one dtab, one case each, started incrementally. */
  linkerCounts: number[];
  /** PUTs per linker count. */
  puts: number;
  /** pause between two probes of one linker while waiting for the new dtab, ms. */
  probeIntervalMs: number;
  /** a linker that has not switched this long after the PUT counts as failed, ms. */
  switchTimeoutMs: number;
  /** the memory case: namespaces created through the HTTP API, dentries in each, watches opened. */
  namespaces: number;
  dentries: number;
  watches: number;
  /** the whole run's time budget, seconds (a step that would start after it is skipped). */
  budgetS: number;
}

/** The counts of `--namerd` and `--namerd --quick`. */
export function namerdPhases(quick: boolean): NamerdPhases {
  return quick
    ? {
        bindNames: 200,
        warmPasses: 1,
        clientBinds: 50,
        linkerCounts: [1, 5],
        puts: 3,
        probeIntervalMs: 1,
        switchTimeoutMs: 10_000,
        namespaces: 100,
        dentries: 100,
        watches: 100,
        budgetS: 120,
      }
    : {
        bindNames: 1000,
        warmPasses: 2,
        clientBinds: 200,
        linkerCounts: [1, 5, 20],
        puts: 11,
        probeIntervalMs: 1,
        switchTimeoutMs: 10_000,
        namespaces: 1000,
        dentries: 100,
        watches: 1000,
        budgetS: 300,
      };
}

/** The io.l5d.fs file (service) name of the i-th name: `svc0042`. */
export function serviceName(i: number): string {
  return `svc${String(i).padStart(4, "0")}`;
}

/** The namespace the bind-latency case binds in: every /svc name straight to its fs file. */
export const BIND_NAMESPACE = "bench";
export const BIND_DTAB = "/svc => /#/io.l5d.fs ;";

/** The namespace the linkers route by in the propagation case. */
export const PROPAGATION_NAMESPACE = "prop";
/** The :authority the probes send: the linkers' `io.l5d.header.token` makes it `/svc/target`. */
export const PROPAGATION_AUTHORITY = "target";

/** The propagation case's dtab: `/svc/target` to one of the two backends' fs files. */
export function propagationDtab(backend: string): string {
  return `/svc => /#/io.l5d.fs ; /svc/${PROPAGATION_AUTHORITY} => /#/io.l5d.fs/backend-${backend} ;`;
}

/** The memory case's namespace name for index i: `ns0042`. */
export function memoryNamespace(i: number): string {
  return `ns${String(i).padStart(4, "0")}`;
}

/**
 * The dtab of the memory case's namespace i: `dentries` dentries `/svc/app<j> => /#/io.l5d.fs/svc<k>`,
 * k spread over `files` fs files and different in every namespace (no two dtabs alike, as
 * per-team namespaces are), written as namerctl would send it.
 */
export function memoryDtab(i: number, dentries: number, files: number): string {
  const lines: string[] = [];
  for (let j = 0; j < dentries; j++)
    lines.push(`/svc/app${j} => /#/io.l5d.fs/${serviceName((i * dentries + j) % files)} ;`);
  return `${lines.join("\n")}\n`;
}

/** The name the memory case's watch on namespace i binds (one of that namespace's dentries). */
export function memoryWatchPath(i: number, dentries: number): string {
  return `/svc/app${i % dentries}`;
}

/** namerd's config: in-memory storage seeded with `namespaces`, io.l5d.fs over `rootDir`. */
export function namerdYaml(o: {
  adminPort: number;
  port: number;
  rootDir: string;
  namespaces: Readonly<Record<string, string>>;
}): string {
  const ns = Object.entries(o.namespaces);
  return `admin: {ip: 127.0.0.1, port: ${o.adminPort}}
storage:
  kind: io.l5d.inMemory
${ns.length === 0 ? "  namespaces: {}" : `  namespaces:\n${ns.map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join("\n")}`}
namers:
- kind: io.l5d.fs
  rootDir: ${JSON.stringify(o.rootDir)}
interfaces:
- kind: io.l5d.httpController
  ip: 127.0.0.1
  port: ${o.port}
`;
}

/** One linker of the propagation case: an h2 router whose names namerd binds. */
export function linkerYaml(o: {
  name: string;
  adminPort: number;
  routerPort: number;
  namerdPort: number;
  namespace: string;
}): string {
  return `# ${o.name}
admin: {ip: 127.0.0.1, port: ${o.adminPort}}
routers:
- protocol: h2
  label: bench
  experimental: true
  identifier: {kind: io.l5d.header.token}
  interpreter:
    kind: io.l5d.namerd.http
    experimental: true
    dst: /$/inet/127.0.0.1/${o.namerdPort}
    namespace: ${o.namespace}
    retry: {baseSeconds: 0.05, maxSeconds: 0.5}
  servers: [{port: ${o.routerPort}, ip: 127.0.0.1}]
`;
}

/** What ran a set of binds, for the report. */
export type BindVia = "namerd" | "in-process" | "namerd-client";

/** One set of binds: latencies in µs. */
export interface BindCase {
  via: BindVia;
  pass: "cold" | "warm";
  label: string;
  latency?: Percentiles;
  error?: string;
}

/** One PUT of the propagation case. */
export interface PropagationPut {
  /** the backend the PUT routes to. */
  target: string;
  /** PUT round trip, ms. */
  putMs: number;
  /**
   * per linker, ms from the PUT being sent to the first answer from `target` through it;
   * null when it did not come within the switch timeout.
   */
  linkerMs: (number | null)[];
  /** probes that failed (no answer, non-200) while waiting: should be 0. */
  failedProbes: number;
  probes: number;
}

/** The propagation case for one linker count. */
export interface PropagationCase {
  linkers: number;
  puts: PropagationPut[];
  /** over the PUTs: the time to the LAST linker routing by the new dtab, ms. */
  lastP50Ms?: number;
  lastMaxMs?: number;
  /** over every (PUT, linker): the time to that linker, ms. */
  eachP50Ms?: number;
  /**
   * p50 round trip of one probe through a linker with no change under way, ms: the
   * resolution of the times above.
   */
  probeRttP50Ms?: number;
  error?: string;
}

/** One memory sample of the namerd process. */
export interface MemorySample {
  label: string;
  /** VmRSS and VmHWM from /proc, KiB (after a full GC). */
  rssKb: number;
  hwmKb: number;
  /** process.memoryUsage() inside namerd after two full GCs, bytes. */
  heapUsed: number;
  heapTotal: number;
  external: number;
}

/** The memory case. */
export interface MemoryResult {
  namespaces: number;
  dentries: number;
  watches: number;
  samples: MemorySample[];
  /** wall time to create every namespace through the HTTP API, ms. */
  createMs?: number;
  /** wall time until every watch had its first answer, ms. */
  watchOpenMs?: number;
  error?: string;
}

/** The namerd mode's run, as written to bench/results/<timestamp>-namerd.json. */
export interface NamerdReport extends ReportBase {
  mode: "namerd" | "namerd-quick";
  settings: NamerdPhases;
  bind: BindCase[];
  propagation: PropagationCase[];
  memory?: MemoryResult;
}

/** Median of the nearest-rank kind (as stats.ts), undefined for none. */
function p50(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : percentiles(values).p50;
}

/** When the last of the linkers answered from the new target; undefined if one never did. */
export function lastLinkerMs(put: PropagationPut): number | undefined {
  if (put.linkerMs.length === 0 || put.linkerMs.some((m) => m === null)) return undefined;
  return Math.max(...(put.linkerMs as number[]));
}

/** A propagation case with its summary filled in from its PUTs. */
export function summarizePropagation(c: PropagationCase): PropagationCase {
  const last = c.puts.flatMap((p) => {
    const m = lastLinkerMs(p);
    return m === undefined ? [] : [m];
  });
  const each = c.puts.flatMap((p) => p.linkerMs.filter((m): m is number => m !== null));
  const out: PropagationCase = { ...c };
  const lp = p50(last);
  if (lp !== undefined) out.lastP50Ms = lp;
  if (last.length > 0) out.lastMaxMs = Math.max(...last);
  const ep = p50(each);
  if (ep !== undefined) out.eachP50Ms = ep;
  const missed = c.puts.filter((p) => lastLinkerMs(p) === undefined).length;
  if (missed > 0 && out.error === undefined)
    out.error = `${missed} of ${c.puts.length} PUT(s) did not reach every linker in time`;
  return out;
}

function bindCase(cases: readonly BindCase[], via: BindVia, pass: "cold" | "warm") {
  return cases.find((c) => c.via === via && c.pass === pass && c.latency !== undefined);
}

/** namerd's p50 (or p99) over the in-process interpreter's, for a pass. */
export function bindRatio(
  cases: readonly BindCase[],
  pass: "cold" | "warm",
  q: "p50" | "p99" = "p50",
): number | undefined {
  return ratio(
    bindCase(cases, "namerd", pass)?.latency?.[q],
    bindCase(cases, "in-process", pass)?.latency?.[q],
  );
}

const mib = (bytesOrKb: number, unit: "B" | "KiB"): number =>
  unit === "B" ? bytesOrKb / 1048576 : bytesOrKb / 1024;

/** The bind-latency table (µs). */
export function bindTable(cases: readonly BindCase[]): string {
  const rows = cases.map((c) => [
    c.label,
    c.pass,
    c.latency ? String(c.latency.count) : "—",
    c.latency ? fmt(c.latency.p50, 0) : `error: ${oneLine(c.error ?? "?", 100)}`,
    fmt(c.latency?.p99, 0),
    fmt(c.latency?.max, 0),
    c.via === "namerd"
      ? `${fmtRatio(bindRatio(cases, c.pass))} / ${fmtRatio(bindRatio(cases, c.pass, "p99"))}`
      : "—",
  ]);
  return markdownTable(
    ["binds via", "pass", "binds", "p50 µs", "p99 µs", "max µs", "÷ in-process (p50 / p99)"],
    rows,
  );
}

/** The propagation table (ms). */
export function propagationTable(cases: readonly PropagationCase[]): string {
  const rows = cases.map((c) => {
    const failed = c.puts.reduce((s, p) => s + p.failedProbes, 0);
    const probes = c.puts.reduce((s, p) => s + p.probes, 0);
    return [
      String(c.linkers),
      String(c.puts.length),
      fmt(c.lastP50Ms, 1),
      fmt(c.lastMaxMs, 1),
      fmt(c.eachP50Ms, 1),
      c.puts.map((p) => fmt(lastLinkerMs(p), 1)).join(" / "),
      fmt(p50(c.puts.map((p) => p.putMs)), 1),
      `${failed} / ${probes}`,
      fmt(c.probeRttP50Ms, 2),
      c.error ? oneLine(c.error, 120) : "",
    ];
  });
  return markdownTable(
    [
      "linkers",
      "PUTs",
      "to last linker p50 ms",
      "to last linker max ms",
      "to each linker p50 ms",
      "to last linker, each PUT (ms)",
      "PUT round trip p50 ms",
      "failed / probes",
      "probe RTT p50 ms",
      "error",
    ],
    rows,
  );
}

/** The memory table (MiB). */
export function memoryTable(m: MemoryResult): string {
  const rows = m.samples.map((s) => [
    s.label,
    fmt(mib(s.rssKb, "KiB"), 1),
    fmt(mib(s.hwmKb, "KiB"), 1),
    fmt(mib(s.heapUsed, "B"), 1),
    fmt(mib(s.heapTotal, "B"), 1),
    fmt(mib(s.external, "B"), 1),
  ]);
  return markdownTable(
    ["namerd", "RSS MiB", "RSS peak MiB", "heap used MiB", "heap total MiB", "external MiB"],
    rows,
  );
}

/** The whole report as Markdown. */
export function renderNamerdMarkdown(rep: NamerdReport): string {
  const s = rep.settings;
  const out: string[] = [];
  out.push(...reportHead(`l5d-ts namerd benchmark (${rep.mode}), ${rep.startedAt}`, rep));
  out.push(...skippedLines(rep.skipped));
  out.push("");
  out.push("## Bind latency");
  out.push("");
  out.push(
    `${s.bindNames} distinct names (\`/svc/svcNNNN\`, one io.l5d.fs file each), bound once cold (the namer reads the file) and ${s.warmPasses} more time(s) warm, one bind at a time. namerd: \`GET /api/1/bind/${BIND_NAMESPACE}?path=…\` (non-watch) on one keep-alive connection to a namerd process, request sent → body read. in-process: the \`default\` interpreter (createDefaultInterpreter over an FsNamer on the same directory) in the bench process, bind → bound tree with its addresses. namerd-client: l5d's \`io.l5d.namerd.http\` interpreter in the bench process, bind → first tree, each bind a new \`?watch=true\` stream (what a linker does for a name it has not seen).`,
  );
  out.push("");
  out.push(bindTable(rep.bind));
  out.push("");
  out.push("## Dtab propagation");
  out.push("");
  out.push(
    `N l5d processes (the image's bundle and node flags), each an h2 router with \`io.l5d.namerd.http\` on namespace \`${PROPAGATION_NAMESPACE}\`, in front of two h2c backends a and b; \`/svc/target\` flips between them with \`PUT /api/1/dtabs/${PROPAGATION_NAMESPACE}\` (with \`If-Match\`). A linker "routes by the new dtab" when a request sent through it after the PUT is answered by the new backend: one prober per linker, one request in flight, ${s.probeIntervalMs} ms between requests, from the moment the PUT is sent. Time = PUT sent → that answer; "to last linker" is the slowest of the N for that PUT.`,
  );
  out.push("");
  out.push(propagationTable(rep.propagation));
  if (rep.memory) {
    const m = rep.memory;
    out.push("");
    out.push("## namerd memory");
    out.push("");
    out.push(
      `A fresh namerd process: ${m.namespaces} namespaces of ${m.dentries} dentries each created with \`POST /api/1/dtabs/<ns>\` (8 in flight; took ${fmt(m.createMs, 0)} ms), then ${m.watches} \`/api/1/bind/<ns>?path=…&watch=true\` streams, one per namespace, each on its own connection (all first answers in ${fmt(m.watchOpenMs, 0)} ms). Each sample after two full GCs (\`--expose-gc\`, a SIGUSR2 handler preloaded by the bench: namerd's own code is unchanged).${m.error ? ` Error: ${oneLine(m.error, 200)}` : ""}`,
    );
    out.push("");
    out.push(memoryTable(m));
  }
  out.push("");
  return out.join("\n");
}

/** The summary lines printed last. */
export function namerdLines(rep: NamerdReport): string[] {
  const lines: string[] = [];
  for (const pass of ["cold", "warm"] as const) {
    const n = bindCase(rep.bind, "namerd", pass)?.latency;
    const i = bindCase(rep.bind, "in-process", pass)?.latency;
    lines.push(
      `namerd bind (${pass}): namerd_p50_us=${fmt(n?.p50, 0)} p99_us=${fmt(n?.p99, 0)} max_us=${fmt(n?.max, 0)} in_process_p50_us=${fmt(i?.p50, 0)} p99_us=${fmt(i?.p99, 0)} max_us=${fmt(i?.max, 0)} ratio_p50=${bindRatio(rep.bind, pass)?.toFixed(2) ?? "n/a"} ratio_p99=${bindRatio(rep.bind, pass, "p99")?.toFixed(2) ?? "n/a"}`,
    );
  }
  lines.push(
    `namerd propagation (PUT → last linker routing by it): ${
      rep.propagation
        .map(
          (c) =>
            `n=${c.linkers} p50_ms=${fmt(c.lastP50Ms, 1)} max_ms=${fmt(c.lastMaxMs, 1)}${c.error ? " (error)" : ""}`,
        )
        .join("; ") || "n/a"
    }`,
  );
  const m = rep.memory;
  if (m) {
    const v = (label: string) => m.samples.find((x) => x.label.startsWith(label));
    const part = (label: string, name: string) => {
      const x = v(label);
      return x
        ? `${name}_rss_mib=${fmt(mib(x.rssKb, "KiB"), 1)} ${name}_heap_mib=${fmt(mib(x.heapUsed, "B"), 1)}`
        : `${name}=n/a`;
    };
    lines.push(
      `namerd memory (${m.namespaces} ns × ${m.dentries} dentries, ${m.watches} watches): ${part("empty", "empty")} ${part("namespaces", "ns")} ${part("watches", "watches")}`,
    );
  }
  return lines;
}
