import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Backend, GRPC_HEADERS, startBackend, UNARY_PATH } from "./backends.js";
import { type BenchOptions, parseArgs, UsageError } from "./cli.js";
import { grpcFrame, probe, protoBytesField, type Target } from "./grpc.js";
import { mainHttp1 } from "./http1-run.js";
import { describeMachine } from "./machine.js";
import { buildPacer } from "./pacer.js";
import { PROXIES, type ProxyKind, startChain } from "./peers.js";
import { quickLine, renderMarkdown, tlsLine } from "./report.js";
import type { BackendName, CaseResult, RunReport, Workload } from "./results.js";
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
  fixedRate,
  type LoadContext,
  type Phases,
  type RequestSpec,
  rssNow,
  rssResult,
  saturated,
  serial,
  warmup,
} from "./runner.js";
import type { Child } from "./supervisor.js";
import { clientTlsOf, makeBenchTls } from "./tls.js";
import type { ToolName } from "./tools.js";

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * The unary warm-up, not measured, of every case (every proxy the same): a fresh l5d's CPU per
 * request, second by second under saturated load, is 57-124 µs in the first, 17-28 in the
 * second, 16-22 in the third and ~13-18 from the fourth on (its JIT and heaps settling;
 * docs/performance.md, "How long l5d takes to settle"). With 1 s the saturated phase measured
 * seconds 2-5; with 3 s it measures a router that has been running, as a mesh's does.
 */
export const WARMUP_S = 3;

function phasesFor(o: BenchOptions): Phases {
  const s = (x: number): number => Math.max(0.5, Math.round(x * o.scale * 2) / 2);
  return o.quick
    ? {
        warmupS: WARMUP_S,
        saturatedS: s(4),
        rateS: s(2),
        serialS: s(1),
        satClients: 4,
        satStreams: 32,
        rateTotal: 1000,
        rateClients: 4,
      }
    : {
        warmupS: WARMUP_S,
        saturatedS: s(4),
        rateS: s(5),
        serialS: s(2),
        satClients: 4,
        satStreams: 32,
        rateTotal: 1000,
        rateClients: 4,
      };
}

/**
 * What one TLS case adds to the run's time budget (warm-up, saturated and serial phases, start
 * and probe; no fixed-rate phase over TLS): the base budgets cover the cleartext cases.
 */
const TLS_CASE_BUDGET_MS = 11_000;

