// `bench --mesh`: the tutorial's request path end to end (client → out(A) → in(A) → hello →
// out(A) → in(B) → world) through l5d and through nghttpx, and the same call direct
// (client → hello → world). See mesh.ts for the topology, the phases and the report.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { BenchOptions } from "./cli.js";
import { grpcCall, grpcFrame } from "./grpc.js";
import { parseH2loadLog } from "./h2load.js";
import { l5dEntry, l5dEnv, l5dNodeFlags } from "./l5d-flags.js";
import { describeMachine } from "./machine.js";
import {
  decodeSvcResponse,
  HELLO_ANSWER,
  HELLO_PATH,
  l5dMeshVars,
  type MeshCase,
  type MeshPhases,
  type MeshRateResult,
  type MeshReport,
  type MeshRound,
  type MeshSaturatedResult,
  meshCaseSeconds,
  meshDisco,
  meshLines,
  meshLoadSeconds,
  meshPhases,
  NODE_A,
  NODE_B,
  nghttpxMeshBackends,
  nghttpxMeshRoles,
  renderMeshMarkdown,
  roundOrder,
  summarizeAll,
} from "./mesh.js";
import { freePort, waitForPort } from "./net.js";
import { pacedLoad } from "./paced.js";
import { buildPacer, pacerLoad } from "./pacer.js";
import { cpuUsPerRequest, sampleTrees } from "./proc.js";
import {
  beginRun,
  loadAvgSince,
  runSettings,
  setUpRun,
  startSupervisor,
  writeResults,
} from "./run-setup.js";
import { LoadError, runH2load } from "./runner.js";
import { percentiles } from "./stats.js";
import type { Child, Supervisor } from "./supervisor.js";
import { L5D_MESH_YAML, NGHTTPX_MESH_CONF, render } from "./templates.js";

const GRPC_HEADERS = ["content-type: application/grpc", "te: trailers"];
const READY_MS = 20_000;

/** True when host:port can be bound now. */
function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A port free on both nodes' addresses (io.l5d.port sends to the same port on the other node). */
async function portFreeOnBoth(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await freePort(NODE_A);
    if (!taken.has(p) && (await canBind(NODE_B, p))) {
      taken.add(p);
      return p;
    }
  }
  throw new Error(`no port free on both ${NODE_A} and ${NODE_B} after 50 tries`);
}

/** A case being measured. */
interface Live {
  result: MeshCase;
  entryPort: number;
  proxies: Child[];
  /** hello (this case's own) and world (shared). */
  apps: Child[];
  dead: boolean;
}

