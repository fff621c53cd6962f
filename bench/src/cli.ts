import type { ProxyName } from "./peers.js";

/** Command-line options of bench.mjs. */
export interface BenchOptions {
  quick: boolean;
  /** proxies to run (default: all for full, l5d+naive+nghttpx for quick). */
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

const NAMES: readonly ProxyName[] = ["l5d", "naive", "nginx", "haproxy", "nghttpx"];

/** Raised for a bad command line. */
export class UsageError extends Error {
  override name = "UsageError";
}

export const USAGE = `usage: node bench/bench.mjs [--quick] [--only=l5d,naive,nginx,haproxy,nghttpx] [--scale=<x>] [--no-install] [--cpu-prof] [--out=<dir>]`;

/** Parses argv (without node and script). */
export function parseArgs(argv: readonly string[]): BenchOptions {
  const o: BenchOptions = { quick: false, noInstall: false, scale: 1, cpuProf: false };
  for (const a of argv) {
    const [k, v] = a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    if (k === "--quick") o.quick = true;
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
  return o;
}
