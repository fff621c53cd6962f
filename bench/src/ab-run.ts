// `bench --ab=<other checkout> [--hops=1|2]`: this checkout's l5d against another build of it,
// both under the same saturated unary load at the same time, round after round (see ab.ts).
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type AbRound, abPhases, abRoundLine, abSummaryLine, summarizeAb } from "./ab.js";
import { GRPC_HEADERS, startBackend, UNARY_PATH } from "./backends.js";
import type { BenchOptions } from "./cli.js";
import { grpcFrame, probe } from "./grpc.js";
import { l5dEntry } from "./l5d-flags.js";
import { l5d, startChain } from "./peers.js";
import { cpuUsPerRequest, sampleTrees } from "./proc.js";
import { beginRun, setUpRun, startSupervisor } from "./run-setup.js";
import { runH2load } from "./runner.js";

/** Runs the A/B mode; returns the process exit code. */
export async function mainAb(opts: BenchOptions, log: (line: string) => void): Promise<number> {
  const { repoRoot } = beginRun(log);
  const other = resolve(opts.ab as string);
  const hops = opts.hops ?? 1;
  const { sup, rundir } = startSupervisor("l5d-bench-ab-");
  const p = abPhases(opts.quick, opts.scale);
  try {
    const setup = setUpRun(
      opts,
      ["h2load"],
      { sup, rundir, repoRoot, log },
      "l5d writes CPU profiles",
    );
    if (setup === undefined) return 1;
    const { ctx } = setup;
    const otherCtx = { ...ctx, repoRoot: other };
    for (const [what, c] of [
      ["this checkout", ctx],
      ["the other build", otherCtx],
    ] as const) {
      const a = l5d.available(c);
      if (!a.ok) {
        log(`bench: ab: ${what} (${c.repoRoot}): ${a.reason}`);
        return 1;
      }
    }
    log(`bench: ab: this ${l5dEntry(repoRoot)}, other ${l5dEntry(other)}; ${hops} hop(s) each`);
    const body = grpcFrame(new Uint8Array(0));
    const dataFile = join(rundir, "empty.grpc");
    writeFileSync(dataFile, body);
    const backend = await startBackend(sup, repoRoot, "node", undefined);
    await probe(backend.port, UNARY_PATH, body, 1);
    const base = await startChain(ctx, l5d, hops, backend.port);
    const otherChain = await startChain(otherCtx, l5d, hops, backend.port);
    const chains = [base, otherChain] as const;
    for (const c of chains) await probe(c.entryPort, UNARY_PATH, body, 1);
    const load = (port: number, durationS: number) =>
      runH2load(sup, setup.h2loadPath, {
        url: `http://127.0.0.1:${port}${UNARY_PATH}`,
        dataFile,
        headers: GRPC_HEADERS,
        clients: p.clients,
        streams: p.streams,
        durationS,
      });
    for (const c of chains) await load(c.entryPort, p.warmupS);
    const rounds: AbRound[] = [];
    for (let r = 0; r < p.rounds; r++) {
      const pids = chains.map((c) => c.children.map((ch) => ch.pid));
      const before = pids.map((ps) => sampleTrees(ps).ticks);
      const [b, o] = await Promise.all(chains.map((c) => load(c.entryPort, p.saturatedS)));
      const after = pids.map((ps) => sampleTrees(ps).ticks);
      const baseCpu = cpuUsPerRequest((after[0] ?? 0) - (before[0] ?? 0), b?.succeeded ?? 0);
      const otherCpu = cpuUsPerRequest((after[1] ?? 0) - (before[1] ?? 0), o?.succeeded ?? 0);
      if (b === undefined || o === undefined || baseCpu === undefined || otherCpu === undefined) {
        log(`bench: ab: round ${r + 1}: no request succeeded on one side, not counted`);
        continue;
      }
      const round: AbRound = {
        baseCpuUsPerReq: baseCpu,
        otherCpuUsPerReq: otherCpu,
        baseReqPerS: b.reqPerS,
        otherReqPerS: o.reqPerS,
      };
      rounds.push(round);
      log(abRoundLine(r, round));
    }
    const s = summarizeAb(rounds);
    if (s === undefined) {
      log("bench: ab: no round counted");
      return 1;
    }
    process.stdout.write(`${abSummaryLine(s, hops)}\n`);
    return 0;
  } finally {
    await sup.stopAll();
    if (existsSync(rundir)) rmSync(rundir, { recursive: true, force: true });
  }
}
