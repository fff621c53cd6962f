/**
 * What every bench mode does before its load (gRPC `main`, `--http1`): the tools found or
 * installed (h2load required), where results go, the proxies' start context (with `--cpu-prof`
 * its node flags), and which of the wanted proxies can run here.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BenchOptions } from "./cli.js";
import type { ProxyKind, StartContext } from "./peers.js";
import type { Supervisor } from "./supervisor.js";
import { lookupTools, type ToolName } from "./tools.js";

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