/** Runs the whole benchmark; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      log(err.message);
      return 2;
    }
    throw err;
  }
  if (opts.http1) return mainHttp1(opts, log);
  // loaded only for this mode: it pulls in namerd and its clients
  if (opts.namerd) return (await import("./namerd-run.js")).mainNamerd(opts, log);
  if (opts.mesh) return (await import("./mesh-run.js")).mainMesh(opts, log);
  if (opts.workers) return (await import("./workers-run.js")).mainWorkers(opts, log);
  if (opts.ab !== undefined) return (await import("./ab-run.js")).mainAb(opts, log);
  const code = await mainHop(opts);
  if (opts.quick || opts.only !== undefined) return code;
  // the full run goes on with the whole mesh and the workers modes: every figure of issue #17
  // (one hop, bulk, TLS, memory, the mesh, more than one core) from one `pnpm bench`
  log("bench: the whole mesh (--mesh) and the workers (--workers) modes follow");
  const mesh = await (await import("./mesh-run.js")).mainMesh({ ...opts, mesh: true }, log);
  const workers = await (await import("./workers-run.js")).mainWorkers(
    { ...opts, workers: true },
    log,
  );
  return code !== 0 ? code : mesh !== 0 ? mesh : workers;
}

/** One hop (and two), every proxy side by side: the default run and `--quick`. */
async function mainHop(opts: BenchOptions): Promise<number> {
  const { repoRoot, startedAt, loadStart } = beginRun(log);
  // the cases' phases, plus 2 s of warm-up per unary case since WARMUP_S went from 1 s to 3 s
  let budgetMs = opts.quick ? 55_000 : 295_000;
  let deadline = Date.now() + budgetMs;
  const { sup, rundir } = startSupervisor("l5d-bench-");
  const phases = phasesFor(opts);
  const skipped: RunReport["skipped"] = [];
  const cases: CaseResult[] = [];
  try {
    const wanted: ToolName[] = opts.quick
      ? ["h2load", "nghttpx"]
      : ["h2load", "nginx", "haproxy", "nghttpx"];
    const setup = setUpRun(
      opts,
      wanted,
      { sup, rundir, repoRoot, log },
      "node proxies write CPU profiles",
    );
    if (setup === undefined) return 1;
    const { ctx, outDir } = setup;
    // the fixed-rate phase's generator: C (no GC, ns wake-ups) when a compiler is here
    const pacerBuild = buildPacer(rundir);
    const pacer = "path" in pacerBuild ? pacerBuild.path : undefined;
    if ("reason" in pacerBuild)
      log(`bench: C paced generator unavailable (${pacerBuild.reason}); using the Node one`);
    const versions: Record<string, string> = { h2load: setup.h2loadVersion };
    const defaultSet = opts.quick ? ["l5d", "naive", "nghttpx"] : PROXIES.map((p) => p.name);
    const chosen = PROXIES.filter((p) => (opts.only ?? defaultSet).includes(p.name));
    if (chosen.some((k) => k.tls)) {
      try {
        ctx.tls = makeBenchTls(rundir);
      } catch (err) {
        log(`bench: cannot make TLS certificates: ${(err as Error).message.slice(0, 300)}`);
      }
    }
    const kinds = availableKinds(chosen, ctx, versions, skipped, log);
    const tlsCases = kinds.filter((k) => k.tls).length;
    budgetMs += tlsCases * TLS_CASE_BUDGET_MS;
    deadline += tlsCases * TLS_CASE_BUDGET_MS;
    const probeTls = ctx.tls === undefined ? undefined : clientTlsOf(ctx.tls);

    // request bodies
    const emptyFile = join(rundir, "empty.grpc");
    writeFileSync(emptyFile, grpcFrame(new Uint8Array(0)));
    const bigFile = join(rundir, "1mib.grpc");
    const bigMsg = protoBytesField(1024 * 1024 - 4);
    writeFileSync(bigFile, grpcFrame(bigMsg));
    const reqs: Record<Workload, RequestSpec & { probeBody: Buffer; messages: number }> = {
      unary: {
        path: UNARY_PATH,
        dataFile: emptyFile,
        headers: GRPC_HEADERS,
        probeBody: grpcFrame(new Uint8Array(0)),
        messages: 1,
      },
      stream1000: {
        path: "/bench.Bench/Stream",
        dataFile: emptyFile,
        headers: GRPC_HEADERS,
        probeBody: grpcFrame(new Uint8Array(0)),
        messages: 1000,
      },
      echo1MiB: {
        path: "/bench.Bench/Echo",
        dataFile: bigFile,
        headers: GRPC_HEADERS,
        probeBody: grpcFrame(bigMsg),
        messages: 1,
      },
    };
    const bulkShape: Record<Workload, { clients: number; streams: number }> = {
      unary: { clients: phases.satClients, streams: phases.satStreams },
      stream1000: { clients: 2, streams: 4 },
      echo1MiB: { clients: 2, streams: 2 },
    };

    const backends: BackendName[] = ["node"];
    if (!opts.quick) {
      if (existsSync(join(repoRoot, "apps/world/dist/main.js"))) backends.push("world");
      else skipped.push({ what: "world backend", reason: "apps/world/dist/main.js not built" });
    }

    for (const bname of backends) {
      let backend: Backend;
      try {
        backend = await startBackend(sup, repoRoot, bname, tlsCases > 0 ? ctx.tls : undefined);
        await probe(backend.port, reqs.unary.path, reqs.unary.probeBody, 1);
      } catch (err) {
        skipped.push({ what: `${bname} backend`, reason: (err as Error).message });
        log(`bench: ${bname} backend unusable: ${(err as Error).message}`);
        continue;
      }
      if (backend.tlsPort !== undefined) {
        try {
          const target = { port: backend.tlsPort, tls: probeTls };
          await probe(target, reqs.unary.path, reqs.unary.probeBody, 1);
        } catch (err) {
          // the TLS cases then fail naming it; the h2c ones run
          log(`bench: ${bname} backend's TLS port unusable: ${(err as Error).message}`);
          delete backend.tlsPort;
        }
      }
      const full = bname === "node";
      const plan: { kind: ProxyKind | undefined; hops: number }[] = [{ kind: undefined, hops: 0 }];
      for (const k of kinds) {
        // TLS: one hop, to bench/backend.mjs's TLS port only
        if (k.tls && !full) continue;
        plan.push({ kind: k, hops: 1 });
        if (full && !opts.quick && !k.tls) plan.push({ kind: k, hops: 2 });
      }
      for (const step of plan) {
        const proxy = step.kind?.name ?? "direct";
        const id = `${bname}/${proxy}/${step.hops}`;
        if (Date.now() > deadline) {
          skipped.push({ what: id, reason: `time budget of ${budgetMs / 1000} s used up` });
          continue;
        }
        const t0 = Date.now();
        let children: Child[] = [];
        const tls = step.kind?.tls === true;
        const workloads: Workload[] =
          full && !opts.quick && step.hops <= 1 && !tls
            ? ["unary", "stream1000", "echo1MiB"]
            : ["unary"];
        try {
          let port = backend.port;
          if (step.kind) {
            const upstream = tls ? backend.tlsPort : backend.port;
            if (upstream === undefined)
              throw new Error("the backend has no usable TLS port (see the log)");
            const chain = await startChain(ctx, step.kind, step.hops, upstream);
            children = chain.children;
            port = chain.entryPort;
          }
          const target: Target = { port, tls: tls ? probeTls : undefined };
          const lctx: LoadContext = {
            sup,
            h2load: setup.h2loadPath,
            rundir,
            proxyPids: children.map((c) => c.pid),
            backendPid: backend.child.pid,
            hops: step.hops,
            port,
            pacer,
            tls,
          };
          for (const w of workloads) {
            const base: CaseResult = {
              id: `${id}/${w}`,
              backend: bname,
              proxy,
              hops: step.hops,
              workload: w,
            };
            try {
              const r = reqs[w];
              await probe(target, r.path, r.probeBody, r.messages);
              const idle = rssNow(lctx.proxyPids).rssKb;
              const p =
                w === "unary"
                  ? phases
                  : { ...phases, warmupS: 0.5, saturatedS: Math.max(1, phases.saturatedS - 1) };
              await warmup(lctx, r, {
                ...p,
                satClients: bulkShape[w].clients,
                satStreams: bulkShape[w].streams,
              });
              base.saturated = await saturated(lctx, r, p, bulkShape[w]);
              if (w === "unary") {
                // the paced generators speak h2c only
                if (p.rateS > 0 && full && !tls)
                  base.rate = await fixedRate(lctx, r, p, r.probeBody);
                if (p.serialS > 0) base.serial = await serial(lctx, r, p);
              }
              if (children.length > 0) base.rss = rssResult(idle, lctx.proxyPids);
            } catch (err) {
              base.error = (err as Error).message;
            }
            cases.push(base);
            const s = base.saturated;
            log(
              `bench: ${base.id}: ${base.error ? `ERROR ${base.error.slice(0, 200)}` : `${s?.reqPerS.toFixed(0)} req/s, proxy ${s?.proxyCpuUsPerReq?.toFixed(1) ?? "-"} µs/req, backend ${s?.backendCpuUsPerReq?.toFixed(1) ?? "-"} µs/req${base.rate ? `, p99@1k ${base.rate.p99} µs` : ""}`}`,
            );
          }
        } catch (err) {
          const msg = (err as Error).message;
          cases.push({
            id: `${id}/unary`,
            backend: bname,
            proxy,
            hops: step.hops,
            workload: "unary",
            error: msg,
          });
          log(`bench: ${id}: ERROR ${msg.slice(0, 300)}`);
        } finally {
          for (const c of children) await sup.stop(c);
        }
        log(`bench: ${id} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      }
      await sup.stop(backend.child);
    }

    const report: RunReport = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      mode: opts.quick ? "quick" : "full",
      machine: describeMachine(),
      loadAvg: loadAvgSince(loadStart),
      versions,
      skipped,
      settings: runSettings(phases, opts),
      cases,
    };
    const tag = opts.quick ? "-quick" : "";
    writeResults({ outDir, startedAt, tag }, report, renderMarkdown(report));
    const cpu = (name: string): number | undefined =>
      cases.find(
        (c) =>
          c.backend === "node" &&
          c.workload === "unary" &&
          c.hops === 1 &&
          c.proxy === name &&
          !c.error,
      )?.saturated?.proxyCpuUsPerReq;
    const naiveUs = cpu("naive");
    const ngUs = cpu("nghttpx");
    if (naiveUs !== undefined) {
      process.stdout.write(
        `reference (naive node:http2 proxy, not l5d): ${quickLine(naiveUs, ngUs).replace(/^l5d_/, "naive_")}\n`,
      );
    }
    if (cases.some((c) => c.proxy === "l5d-tls" || c.proxy === "nghttpx-tls"))
      process.stdout.write(`${tlsLine(cases)}\n`);
    process.stdout.write(`${quickLine(cpu("l5d"), ngUs)}\n`);
    return 0;
  } finally {
    await sup.stopAll();
    rmSync(rundir, { recursive: true, force: true });
  }
}