/** One hello call through `port`; checks the answer. Retried (bounded) while routes come up. */
async function checkAnswer(port: number, body: Buffer, deadlineMs: number): Promise<string> {
  let last = "no attempt";
  for (let i = 0; i < 100 && Date.now() < deadlineMs; i++) {
    try {
      const r = await grpcCall(port, HELLO_PATH, body, {}, 3000);
      const msg = r.messages[0];
      if (r.status === 200 && r.grpcStatus === "0" && r.messages.length === 1 && msg) {
        const text = decodeSvcResponse(msg);
        if (text === HELLO_ANSWER) return text;
        last = `answer ${JSON.stringify(text)}, expected ${JSON.stringify(HELLO_ANSWER)}`;
      } else
        last = `HTTP ${r.status}, grpc-status ${r.grpcStatus}, ${r.messages.length} message(s)`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`hello call via :${port} failed: ${last}`);
}

/** Runs the mesh mode; returns the process exit code. */
export async function mainMesh(opts: BenchOptions, log: (line: string) => void): Promise<number> {
  const { repoRoot, startedAt, loadStart } = beginRun(log);
  const { sup, rundir } = startSupervisor("l5d-bench-mesh-");
  const p: MeshPhases = meshPhases(opts.quick, opts.scale);
  const skipped: MeshReport["skipped"] = [];
  const answers: MeshReport["answers"] = {};
  const live: Live[] = [];
  try {
    const setup = setUpRun(
      opts,
      ["h2load", "nghttpx"],
      { sup, rundir, repoRoot, log },
      "l5d writes CPU profiles",
    );
    if (setup === undefined) return 1;
    const { ctx, outDir } = setup;
    const versions: Record<string, string> = {
      h2load: setup.h2loadVersion,
      apps: `apps/hello, apps/world (node ${process.version})`,
    };
    const helloMain = join(repoRoot, "apps/hello/dist/main.js");
    const worldMain = join(repoRoot, "apps/world/dist/main.js");
    const l5dMain = l5dEntry(repoRoot);
    for (const f of [helloMain, worldMain]) {
      if (!existsSync(f)) {
        log(`bench: mesh: ${f} not built (pnpm build)`);
        return 1;
      }
    }
    if (!(await canBind(NODE_B, 0))) {
      log(`bench: mesh: cannot bind ${NODE_B} (node B); Linux binds all of 127.0.0.0/8`);
      return 1;
    }
    const pacerBuild = buildPacer(rundir);
    const pacer = "path" in pacerBuild ? pacerBuild.path : undefined;
    if ("reason" in pacerBuild)
      log(`bench: C paced generator unavailable (${pacerBuild.reason}); using the Node one`);

    const body = grpcFrame(new Uint8Array(0));
    const dataFile = join(rundir, "empty.grpc");
    writeFileSync(dataFile, body);
    const taken = new Set<number>();
    const appEnv = { ...process.env, LOG_LEVEL: "warn" };
    const startHello = async (
      name: string,
      target: string,
    ): Promise<{ child: Child; port: number }> => {
      const port = await portFreeOnBoth(taken);
      // hello-world-grpc.yml: -addr=:7777 -text=Hello -target=$NODE_NAME:4140 -protocol=grpc
      const child = sup.spawn(
        name,
        process.execPath,
        [
          helloMain,
          `-addr=${NODE_A}:${port}`,
          "-text=Hello",
          `-target=${target}`,
          "-protocol=grpc",
        ],
        { env: appEnv },
      );
      await waitForPort(port, READY_MS, child, NODE_A);
      return { child, port };
    };

    // world (node B), shared by the cases: world-v1's -addr=:7778 -protocol=grpc, TARGET_WORLD=world
    const worldPort = await portFreeOnBoth(taken);
    const world = sup.spawn(
      "world",
      process.execPath,
      [worldMain, `-addr=${NODE_B}:${worldPort}`, "-protocol=grpc"],
      { env: { ...appEnv, TARGET_WORLD: "world" } },
    );
    await waitForPort(worldPort, READY_MS, world, NODE_B);

    const t0 = Date.now();
    // direct: client → hello → world
    {
      const result: MeshCase = {
        name: "direct",
        label: `client → hello (${NODE_A}) → world (${NODE_B}), no proxy`,
        proxies: [],
        hops: 0,
        rounds: [],
      };
      try {
        const hello = await startHello("hello-direct", `${NODE_B}:${worldPort}`);
        live.push({
          result,
          entryPort: hello.port,
          proxies: [],
          apps: [hello.child, world],
          dead: false,
        });
      } catch (err) {
        result.error = (err as Error).message;
        live.push({ result, entryPort: 0, proxies: [], apps: [], dead: true });
      }
    }
    // l5d: one process per node, the tutorial's config with io.l5d.fs
    {
      const result: MeshCase = {
        name: "l5d",
        label:
          "l5d per node (outgoing + incoming h2 routers): linkerd-grpc.yaml's dtab, io.l5d.header.path segments 1, prometheus + recentRequests 0.25; io.l5d.fs with io.l5d.port / io.l5d.specificHost for the daemonset / localnode transformers",
        proxies: [`l5d node A (${NODE_A})`, `l5d node B (${NODE_B})`],
        hops: 4,
        rounds: [],
      };
      const entry: Live = { result, entryPort: 0, proxies: [], apps: [], dead: false };
      live.push(entry);
      try {
        if (!existsSync(l5dMain)) throw new Error(`${l5dMain} not built (pnpm build)`);
        versions.l5d = `l5d-ts (node ${process.version})`;
        const ports = {
          outgoing: await portFreeOnBoth(taken),
          incoming: await portFreeOnBoth(taken),
          admin: await portFreeOnBoth(taken),
        };
        const hello = await startHello("hello-l5d", `${NODE_A}:${ports.outgoing}`);
        const disco = join(rundir, "l5d-disco");
        mkdirSync(disco, { recursive: true });
        for (const [f, text] of Object.entries(
          meshDisco([NODE_A, hello.port], [NODE_B, worldPort]),
        ))
          writeFileSync(join(disco, f), text);
        const env = {
          ...process.env,
          ...l5dEnv(repoRoot),
          LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
        };
        const flags = [...l5dNodeFlags(repoRoot), ...(ctx.nodeArgs ?? [])];
        for (const node of [
          { name: "a", ip: NODE_A },
          { name: "b", ip: NODE_B },
        ]) {
          const cfg = join(rundir, `l5d-${node.name}.yaml`);
          writeFileSync(cfg, render(L5D_MESH_YAML, l5dMeshVars(node, ports, disco)));
          entry.proxies.push(
            sup.spawn(`l5d-${node.name}`, process.execPath, [...flags, l5dMain, cfg], { env }),
          );
        }
        for (const [i, ip] of [NODE_A, NODE_B].entries())
          for (const port of [ports.outgoing, ports.incoming])
            await waitForPort(port, READY_MS, entry.proxies[i], ip);
        entry.apps = [hello.child, world];
        entry.entryPort = ports.outgoing;
      } catch (err) {
        result.error = (err as Error).message;
        entry.dead = true;
      }
    }
    // nghttpx: one process per router, static backends by :path
    {
      const result: MeshCase = {
        name: "nghttpx",
        label:
          "nghttpx per router (out/in on each node, --workers=1, h2c both sides), static backends by :path prefix mirroring the l5ds' routing (out(B) is on no hop of the path)",
        proxies: ["nghttpx out-a", "nghttpx in-a", "nghttpx out-b", "nghttpx in-b"],
        hops: 4,
        rounds: [],
      };
      const entry: Live = { result, entryPort: 0, proxies: [], apps: [], dead: false };
      live.push(entry);
      try {
        const t = ctx.tools.get("nghttpx");
        if (!t?.ok) throw new Error(`nghttpx unavailable: ${t?.reason ?? "not looked up"}`);
        versions.nghttpx = t.version;
        const outA = await freePort(NODE_A);
        taken.add(outA);
        const hello = await startHello("hello-nghttpx", `${NODE_A}:${outA}`);
        const ports = {
          outA,
          inA: await portFreeOnBoth(taken),
          outB: await portFreeOnBoth(taken),
          inB: await portFreeOnBoth(taken),
          hello: hello.port,
          world: worldPort,
        };
        const roles = nghttpxMeshRoles(ports);
        for (const role of roles) {
          const dir = join(rundir, `nghttpx-${role.name}`);
          mkdirSync(dir, { recursive: true });
          const conf = join(dir, "nghttpx.conf");
          writeFileSync(
            conf,
            render(NGHTTPX_MESH_CONF, {
              NAME: role.name,
              RUNDIR: dir,
              LISTEN_HOST: role.host,
              LISTEN_PORT: role.port,
              BACKENDS: nghttpxMeshBackends(role.routes),
            }),
          );
          entry.proxies.push(sup.spawn(`nghttpx-${role.name}`, t.path, [`--conf=${conf}`]));
        }
        for (const [i, role] of roles.entries())
          await waitForPort(role.port, READY_MS, entry.proxies[i], role.host);
        entry.apps = [hello.child, world];
        entry.entryPort = outA;
      } catch (err) {
        result.error = (err as Error).message;
        entry.dead = true;
      }
    }
    for (const c of live) {
      if (c.dead) continue;
      try {
        answers[c.result.name] = await checkAnswer(c.entryPort, body, Date.now() + 15_000);
      } catch (err) {
        c.result.error = (err as Error).message;
        c.dead = true;
      }
      log(
        `bench: mesh: ${c.result.name} ${c.dead ? `ERROR ${c.result.error?.slice(0, 300)}` : `answers ${JSON.stringify(answers[c.result.name])} via :${c.entryPort}`}`,
      );
    }
    for (const c of live)
      if (c.dead && c.result.error)
        log(`bench: mesh: ${c.result.name}: ERROR ${c.result.error.slice(0, 300)}`);
    log(`bench: mesh: started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const cases = live.filter((c) => !c.dead).length;
    const expectS = meshLoadSeconds(p, cases);
    const deadline = Date.now() + Math.max(opts.quick ? 40 : 150, expectS * 1.5) * 1000;
    log(
      `bench: mesh: ${cases} cases × ${p.rounds} round(s) (${p.rate} calls/s for ${p.rateS} s, then h2load -c ${p.clients} -m ${p.streams} for ${p.saturatedS} s), ~${Math.round(expectS)} s of load`,
    );
    for (let r = 0; r < p.rounds; r++) {
      for (const c of roundOrder(live, r)) {
        if (c.dead) continue;
        const what = `mesh round ${r + 1}/${p.rounds}: ${c.result.name}`;
        if (Date.now() + (meshCaseSeconds(p, r) + 4) * 1000 > deadline) {
          skipped.push({ what, reason: "time budget used up" });
          log(`bench: ${what}: skipped, time budget used up`);
          continue;
        }
        const exited = [...c.proxies, ...c.apps].find((ch) => ch.hasExited());
        if (exited) {
          c.dead = true;
          c.result.error ??= `${exited.name} exited: ${exited.output().slice(-300)}`;
          log(`bench: ${what}: ERROR ${exited.name} exited`);
          continue;
        }
        const round: MeshRound = { round: r };
        c.result.rounds.push(round);
        const proxyPids = c.proxies.map((ch) => ch.pid);
        const appPids = c.apps.map((ch) => ch.pid);
        const url = `http://${NODE_A}:${c.entryPort}${HELLO_PATH}`;
        try {
          await runH2load(sup, setup.h2loadPath, {
            url,
            dataFile,
            headers: GRPC_HEADERS,
            clients: p.clients,
            streams: p.streams,
            durationS: r === 0 ? p.firstWarmupS : p.warmupS,
          });
          round.rate = await rateRun(p, c.entryPort, body, pacer, proxyPids, appPids);
          round.saturated = await saturatedRun(
            { sup, h2load: setup.h2loadPath, rundir, url, dataFile },
            p,
            `${c.result.name}-${r}`,
            proxyPids,
            appPids,
          );
          // the generators time responses without reading grpc-status: the path still answers right
          await checkAnswer(c.entryPort, body, Date.now() + 5000);
        } catch (err) {
          round.error = (err as Error).message;
        }
        const rr = round.rate;
        const ss = round.saturated;
        log(
          `bench: ${what}: ${rr ? `@${p.rate}/s p50 ${Math.round(rr.p50)} p99 ${Math.round(rr.p99)} µs, proxy ${rr.proxyCpuUsPerCall?.toFixed(1) ?? "-"} µs/call; ` : ""}${ss ? `saturated ${ss.callsPerS.toFixed(0)} calls/s p50 ${Math.round(ss.p50)} p99 ${Math.round(ss.p99)} µs, proxy ${ss.proxyCpuUsPerCall?.toFixed(1) ?? "-"} µs/call` : ""}${round.error ? ` ERROR ${round.error.slice(0, 300)}` : ""}`,
        );
      }
    }
    for (const c of live)
      if (c.proxies.length > 0 && c.result.rounds.length > 0)
        c.result.proxyRssKb = sampleTrees(c.proxies.map((ch) => ch.pid)).rssKb;
    await sup.stopAll();

    const finishedAt = new Date();
    const report: MeshReport = {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      mode: opts.quick ? "mesh-quick" : "mesh",
      machine: describeMachine(),
      loadAvg: loadAvgSince(loadStart),
      versions,
      skipped,
      settings: runSettings(p, opts),
      answers,
      durationS: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      cases: summarizeAll(live.map((c) => c.result)),
    };
    writeResults(
      { outDir, startedAt, tag: `-${report.mode}` },
      report,
      renderMeshMarkdown(report),
      ` (${report.durationS?.toFixed(0)} s)`,
    );
    for (const line of meshLines(report.cases, p.rate)) process.stdout.write(`${line}\n`);
    return 0;
  } finally {
    await sup.stopAll();
    rmSync(rundir, { recursive: true, force: true });
  }
}

