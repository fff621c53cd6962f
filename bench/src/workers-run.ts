// `bench --workers` (issue #17 item 6): one hop, unary gRPC, saturated, through l5d with
// `workers: 1` and `2` and nghttpx with `--workers=1` and `2`, and direct, in interleaved rounds.
// See workers.ts for the phases, the accounting and the report.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GRPC_HEADERS, startBackend, UNARY_PATH } from "./backends.js";
import type { BenchOptions } from "./cli.js";
import { grpcFrame, probe } from "./grpc.js";
import { roundOrder } from "./http1.js";
import { describeMachine } from "./machine.js";
import { l5d, nghttpx, type ProxyKind, startChain } from "./peers.js";
import {
  type ProcSample,
  parseStat,
  processTree,
  sampleProcess,
  sampleTreeProcesses,
} from "./proc.js";
import {
  availableKinds,
  beginRun,
  loadAvgSince,
  runSettings,
  setUpRun,
  startSupervisor,
  writeResults,
} from "./run-setup.js";
import {
  type LoadContext,
  type Phases,
  type RequestSpec,
  rssNow,
  rssResult,
  saturated,
  warmup,
} from "./runner.js";
import type { Child } from "./supervisor.js";
import type { ToolName } from "./tools.js";
import {
  busyCores,
  type CpuTimes,
  expectedProcesses,
  parseCpuTimes,
  parseReapedChildTicks,
  processCores,
  processList,
  renderWorkersMarkdown,
  summarizeWorkersCase,
  threadCores,
  WORKERS_CASES,
  type WorkersCase,
  type WorkersReport,
  type WorkersRound,
  workersLines,
  workersLoadSeconds,
  workersPhases,
} from "./workers.js";

const READY_MS = 15_000;

/** A case being measured. */
interface Live {
  result: WorkersCase;
  port: number;
  /** the proxy (one root process; its workers are its descendants); none for direct. */
  children: Child[];
  idleKb: number;
  dead: boolean;
}

function readCpuTimes(): CpuTimes | undefined {
  try {
    return parseCpuTimes(readFileSync("/proc/stat", "utf8"));
  } catch {
    return undefined;
  }
}

/** This process's own CPU ticks and its reaped children's (h2load's, once it has exited). */
function readSelfTicks(): { own: number; reaped: number } | undefined {
  try {
    const text = readFileSync("/proc/self/stat", "utf8");
    return { own: parseStat(text).ticks, reaped: parseReapedChildTicks(text) };
  } catch {
    return undefined;
  }
}

