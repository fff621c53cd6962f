import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  type H2loadRun,
  type H2loadSummary,
  h2loadArgs,
  parseH2loadLog,
  parseH2loadOutput,
} from "./h2load.js";
import { pacedLoad } from "./paced.js";
import { pacerLoad } from "./pacer.js";
import { cpuUsPerRequest, sampleTrees } from "./proc.js";
import type { LatencyResult, RssResult, SaturatedResult } from "./results.js";
import { percentiles } from "./stats.js";
import type { Supervisor } from "./supervisor.js";

/** Durations and shapes of the load phases. */
export interface Phases {
  warmupS: number;
  saturatedS: number;
  /** 0 skips the fixed-rate run. */
  rateS: number;
  /** 0 skips the serial run. */
  serialS: number;
  satClients: number;
  satStreams: number;
  /** total fixed rate, req/s, split over rateClients. */
  rateTotal: number;
  rateClients: number;
}

/** A request shape: path, body file, headers. */
export interface RequestSpec {
  path: string;
  /** request body (POST); none: GET. */
  dataFile?: string | undefined;
  headers: readonly string[];
  /** HTTP/1.1 (h2load --h1) instead of h2c. */
  h1?: boolean | undefined;
}

/** The pieces a load phase needs. */
export interface LoadContext {
  sup: Supervisor;
  h2load: string;
  rundir: string;
  /** pids whose trees are the proxies under test (empty for direct). */
  proxyPids: readonly number[];
  backendPid: number;
  hops: number;
  port: number;
  /** the compiled C paced generator (pacer.c); the Node one (paced.ts) when undefined. */
  pacer?: string | undefined;
  /**
   * the port speaks TLS: h2load uses an https:// URL (TLS with ALPN h2; h2load does not check
   * the certificate). The paced generators speak h2c only: no {@link fixedRate} then.
   */
  tls?: boolean | undefined;
}

/** Raised when h2load fails or every request failed. */
export class LoadError extends Error {
  override name = "LoadError";
}

/** Runs h2load to completion (bounded: duration + 20 s) and parses its summary. */
export async function runH2load(
  sup: Supervisor,
  h2load: string,
  run: H2loadRun,
): Promise<H2loadSummary> {
  const child = sup.spawn("h2load", h2load, h2loadArgs(run));
  const limitMs = ((run.durationS ?? 30) + 20) * 1000;
  const timer = setTimeout(() => void sup.stop(child), limitMs);
  const code = await child.exited;
  clearTimeout(timer);
  await sup.stop(child);
  try {
    return parseH2loadOutput(child.output());
  } catch (err) {
    throw new LoadError(`h2load exited ${code}: ${(err as Error).message}`);
  }
}

/** h2load's URL for a request: h2c prior knowledge (or HTTP/1.1 with `h1`), or TLS. */
export function loadUrl(ctx: Pick<LoadContext, "port" | "tls">, req: RequestSpec): string {
  return `${ctx.tls ? "https" : "http"}://127.0.0.1:${ctx.port}${req.path}`;
}

/** A short untimed run so JITs, pools and connections are warm. */
export async function warmup(ctx: LoadContext, req: RequestSpec, p: Phases): Promise<void> {
  if (p.warmupS <= 0) return;
  await runH2load(ctx.sup, ctx.h2load, {
    url: loadUrl(ctx, req),
    dataFile: req.dataFile,
    headers: req.headers,
    h1: req.h1,
    clients: p.satClients,
    streams: p.satStreams,
    durationS: p.warmupS,
  });
}

