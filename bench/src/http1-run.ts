// `bench --http1`: one hop of l5d's `protocol: http` router, nginx, haproxy and nghttpx (and
// direct) in front of one node:http backend, HTTP/1.1 keep-alive load from h2load --h1.
import { rmSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { type BenchOptions, HTTP1_NAMES } from "./cli.js";
import {
  HTTP1_BODY,
  http1Line,
  http1LoadSeconds,
  http1Phases,
  http1RpsLine,
  renderHttp1Markdown,
  roundOrder,
  summarizeCase,
} from "./http1.js";
import { describeMachine } from "./machine.js";
import { freePort, waitForPort } from "./net.js";
import { H1_PROXIES, startChain } from "./peers.js";
import type { Http1Case, Http1Report } from "./results.js";
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

/** Raised when a GET through a proxy does not come back 200 with the backend's body. */
export class Http1ProbeError extends Error {
  override name = "Http1ProbeError";
}

/** One GET / to 127.0.0.1:port (its own connection); checks 200 and the backend's body. */
export function probeH1(port: number, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: "/", method: "GET", agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (err) => reject(new Http1ProbeError(`GET / via :${port}: ${err.message}`)));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode === 200 && body === HTTP1_BODY) resolve();
          else
            reject(
              new Http1ProbeError(
                `GET / via :${port}: HTTP ${res.statusCode}, body ${JSON.stringify(body.slice(0, 200))}`,
              ),
            );
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (err) => reject(new Http1ProbeError(`GET / via :${port}: ${err.message}`)));
    req.end();
  });
}

/** A case being measured: where the load goes and whose CPU counts. */
interface Live {
  result: Http1Case;
  port: number;
  children: Child[];
  idleKb: number;
  dead: boolean;
}

const REQUEST: RequestSpec = { path: "/", headers: [], h1: true };