/** CPU ticks the proxies' and the apps' process trees used over a window. */
interface CpuSpent {
  proxyTicks: number;
  appsTicks: number;
}

/** Starts a CPU window over the trees rooted at `proxyPids` and `appPids`; call the result to end it. */
function cpuWindow(proxyPids: readonly number[], appPids: readonly number[]): () => CpuSpent {
  const px0 = sampleTrees(proxyPids).ticks;
  const ap0 = sampleTrees(appPids).ticks;
  return () => {
    const proxyTicks = sampleTrees(proxyPids).ticks - px0;
    return { proxyTicks, appsTicks: sampleTrees(appPids).ticks - ap0 };
  };
}

/**
 * `spent` ÷ `calls` into `out`: the proxies' (when there are any; with `wallS`, their cores
 * too) and the apps'.
 */
function putCpu(
  out: { proxyCpuUsPerCall?: number; proxyCores?: number; appsCpuUsPerCall?: number },
  spent: CpuSpent,
  calls: number,
  proxied: boolean,
  wallS?: number,
): void {
  if (proxied) {
    const cpu = cpuUsPerRequest(spent.proxyTicks, calls);
    if (cpu !== undefined) out.proxyCpuUsPerCall = cpu;
    if (wallS !== undefined) out.proxyCores = spent.proxyTicks / 100 / wallS;
  }
  const apps = cpuUsPerRequest(spent.appsTicks, calls);
  if (apps !== undefined) out.appsCpuUsPerCall = apps;
}

