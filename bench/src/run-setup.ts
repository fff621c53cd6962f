/**
 * What every bench mode does around its load (gRPC `main`, `--http1`, `--namerd`, `--mesh`): the
 * start (load average, supervisor, run directory), the tools found or installed (h2load
 * required), where results go, the proxies' start context (with `--cpu-prof` its node flags),
 * which of the wanted proxies can run here, and the results written at the end.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchOptions } from "./cli.js";
import type { ProxyKind, StartContext } from "./peers.js";
import { Supervisor } from "./supervisor.js";
import { lookupTools, type ToolName } from "./tools.js";

/** Where a run started: the checkout, the time, the 1-minute load average. */
export interface RunStart {
  readonly repoRoot: string;
  readonly startedAt: Date;
  readonly loadStart: number;
}

/** The start of a run; says so when the load average shows other work on the machine. */
export function beginRun(log: (line: string) => void): RunStart {
  const repoRoot = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const startedAt = new Date();
  const loadStart = loadavg()[0] ?? 0;
  if (loadStart > 0.5)
    log(
      `bench: load average ${loadStart.toFixed(2)}: other work is running, results will be noisy`,
    );
  return { repoRoot, startedAt, loadStart };
}

/** The report's `loadAvg`: the one at the start and the one now. */
export function loadAvgSince(start: number): { start: number; end: number } {
  return { start, end: loadavg()[0] ?? 0 };
}

/** A report's `settings`: the mode's phases, `--scale` and (when on) `--cpu-prof`. */
export function runSettings<P extends { readonly [K in keyof P]: number }>(
  phases: P,
  opts: BenchOptions,
): Record<string, number | string> {
  return { ...phases, scale: opts.scale, ...(opts.cpuProf ? { cpuProf: "on" } : {}) };
}

/**
 * A supervisor with its signal handlers installed and a fresh run directory (`prefix` + random,
 * in the system's tmpdir), removed when the process exits.
 */
export function startSupervisor(prefix: string): { sup: Supervisor; rundir: string } {
  const sup = new Supervisor();
  sup.installSignalHandlers();
  const rundir = mkdtempSync(join(tmpdir(), prefix));
  // also on SIGINT/SIGTERM, where the supervisor exits without unwinding the mode's function
  process.once("exit", () => rmSync(rundir, { recursive: true, force: true }));
  return { sup, rundir };
}

/**
 * Writes `report` (JSON) and `md` to `<outDir>/<startedAt stamp><tag>.{json,md}`, prints the
 * Markdown and the `results:` line (with `note` after it).
 */
export function writeResults(
  where: { outDir: string; startedAt: Date; tag: string },
  report: unknown,
  md: string,
  note = "",
): void {
  mkdirSync(where.outDir, { recursive: true });
  const stamp = where.startedAt.toISOString().replace(/[:.]/g, "-");
  const base = join(where.outDir, `${stamp}${where.tag}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, md);
  process.stdout.write(`${md}\n`);
  process.stdout.write(`results: ${base}.json, ${base}.md${note}\n`);
}

export interface RunSetup {
  readonly ctx: StartContext;
  readonly outDir: string;
  /** h2load's version (the other tools' are the proxies' own). */
  readonly h2loadVersion: string;
  readonly h2loadPath: string;
}

/**
 * Looks the tools up (installing them unless `--no-install`); undefined, having said why, when
 * h2load is missing. `profiled` names who writes the CPU profiles, for the log line.
 */
export function setUpRun(
  opts: BenchOptions,
  wanted: readonly ToolName[],
  env: { sup: Supervisor; rundir: string; repoRoot: string; log: (line: string) => void },
  profiled: string,
): RunSetup | undefined {
  const { sup, rundir, repoRoot, log } = env;
  const tools = lookupTools(wanted, opts.noInstall, log);
  const h2 = tools.get("h2load");
  if (!h2?.ok) {
    log(`bench: cannot run without h2load: ${h2?.reason ?? "not found"}`);
    return undefined;
  }
  const outDir = opts.outDir ?? join(repoRoot, "bench/results");
  const ctx: StartContext = { sup, rundir, repoRoot, tools };
  if (opts.cpuProf) {
    const dir = join(outDir, "cpuprofiles");
    mkdirSync(dir, { recursive: true });
    ctx.nodeArgs = ["--cpu-prof", `--cpu-prof-dir=${dir}`];
    log(`bench: ${profiled} to ${dir} (profiling inflates the CPU numbers)`);
  }
  return { ctx, outDir, h2loadVersion: h2.version, h2loadPath: h2.path };
}

/**
 * The proxies of `candidates` that can run here (their versions into `versions`); the others
 * go to `skipped`, logged with `prefix`.
 */
export function availableKinds(
  candidates: readonly ProxyKind[],
  ctx: StartContext,
  versions: Record<string, string>,
  skipped: { what: string; reason: string }[],
  log: (line: string) => void,
  prefix = "bench:",
): ProxyKind[] {
  const kinds: ProxyKind[] = [];
  for (const k of candidates) {
    const a = k.available(ctx);
    if (a.ok) {
      kinds.push(k);
      versions[k.name] = a.version;
    } else {
      skipped.push({ what: k.name, reason: a.reason });
      log(`${prefix} skipping ${k.name}: ${a.reason}`);
    }
  }
  return kinds;
}