/** Runs the HTTP/1.1 mode; returns the process exit code. */
export async function mainHttp1(opts: BenchOptions, log: (line: string) => void): Promise<number> {
  const { repoRoot, startedAt, loadStart } = beginRun(log);
  const { sup, rundir } = startSupervisor("l5d-bench-h1-");
  const p = http1Phases(opts.scale);
  const skipped: Http1Report["skipped"] = [];
  const live: Live[] = [];
  try {
    const kindsWanted = H1_PROXIES.filter((k) => (opts.only ?? HTTP1_NAMES).includes(k.name));
    const wanted: ToolName[] = [
      "h2load",
      ...kindsWanted.flatMap((k) => (k.name === "l5d" ? [] : [k.name as ToolName])),
    ];
    const setup = setUpRun(opts, wanted, { sup, rundir, repoRoot, log }, "l5d writes CPU profiles");
    if (setup === undefined) return 1;
    const { ctx, outDir } = setup;
    const versions: Record<string, string> = {
      h2load: setup.h2loadVersion,
      backend: `node ${process.version}`,
    };
    const kinds = availableKinds(kindsWanted, ctx, versions, skipped, log, "bench: http1:");

    // the budget starts once the tools are there (an apt-get install is a one-off)
    const expectS = http1LoadSeconds(p, kinds.length + 1);
    const deadline = Date.now() + Math.max(150, expectS * 1.4) * 1000;
    log(
      `bench: http1: ${kinds.length + 1} cases × ${p.rounds} rounds (h2load --h1 -c ${p.clients} -m 1, ${p.warmupS} s warm-up (${p.firstWarmupS} s in round 1) + ${p.saturatedS} s saturated each), ~${Math.round(expectS)} s of load`,
    );

    const backendPort = await freePort();
    const backend = sup.spawn("backend-http1", process.execPath, [
      join(repoRoot, "bench/backend-http1.mjs"),
      String(backendPort),
    ]);
    await waitForPort(backendPort, 15_000, backend);
    await probeH1(backendPort);
    live.push({
      result: { proxy: "direct", label: "h2load → backend, no proxy", rounds: [] },
      port: backendPort,
      children: [],
      idleKb: 0,
      dead: false,
    });
    for (const k of kinds) {
      const result: Http1Case = { proxy: k.name, label: k.label, rounds: [] };
      const t0 = Date.now();
      try {
        const chain = await startChain(ctx, k, 1, backendPort);
        const entry: Live = {
          result,
          port: chain.entryPort,
          children: chain.children,
          idleKb: 0,
          dead: false,
        };
        live.push(entry);
        await probeH1(chain.entryPort);
        entry.idleKb = rssNow(chain.children.map((c) => c.pid)).rssKb;
        log(
          `bench: http1: ${k.name} up on :${chain.entryPort} in ${((Date.now() - t0) / 1000).toFixed(1)} s, GET / answered`,
        );
      } catch (err) {
        const msg = (err as Error).message;
        result.error = msg;
        const entry = live.find((l) => l.result === result);
        if (entry) entry.dead = true;
        else live.push({ result, port: 0, children: [], idleKb: 0, dead: true });
        log(`bench: http1: ${k.name}: ERROR ${msg.slice(0, 300)}`);
      }
    }

    const phases = (warmupS: number): Phases => ({
      warmupS,
      saturatedS: p.saturatedS,
      rateS: 0,
      serialS: 0,
      satClients: p.clients,
      satStreams: 1,
      rateTotal: 0,
      rateClients: 1,
    });
    const shape = { clients: p.clients, streams: 1 };
    for (let r = 0; r < p.rounds; r++) {
      const ph = phases(r === 0 ? p.firstWarmupS : p.warmupS);
      for (const c of roundOrder(live, r)) {
        if (c.dead) continue;
        const what = `http1 round ${r + 1}/${p.rounds}: ${c.result.proxy}`;
        if (Date.now() + (ph.warmupS + ph.saturatedS + 1) * 1000 > deadline) {
          skipped.push({ what, reason: "time budget used up" });
          log(`bench: ${what}: skipped, time budget used up`);
          continue;
        }
        const exited = c.children.find((ch) => ch.hasExited());
        if (exited) {
          c.dead = true;
          c.result.error ??= `${exited.name} exited: ${exited.output().slice(-300)}`;
          log(`bench: ${what}: ERROR ${exited.name} exited`);
          continue;
        }
        const lctx: LoadContext = {
          sup,
          h2load: setup.h2loadPath,
          rundir,
          proxyPids: c.children.map((ch) => ch.pid),
          backendPid: backend.pid,
          hops: c.children.length,
          port: c.port,
        };
        try {
          await warmup(lctx, REQUEST, ph);
          const s = await saturated(lctx, REQUEST, ph, shape);
          c.result.rounds.push(s);
          log(
            `bench: ${what}: ${s.reqPerS.toFixed(0)} req/s, proxy ${s.proxyCpuUsPerReq?.toFixed(1) ?? "-"} µs/req, backend ${s.backendCpuUsPerReq?.toFixed(1) ?? "-"} µs/req${s.failed > 0 ? `, ${s.failed} failed` : ""}${s.non2xx ? `, ${s.non2xx} non-2xx` : ""}`,
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
    for (const c of live) for (const ch of c.children) await sup.stop(ch);
    await sup.stop(backend);

    const cases = live.map((c) => summarizeCase(c.result));
    const report: Http1Report = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      mode: "http1",
      machine: describeMachine(),
      loadAvg: loadAvgSince(loadStart),
      versions,
      skipped,
      settings: runSettings({ ...p, streams: 1 }, opts),
      cases,
    };
    writeResults({ outDir, startedAt, tag: "-http1" }, report, renderHttp1Markdown(report));
    process.stdout.write(`${http1RpsLine(cases)}\n`);
    process.stdout.write(`${http1Line(cases)}\n`);
    return 0;
  } finally {
    await sup.stopAll();
    rmSync(rundir, { recursive: true, force: true });
  }
}
