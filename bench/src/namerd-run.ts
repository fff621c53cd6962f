// `bench --namerd`: bind latency through namerd (with the in-process `default` interpreter as
// its peer), dtab propagation from a PUT to N linkers, and namerd's memory holding many
// namespaces and watches. Loopback only; results in bench/results/<timestamp>-namerd[-quick].*
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchOptions } from "./cli.js";
import { l5dEntry } from "./l5d-flags.js";
import { describeMachine } from "./machine.js";
import {
  BIND_DTAB,
  BIND_NAMESPACE,
  type BindCase,
  type MemoryResult,
  type NamerdReport,
  namerdLines,
  namerdPhases,
  namerdYaml,
  type PropagationCase,
  renderNamerdMarkdown,
  serviceName,
} from "./namerd.js";
import { measureBinds } from "./namerd-bind.js";
import { measureMemory } from "./namerd-memory.js";
import { namerdEntry, startNamerdProcess } from "./namerd-process.js";
import { measurePropagation } from "./namerd-propagation.js";
import { beginRun, loadAvgSince, startSupervisor, writeResults } from "./run-setup.js";

/** Runs the namerd mode; returns the process exit code. */
export async function mainNamerd(opts: BenchOptions, log: (line: string) => void): Promise<number> {
  const { repoRoot, startedAt, loadStart } = beginRun(log);
  const p = namerdPhases(opts.quick);
  const deadline = Date.now() + p.budgetS * 1000;
  for (const [what, file] of [
    ["namerd", namerdEntry(repoRoot)],
    ["l5d", l5dEntry(repoRoot)],
  ] as const) {
    if (!existsSync(file)) {
      log(`bench: namerd: ${file} missing; run \`pnpm build\` (${what})`);
      return 1;
    }
  }
  const { sup, rundir } = startSupervisor("l5d-bench-namerd-");
  const skipped: NamerdReport["skipped"] = [];
  let bind: BindCase[] = [];
  let propagation: PropagationCase[] = [];
  let memory: MemoryResult | undefined;
  try {
    log(
      `bench: namerd${opts.quick ? " (quick)" : ""}: ${p.bindNames} names × ${1 + p.warmPasses} bind passes, linkers ${p.linkerCounts.join("/")} × ${p.puts} PUTs, ${p.namespaces} namespaces × ${p.dentries} dentries + ${p.watches} watches; budget ${p.budgetS} s`,
    );

    // 1. bind latency
    const bindDir = join(rundir, "bind");
    const fsDir = join(bindDir, "fs");
    mkdirSync(fsDir, { recursive: true });
    for (let i = 0; i < p.bindNames; i++)
      writeFileSync(join(fsDir, serviceName(i)), `127.0.0.1 ${20_000 + i}\n`);
    try {
      const namerd = await startNamerdProcess(
        sup,
        repoRoot,
        bindDir,
        "namerd-bind",
        (port, adminPort) =>
          namerdYaml({
            port,
            adminPort,
            rootDir: fsDir,
            namespaces: { [BIND_NAMESPACE]: BIND_DTAB },
          }),
      );
      try {
        bind = await measureBinds({ namerdPort: namerd.port, fsDir, phases: p, deadline, log });
      } finally {
        await sup.stop(namerd.child);
      }
    } catch (e) {
      skipped.push({ what: "bind latency", reason: (e as Error).message });
      log(`bench: namerd: bind latency: ERROR ${(e as Error).message.slice(0, 300)}`);
    }

    // 2. propagation
    if (Date.now() > deadline) skipped.push({ what: "propagation", reason: "time budget used up" });
    else {
      const dir = join(rundir, "propagation");
      mkdirSync(dir, { recursive: true });
      try {
        propagation = await measurePropagation({ sup, repoRoot, dir, phases: p, deadline, log });
      } catch (e) {
        skipped.push({ what: "propagation", reason: (e as Error).message });
        log(`bench: namerd: propagation: ERROR ${(e as Error).message.slice(0, 300)}`);
      }
    }

    // 3. memory (its own budget: it comes last and is bounded by its counts)
    const dir = join(rundir, "memory");
    mkdirSync(dir, { recursive: true });
    memory = await measureMemory({
      sup,
      repoRoot,
      dir,
      phases: p,
      deadline: Math.max(deadline, Date.now() + 120_000),
      log,
    });

    const report: NamerdReport = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      mode: opts.quick ? "namerd-quick" : "namerd",
      machine: describeMachine(),
      loadAvg: loadAvgSince(loadStart),
      versions: {
        node: process.version,
        namerd: "apps/namerd (this checkout)",
        l5d: "apps/l5d bundle (this checkout)",
      },
      skipped,
      settings: p,
      bind,
      propagation,
      memory,
    };
    const outDir = opts.outDir ?? join(repoRoot, "bench/results");
    writeResults(
      { outDir, startedAt, tag: `-${report.mode}` },
      report,
      renderNamerdMarkdown(report),
    );
    for (const l of namerdLines(report)) process.stdout.write(`${l}\n`);
    const failed =
      bind.length === 0 ||
      bind.some((c) => c.error !== undefined) ||
      propagation.length === 0 ||
      propagation.some((c) => c.error !== undefined) ||
      memory.error !== undefined;
    return failed ? 1 : 0;
  } finally {
    await sup.stopAll();
    rmSync(rundir, { recursive: true, force: true });
  }
}