/** Saturated fixed-duration run with CPU accounting of proxies and backend from /proc. */
export async function saturated(
  ctx: LoadContext,
  req: RequestSpec,
  p: Phases,
  shape: { clients: number; streams: number } = { clients: p.satClients, streams: p.satStreams },
): Promise<SaturatedResult> {
  const before = sampleTrees(ctx.proxyPids);
  const beBefore = sampleTrees([ctx.backendPid]);
  const t0 = process.hrtime.bigint();
  const s = await runH2load(ctx.sup, ctx.h2load, {
    url: loadUrl(ctx, req),
    dataFile: req.dataFile,
    headers: req.headers,
    h1: req.h1,
    clients: shape.clients,
    streams: shape.streams,
    durationS: p.saturatedS,
  });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const after = sampleTrees(ctx.proxyPids);
  const beAfter = sampleTrees([ctx.backendPid]);
  if (s.succeeded === 0)
    throw new LoadError(`no request succeeded (${s.failed} failed, ${s.errored} errored)`);
  const out: SaturatedResult = {
    clients: shape.clients,
    streams: shape.streams,
    durationS: s.durationS,
    reqPerS: s.reqPerS,
    succeeded: s.succeeded,
    failed: s.failed + s.errored + s.timeout,
  };
  // h2load counts any complete response as succeeded: a proxy's 502 too
  if (s.status2xx < s.succeeded) out.non2xx = s.succeeded - s.status2xx;
  const be = cpuUsPerRequest(beAfter.ticks - beBefore.ticks, s.succeeded);
  if (be !== undefined) out.backendCpuUsPerReq = be;
  if (ctx.proxyPids.length > 0) {
    const cpu = cpuUsPerRequest(after.ticks - before.ticks, s.succeeded);
    if (cpu !== undefined) {
      out.proxyCpuUsPerReq = cpu;
      out.proxyCpuUsPerReqPerHop = cpu / Math.max(1, ctx.hops);
    }
    out.proxyCores = (after.ticks - before.ticks) / 100 / wallS;
  }
  return out;
}

async function latencyRun(
  ctx: LoadContext,
  req: RequestSpec,
  run: { clients: number; streams: number; durationS: number; rpsPerClient?: number },
  name: string,
): Promise<LatencyResult> {
  const logFile = join(ctx.rundir, `${name}-${ctx.port}.log`);
  const s = await runH2load(ctx.sup, ctx.h2load, {
    url: loadUrl(ctx, req),
    dataFile: req.dataFile,
    headers: req.headers,
    h1: req.h1,
    logFile,
    ...run,
  });
  const lat = parseH2loadLog(readFileSync(logFile, "utf8"));
  rmSync(logFile, { force: true });
  if (lat.length === 0) throw new LoadError(`${name}: no successful request`);
  return { ...percentiles(lat), achievedRps: s.reqPerS, failed: s.failed + s.errored + s.timeout };
}

/**
 * Latency at a fixed total rate, open loop and evenly paced (see {@link pacedLoad}; h2load's
 * --rps sends ~10 ms bursts, which would dominate the percentiles).
 */
export async function fixedRate(
  ctx: LoadContext,
  req: RequestSpec,
  p: Phases,
  body: Buffer,
): Promise<LatencyResult> {
  if (ctx.tls) throw new LoadError("fixed rate: the paced generators speak h2c only, not TLS");
  const run = {
    port: ctx.port,
    path: req.path,
    body,
    rate: p.rateTotal,
    durationS: p.rateS,
    connections: p.rateClients,
    drainMs: 2000,
  };
  const r = ctx.pacer !== undefined ? await pacerLoad(ctx.pacer, run) : await pacedLoad(run);
  if (r.latenciesUs.length === 0)
    throw new LoadError(`fixed rate: no successful request (${r.failed} failed)`);
  return {
    ...percentiles(r.latenciesUs),
    targetRps: p.rateTotal,
    achievedRps: r.achievedRps,
    failed: r.failed,
    sendLagP99Us: percentiles(r.lagUs).p99,
    generator: ctx.pacer !== undefined ? "c" : "node",
  };
}

/** One request at a time on one connection. */
export function serial(ctx: LoadContext, req: RequestSpec, p: Phases): Promise<LatencyResult> {
  return latencyRun(ctx, req, { clients: 1, streams: 1, durationS: p.serialS }, "serial");
}

/** Current summed RSS and peak of the proxies. */
export function rssNow(proxyPids: readonly number[]): { rssKb: number; hwmKb: number } {
  const t = sampleTrees(proxyPids);
  return { rssKb: t.rssKb, hwmKb: t.hwmKb };
}

/** RSS result from an idle sample and a sample after load. */
export function rssResult(idleKb: number, proxyPids: readonly number[]): RssResult {
  const now = rssNow(proxyPids);
  return { idleKb, afterKb: now.rssKb, peakKb: now.hwmKb };
}