/** The threads of `pid` (/proc/<pid>/task/*), each as a sample whose pid is its tid. */
function sampleThreads(pid: number): ProcSample[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`).slice(0, 1000);
  } catch {
    return [];
  }
  return tids.flatMap((tid) => {
    try {
      const st = parseStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"));
      return [{ pid: Number(tid), ppid: st.ppid, ticks: st.ticks, rssKb: 0, hwmKb: 0 }];
    } catch {
      return [];
    }
  });
}

/** The threads of each process of `procs`, by pid. */
function sampleAllThreads(procs: readonly ProcSample[]): Map<number, ProcSample[]> {
  return new Map(procs.map((p) => [p.pid, sampleThreads(p.pid)]));
}

/**
 * Waits (bounded: `timeoutMs`, 100 ms polls) until the tree rooted at `child` has `n` processes
 * (l5d's cluster workers are forked after its first process listens); returns how many it has.
 */
async function waitForProcesses(child: Child, n: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let have = processTree(child.pid).length;
  for (let i = 0; i < 1000 && have < n && Date.now() < deadline; i++) {
    if (child.hasExited()) throw new Error(`${child.name} exited: ${child.output().slice(-600)}`);
    await new Promise((r) => setTimeout(r, 100));
    have = processTree(child.pid).length;
  }
  if (have < n)
    throw new Error(
      `${child.name}: ${have} process(es) after ${timeoutMs} ms, expected ${n}: ${child.output().slice(-600)}`,
    );
  return have;
}

/** Runs the workers mode; returns the process exit code. */
export async function mainWorkers(
  opts: BenchOptions,
  log: (line: string) => void,
): Promise<number> {
  const { repoRoot, startedAt, loadStart } = beginRun(log);
  const { sup, rundir } = startSupervisor("l5d-bench-workers-");
  const p = workersPhases(opts.quick, opts.scale);
  const skipped: WorkersReport["skipped"] = [];
  const live: Live[] = [];
  const machine = describeMachine();
  try {
    const wanted: ToolName[] = ["h2load", "nghttpx"];
    const setup = setUpRun(opts, wanted, { sup, rundir, repoRoot, log }, "l5d writes CPU profiles");
    if (setup === undefined) return 1;
    const { ctx, outDir } = setup;
    const versions: Record<string, string> = {
      h2load: setup.h2loadVersion,
      backend: `bench/backend.mjs (node ${process.version})`,
    };
    const kinds = availableKinds([l5d, nghttpx], ctx, versions, skipped, log, "bench: workers:");
    const kindOf = (name: string): ProxyKind | undefined => kinds.find((k) => k.name === name);

    const body = grpcFrame(new Uint8Array(0));
    const dataFile = join(rundir, "empty.grpc");
    writeFileSync(dataFile, body);
    const request: RequestSpec = { path: UNARY_PATH, dataFile, headers: GRPC_HEADERS };

    const backend = await startBackend(sup, repoRoot, "node", undefined);
    await probe(backend.port, UNARY_PATH, body, 1);
    log(
      `bench: workers: ${machine.cores} cores (${machine.cpuModel}); backend on :${backend.port}`,
    );

    for (const spec of WORKERS_CASES) {
      const result: WorkersCase = { ...spec, rounds: [] };
      if (spec.proxy === "direct") {
        live.push({ result, port: backend.port, children: [], idleKb: 0, dead: false });
        continue;
      }
      const entry: Live = { result, port: 0, children: [], idleKb: 0, dead: false };
      live.push(entry);
      const t0 = Date.now();
      try {
        const kind = kindOf(spec.proxy);
        if (kind === undefined) throw new Error(`${spec.proxy} unavailable (see skipped)`);
        const chain = await startChain(ctx, kind, 1, backend.port, { workers: spec.workers });
        entry.children = chain.children;
        entry.port = chain.entryPort;
        const root = chain.children[0] as Child;
        result.processCount = await waitForProcesses(
          root,
          expectedProcesses(spec.proxy, spec.workers),
          READY_MS,
        );
        await probe(entry.port, UNARY_PATH, body, 1);
        entry.idleKb = rssNow([root.pid]).rssKb;
        log(
          `bench: workers: ${spec.name} up on :${entry.port} in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${result.processCount} process(es), the unary call answered`,
        );
      } catch (err) {
        const msg = (err as Error).message;
        result.error = msg;
        entry.dead = true;
        for (const ch of entry.children) await sup.stop(ch);
        log(`bench: workers: ${spec.name}: ERROR ${msg.slice(0, 400)}`);
      }
    }

    // the budget starts once everything is up (an apt-get install is a one-off)
    const running = live.filter((c) => !c.dead).length;
    const expectS = workersLoadSeconds(p, running);
    const deadline = Date.now() + Math.max(opts.quick ? 45 : 150, expectS * 1.4) * 1000;
    log(
      `bench: workers: ${running} cases × ${p.rounds} round(s) (h2load -c ${p.clients} -m ${p.streams}, ${p.firstWarmupS} s warm-up in round 1, ${p.warmupS} s later, + ${p.saturatedS} s saturated), ~${Math.round(expectS)} s of load`,
    );
    const phases = (warmupS: number): Phases => ({
      warmupS,
      saturatedS: p.saturatedS,
      rateS: 0,
      serialS: 0,
      satClients: p.clients,
      satStreams: p.streams,
      rateTotal: 0,
      rateClients: 1,
    });
    const shape = { clients: p.clients, streams: p.streams };
    for (let r = 0; r < p.rounds; r++) {
      const ph = phases(r === 0 ? p.firstWarmupS : p.warmupS);
      for (const c of roundOrder(live, r)) {
        if (c.dead) continue;
        const what = `workers round ${r + 1}/${p.rounds}: ${c.result.name}`;
        if (Date.now() + (ph.warmupS + ph.saturatedS + 2) * 1000 > deadline) {
          skipped.push({ what, reason: "time budget used up" });
          log(`bench: ${what}: skipped, time budget used up`);
          continue;
        }
        const exited = [...c.children, backend.child].find((ch) => ch.hasExited());
        if (exited) {
          c.dead = true;
          c.result.error ??= `${exited.name} exited: ${exited.output().slice(-300)}`;
          log(`bench: ${what}: ERROR ${exited.name} exited`);
          continue;
        }
        const root = c.children[0];
        const lctx: LoadContext = {
          sup,
          h2load: setup.h2loadPath,
          rundir,
          proxyPids: c.children.map((ch) => ch.pid),
          backendPid: backend.child.pid,
          hops: c.children.length,
          port: c.port,
        };
        try {
          await warmup(lctx, request, ph);
          // the machine's, the backend's and each proxy process's CPU over the saturated run
          const m0 = readCpuTimes();
          const self0 = readSelfTicks();
          const b0 = sampleProcess(backend.child.pid);
          const p0: ProcSample[] = root ? sampleTreeProcesses(root.pid) : [];
          const th0 = sampleAllThreads(p0);
          const t0 = process.hrtime.bigint();
          const s = await saturated(lctx, request, ph, shape);
          const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
          const m1 = readCpuTimes();
          const self1 = readSelfTicks();
          const b1 = sampleProcess(backend.child.pid);
          const round: WorkersRound = { ...s, round: r };
          if (m0 && m1) {
            const busy = busyCores(m0, m1, machine.cores);
            if (busy !== undefined) round.machineBusyCores = busy;
          }
          if (b0 && b1 && wallS > 0) round.backendCores = (b1.ticks - b0.ticks) / 100 / wallS;
          if (self0 && self1 && wallS > 0) {
            round.loadCores = (self1.reaped - self0.reaped) / 100 / wallS;
            const harness = (self1.own - self0.own) / 100 / wallS;
            if (round.machineBusyCores !== undefined && round.backendCores !== undefined)
              round.otherCores = Math.max(
                0,
                round.machineBusyCores -
                  round.backendCores -
                  round.loadCores -
                  harness -
                  (s.proxyCores ?? 0),
              );
          }
          if (root) {
            const p1 = sampleTreeProcesses(root.pid);
            const th1 = sampleAllThreads(p1);
            round.processes = processCores(p0, p1, root.pid, wallS).processes.map((x) => ({
              ...x,
              threads: threadCores(th0.get(x.pid) ?? [], th1.get(x.pid) ?? [], wallS),
            }));
          }
          c.result.rounds.push(round);
          log(
            `bench: ${what}: ${s.reqPerS.toFixed(0)} req/s, proxy ${s.proxyCpuUsPerReq?.toFixed(1) ?? "-"} µs/req (${processList(round)} cores), backend ${round.backendCores?.toFixed(2) ?? "-"} cores, h2load ${round.loadCores?.toFixed(2) ?? "-"}, other work ${round.otherCores?.toFixed(2) ?? "-"}, machine ${round.machineBusyCores?.toFixed(2) ?? "-"}/${machine.cores}${s.failed > 0 ? `, ${s.failed} failed` : ""}${s.non2xx ? `, ${s.non2xx} non-2xx` : ""}`,
          );
        } catch (err) {
          const msg = (err as Error).message;
          c.result.error ??= `round ${r + 1}: ${msg}`;
          log(`bench: ${what}: ERROR ${msg.slice(0, 300)}`);
        }
      }
    }
    for (const c of live)
      if (c.children.length > 0 && c.result.rounds.length > 0)
        c.result.rss = rssResult(
          c.idleKb,
          c.children.map((ch) => ch.pid),
        );
    await sup.stopAll();

    const finishedAt = new Date();
    const cases = live.map((c) => summarizeWorkersCase(c.result));
    const report: WorkersReport = {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      mode: opts.quick ? "workers-quick" : "workers",
      machine,
      loadAvg: loadAvgSince(loadStart),
      versions,
      skipped,
      settings: runSettings(p, opts),
      durationS: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      cases,
    };
    writeResults(
      { outDir, startedAt, tag: `-${report.mode}` },
      report,
      renderWorkersMarkdown(report),
      ` (${report.durationS?.toFixed(0)} s)`,
    );
    for (const line of workersLines(cases, machine.cores)) process.stdout.write(`${line}\n`);
    return 0;
  } finally {
    await sup.stopAll();
    rmSync(rundir, { recursive: true, force: true });
  }
}