/** The paced run, with the proxies' and the apps' CPU over it. */
async function rateRun(
  p: MeshPhases,
  port: number,
  body: Buffer,
  pacer: string | undefined,
  proxyPids: readonly number[],
  appPids: readonly number[],
): Promise<MeshRateResult> {
  const run = {
    port,
    path: HELLO_PATH,
    body,
    rate: p.rate,
    durationS: p.rateS,
    connections: p.rateConnections,
    drainMs: 2000,
  };
  const cpu = cpuWindow(proxyPids, appPids);
  const r = pacer !== undefined ? await pacerLoad(pacer, run) : await pacedLoad(run);
  const spent = cpu();
  if (r.latenciesUs.length === 0)
    throw new LoadError(`fixed rate: no successful call (${r.failed} failed)`);
  const lat = percentiles(r.latenciesUs);
  const out: MeshRateResult = {
    targetRps: p.rate,
    achievedRps: r.achievedRps,
    calls: r.ok,
    failed: r.failed,
    p50: lat.p50,
    p99: lat.p99,
    p999: lat.p999,
    sendLagP99Us: percentiles(r.lagUs).p99,
    generator: pacer !== undefined ? "c" : "node",
  };
  putCpu(out, spent, r.ok, proxyPids.length > 0);
  return out;
}

