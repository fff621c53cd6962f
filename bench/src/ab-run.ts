// `bench --ab=<other checkout>|nghttpx [--hops=1|2] [--tls]`: this checkout's l5d against another
// build of it, or against nghttpx, both under the same saturated unary load at the same time,
// round after round (see ab.ts).
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type AbRound, abPhases, abRoundLine, abSummaryLine, summarizeAb } from "./ab.js";
import { GRPC_HEADERS, startBackend, UNARY_PATH } from "./backends.js";
import type { BenchOptions } from "./cli.js";
import { grpcFrame, probe } from "./grpc.js";
import { l5dEntry } from "./l5d-flags.js";
import {
  l5d,
  l5dTls,
  nghttpx,
  nghttpxTls,
  type ProxyKind,
  type StartContext,
  startChain,
} from "./peers.js";
import { cpuUsPerRequest, sampleTrees } from "./proc.js";
import { beginRun, setUpRun, startSupervisor } from "./run-setup.js";
import { runH2load } from "./runner.js";
import { clientTlsOf, makeBenchTls } from "./tls.js";

/** Runs the A/B mode; returns the process exit code. */
export async function mainAb(opts: BenchOptions, log: (line: string) => void): Promise<number> {
  const { repoRoot } = beginRun(log);
  const peer = opts.ab === "nghttpx";
  const other = peer ? "nghttpx" : resolve(opts.ab as string);
  const hops = opts.hops ?? 1;
  const tls = opts.tls === true;
  const { sup, rundir } = startSupervisor("l5d-bench-ab-");
  const p = abPhases(opts.quick, opts.scale);
  try {
    const wanted = peer ? (["h2load", "nghttpx"] as const) : (["h2load"] as const);
    const setup = setUpRun(opts, wanted, { sup, rundir, repoRoot, log }, "l5d writes CPU profiles");
    if (setup === undefined) return 1;
    const { ctx } = setup;
    if (tls) ctx.tls = makeBenchTls(rundir);
    const otherCtx: StartContext = peer ? ctx : { ...ctx, repoRoot: other };
    const baseKind: ProxyKind = tls ? l5dTls : l5d;
    const otherKind: ProxyKind = peer ? (tls ? nghttpxTls : nghttpx) : baseKind;
    for (const [what, k, c] of [
      [`this checkout (${repoRoot})`, baseKind, ctx],
      [peer ? "nghttpx" : `the other build (${other})`, otherKind, otherCtx],
    ] as const) {
      const a = k.available(c);
      if (!a.ok) {
        log(`bench: ab: ${what}: ${a.reason}`);
        return 1;
      }
    }
    log(
      `bench: ab: this ${l5dEntry(repoRoot)}, other ${peer ? "nghttpx" : l5dEntry(other)}; ${hops} hop(s) each${tls ? ", TLS on both sides" : ""}`,
    );
    const body = grpcFrame(new Uint8Array(0));
    const dataFile = join(rundir, "empty.grpc");
    writeFileSync(dataFile, body);
    const backend = await startBackend(sup, repoRoot, "node", ctx.tls);
    await probe(backend.port, UNARY_PATH, body, 1);
    const upstream = tls ? backend.tlsPort : backend.port;
    if (upstream === undefined) {
      log("bench: ab: the backend has no TLS port");
      return 1;
    }
    const base = await startChain(ctx, baseKind, hops, upstream);
    const otherChain = await startChain(otherCtx, otherKind, hops, upstream);
    const chains = [base, otherChain] as const;
    const probeTls = ctx.tls === undefined ? undefined : clientTlsOf(ctx.tls);
    for (const c of chains) await probe({ port: c.entryPort, tls: probeTls }, UNARY_PATH, body, 1);
    const load = (port: number, durationS: number) =>
      runH2load(sup, setup.h2loadPath, {
        url: `${tls ? "https" : "http"}://127.0.0.1:${port}${UNARY_PATH}`,
        dataFile,
        headers: GRPC_HEADERS,
        clients: p.clients,
        streams: p.streams,
        durationS,
      });
    // warmed up together, as they are measured (JITs, pools, GC heaps sized for this load)
    await Promise.all(chains.map((c) => load(c.entryPort, p.warmupS)));
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
    process.stdout.write(`${abSummaryLine(s, other, hops, tls)}\n`);
    return 0;
  } finally {
    await sup.stopAll();
    if (existsSync(rundir)) rmSync(rundir, { recursive: true, force: true });
  }
}
