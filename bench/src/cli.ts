import type { ProxyName } from "./peers.js";

/** Command-line options of bench.mjs. */
export interface BenchOptions {
  quick: boolean;
  /**
   * the HTTP/1.1 mode: one hop of l5d's `protocol: http` router, nginx, haproxy and nghttpx
   * (and direct) in front of a node:http backend, h2load --h1.
   */
  http1: boolean;
  /**
   * the namerd mode: bind latency through namerd's HTTP API (and the in-process `default`
   * interpreter as its peer), dtab propagation to N linkers, namerd's memory; with `quick`,
   * smaller counts.
   */
  namerd: boolean;
  /**
   * the whole-mesh mode: the tutorial's request path end to end (four proxy hops and the
   * hello/world apps) through l5d and through nghttpx, and direct; with `quick`, one short round.
   */
  mesh: boolean;
  /**
   * the workers mode: one hop, unary gRPC, saturated, through l5d with `workers: 1` and `2` and
   * nghttpx with `--workers=1` and `2`; with `quick`, one round.
   */
  workers: boolean;
  /**
   * the A/B mode: this checkout's l5d against the l5d built in another checkout (this path: a
   * git worktree of another commit, `pnpm build` run in it), or against nghttpx (`nghttpx`), both
   * under the same saturated load at the same time, round after round; `hops` proxies in each
   * chain (1 or 2).
   */
  ab?: string;
  hops?: number;
  /** with `ab`: over TLS on both sides (the `-tls` cases' certificates and backend port). */
  tls?: boolean;
  /**
   * proxies to run (default: all for full — the `-tls` cases included — and the h2c ones for
   * http1, l5d+naive+nghttpx for quick).
   */
  only?: ProxyName[];
  /** do not apt-get install missing tools. */
  noInstall: boolean;
  /** multiplies every phase duration (e.g. 0.5 for a faster, noisier run). */
  scale: number;
  /** output directory for <timestamp>.json/.md. */
  outDir?: string;
  /** run node-based proxies with --cpu-prof into <outDir>/cpuprofiles. */
  cpuProf: boolean;
}

const NAMES: readonly ProxyName[] = [
  "l5d",
  "naive",
  "nginx",
  "haproxy",
  "nghttpx",
  "l5d-tls",
  "nghttpx-tls",
];

/** Raised for a bad command line. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The proxies of the HTTP/1.1 mode (the naive proxy is h2-only). */
export const HTTP1_NAMES: readonly ProxyName[] = ["l5d", "nginx", "haproxy", "nghttpx"];

export const USAGE = `usage: node bench/bench.mjs [--quick | --http1 | --namerd [--quick] | --mesh [--quick] | --workers [--quick] | --ab=<other checkout>|nghttpx [--hops=1|2] [--tls] [--quick]] [--only=l5d,naive,nginx,haproxy,nghttpx,l5d-tls,nghttpx-tls] [--scale=<x>] [--no-install] [--cpu-prof] [--out=<dir>]`;

/** Parses argv (without node and script). */
export function parseArgs(argv: readonly string[]): BenchOptions {
  const o: BenchOptions = {
    quick: false,
    http1: false,
    namerd: false,
    mesh: false,
    workers: false,
    noInstall: false,
    scale: 1,
    cpuProf: false,
  };
  for (const a of argv) {
    const [k, v] = a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    if (k === "--quick") o.quick = true;
    else if (k === "--http1" && v === undefined) o.http1 = true;
    else if (k === "--namerd" && v === undefined) o.namerd = true;
    else if (k === "--mesh" && v === undefined) o.mesh = true;
    else if (k === "--workers" && v === undefined) o.workers = true;
    else if (k === "--ab" && v) o.ab = v;
    else if (k === "--hops" && (v === "1" || v === "2")) o.hops = Number(v);
    else if (k === "--tls" && v === undefined) o.tls = true;
    else if (k === "--no-install") o.noInstall = true;
    else if (k === "--cpu-prof") o.cpuProf = true;
    else if (k === "--only" && v) {
      const list = v.split(",").map((s) => s.trim());
      for (const n of list)
        if (!NAMES.includes(n as ProxyName)) throw new UsageError(`unknown proxy ${n}`);
      o.only = list as ProxyName[];
    } else if (k === "--scale" && v && Number(v) > 0 && Number(v) <= 10) o.scale = Number(v);
    else if (k === "--out" && v) o.outDir = v;
    else throw new UsageError(`unknown argument ${a}\n${USAGE}`);
  }
  if (o.http1 && o.quick) throw new UsageError(`--http1 and --quick are separate modes\n${USAGE}`);
  if (o.namerd && o.http1)
    throw new UsageError(`--namerd and --http1 are separate modes\n${USAGE}`);
  if (o.mesh && (o.http1 || o.namerd))
    throw new UsageError(`--mesh, --http1 and --namerd are separate modes\n${USAGE}`);
  if (o.mesh && o.only !== undefined)
    throw new UsageError(`--mesh runs direct, l5d and nghttpx: --only does not apply`);
  if (o.workers && (o.http1 || o.namerd || o.mesh))
    throw new UsageError(`--workers, --mesh, --http1 and --namerd are separate modes\n${USAGE}`);
  if (o.workers && o.only !== undefined)
    throw new UsageError(`--workers runs direct, l5d and nghttpx: --only does not apply`);
  if ((o.hops !== undefined || o.tls) && o.ab === undefined)
    throw new UsageError(`--hops and --tls go with --ab\n${USAGE}`);
  if (o.tls && o.hops === 2)
    throw new UsageError(`--ab --tls runs one hop (the -tls cases' shape)\n${USAGE}`);
  if (o.ab !== undefined && (o.http1 || o.namerd || o.mesh || o.workers))
    throw new UsageError(
      `--ab, --workers, --mesh, --http1 and --namerd are separate modes\n${USAGE}`,
    );
  if (o.ab !== undefined && o.only !== undefined)
    throw new UsageError(`--ab runs two builds of l5d: --only does not apply`);
  if (o.namerd && (o.only !== undefined || o.cpuProf))
    throw new UsageError(`--namerd runs namerd and l5d only: --only and --cpu-prof do not apply`);
  if (o.http1)
    for (const n of o.only ?? [])
      if (!HTTP1_NAMES.includes(n))
        throw new UsageError(`${n} has no HTTP/1.1 case (--http1: ${HTTP1_NAMES.join(",")})`);
  return o;
}