/** The saturated run (h2load, bounded in time), latencies from its log, CPU from /proc. */
async function saturatedRun(
  env: { sup: Supervisor; h2load: string; rundir: string; url: string; dataFile: string },
  p: MeshPhases,
  name: string,
  proxyPids: readonly number[],
  appPids: readonly number[],
): Promise<MeshSaturatedResult> {
  const logFile = join(env.rundir, `sat-${name}.log`);
  const cpu = cpuWindow(proxyPids, appPids);
  const t0 = process.hrtime.bigint();
  const s = await runH2load(env.sup, env.h2load, {
    url: env.url,
    dataFile: env.dataFile,
    headers: GRPC_HEADERS,
    clients: p.clients,
    streams: p.streams,
    durationS: p.saturatedS,
    logFile,
  });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const spent = cpu();
  const lat = parseH2loadLog(readFileSync(logFile, "utf8"));
  rmSync(logFile, { force: true });
  if (s.succeeded === 0 || lat.length === 0)
    throw new LoadError(`saturated: no call succeeded (${s.failed} failed, ${s.errored} errored)`);
  const pc = percentiles(lat);
  const out: MeshSaturatedResult = {
    clients: p.clients,
    streams: p.streams,
    durationS: s.durationS,
    callsPerS: s.reqPerS,
    succeeded: s.succeeded,
    // h2load counts any complete response as succeeded: a proxy's 502 too (status2xx also
    // counts responses whose headers came before the end of the run and whose end did not)
    failed: s.failed + s.errored + s.timeout + Math.max(0, s.succeeded - s.status2xx),
    p50: pc.p50,
    p99: pc.p99,
    p999: pc.p999,
  };
  putCpu(out, spent, s.succeeded, proxyPids.length > 0, wallS);
  return out;
}
