import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { grpcFrame, probe } from "./grpc.js";
import { l5dEntry, l5dEnv, l5dNodeFlags } from "./l5d-flags.js";
import { freePort, waitForPort } from "./net.js";
import { l5d, naive, type ProxyKind, type StartContext, startChain } from "./peers.js";
import { sampleTrees } from "./proc.js";
import { runH2load } from "./runner.js";
import { type RssSample, soakVerdict } from "./soak-verdict.js";
import { Supervisor } from "./supervisor.js";
import { ensureTools } from "./tools.js";

/** Options of bench/soak.mjs. */
export interface SoakOptions {
  minutes: number;
  /** `l5d` (default) or `naive` (the naive node:http2 reference proxy). */
  proxy: SoakProxy;
  /** total req/s of the steady load. */
  rate: number;
  /** seconds between RSS samples (one h2load run each). */
  sampleS: number;
}

type SoakProxy = "l5d" | "naive";
const PROXIES: Readonly<Record<SoakProxy, ProxyKind>> = { l5d, naive };

const USAGE =
  "usage: node bench/soak.mjs [--minutes=10] [--proxy=l5d|naive] [--rate=2000] [--sample-s=30]";

/** Parses soak flags; throws Error with the usage on a bad flag. */
export function parseSoakArgs(argv: readonly string[]): SoakOptions {
  const o: SoakOptions = { minutes: 10, proxy: "l5d", rate: 2000, sampleS: 30 };
  for (const a of argv) {
    const m = /^--([a-z-]+)=(.+)$/.exec(a);
    const v = m?.[2] ?? "";
    if (m?.[1] === "minutes" && Number(v) > 0 && Number(v) <= 600) o.minutes = Number(v);
    else if (m?.[1] === "proxy" && Object.hasOwn(PROXIES, v)) o.proxy = v as SoakProxy;
    else if (m?.[1] === "rate" && Number(v) >= 1 && Number(v) <= 100_000) o.rate = Number(v);
    else if (m?.[1] === "sample-s" && Number(v) >= 1 && Number(v) <= 600) o.sampleS = Number(v);
    else throw new Error(`bad argument ${a}\n${USAGE}`);
  }
  return o;
}

/** Steady load through one hop of the proxy for `minutes`, sampling RSS; prints a verdict. */
export async function soak(argv: readonly string[]): Promise<number> {
  let o: SoakOptions;
  try {
    o = parseSoakArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const repoRoot = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const sup = new Supervisor();
  sup.installSignalHandlers();
  const rundir = mkdtempSync(join(tmpdir(), "l5d-soak-"));
  process.once("exit", () => rmSync(rundir, { recursive: true, force: true }));
  try {
    const tools = ensureTools(["h2load"], (l) => process.stderr.write(`${l}\n`));
    const h2 = tools.get("h2load");
    if (!h2?.ok) {
      process.stderr.write(`soak: ${h2?.reason ?? "h2load missing"}\n`);
      return 1;
    }
    const ctx: StartContext = { sup, rundir, repoRoot, tools };
    const kind = PROXIES[o.proxy];
    const avail = kind.available(ctx);
    if (!avail.ok) {
      process.stderr.write(`soak: ${kind.name} unavailable: ${avail.reason}\n`);
      return 1;
    }
    const bport = await freePort();
    const backend = sup.spawn("backend", process.execPath, [
      join(repoRoot, "bench/backend.mjs"),
      String(bport),
    ]);
    await waitForPort(bport, 10_000, backend);
    const chain = await startChain(ctx, kind, 1, bport);
    const empty = grpcFrame(new Uint8Array(0));
    await probe(chain.entryPort, "/helloworld.World/Greeting", empty, 1);
    const dataFile = join(rundir, "empty.grpc");
    writeFileSync(dataFile, empty);
    const pids = chain.children.map((c) => c.pid);
    const samples: RssSample[] = [];
    const t0 = Date.now();
    const endAt = t0 + o.minutes * 60_000;
    let requests = 0;
    const clients = 4;
    const flags =
      kind === naive
        ? ""
        : ` (${relative(repoRoot, l5dEntry(repoRoot))}), node ${l5dNodeFlags(repoRoot).join(" ") || "(no flags)"}, ${Object.entries(
            l5dEnv(repoRoot),
          )
            .map(([k, v]) => `${k}=${v}`)
            .join(" ")}`;
    console.log(
      `soak: ${kind.name}${flags}, ${o.rate} req/s, ${o.minutes} min, sample every ${o.sampleS} s`,
    );
    console.log(`minute\trequests\trss_mib\thwm_mib`);
    while (Date.now() < endAt) {
      const left = (endAt - Date.now()) / 1000;
      const s = await runH2load(sup, h2.path, {
        url: `http://127.0.0.1:${chain.entryPort}/helloworld.World/Greeting`,
        dataFile,
        headers: ["content-type: application/grpc", "te: trailers"],
        clients,
        streams: 10,
        durationS: Math.max(1, Math.min(o.sampleS, Math.round(left))),
        rpsPerClient: Math.max(1, Math.round(o.rate / clients)),
      });
      requests += s.succeeded;
      const u = sampleTrees(pids);
      const sample = { minute: (Date.now() - t0) / 60_000, rssKb: u.rssKb, requests };
      samples.push(sample);
      console.log(
        `${sample.minute.toFixed(2)}\t${requests}\t${(u.rssKb / 1024).toFixed(1)}\t${(u.hwmKb / 1024).toFixed(1)}`,
      );
      if (s.failed + s.errored > 0)
        console.log(`soak: ${s.failed + s.errored} failed request(s) in this interval`);
      if (chain.children.some((c) => c.hasExited())) {
        console.log(`soak: verdict: FAILED, ${kind.name} exited`);
        return 1;
      }
    }
    const v = soakVerdict(samples);
    const last = samples[samples.length - 1];
    const under64 = last !== undefined && last.rssKb <= 64 * 1024;
    console.log(
      `soak: RSS after ${requests} requests: ${((last?.rssKb ?? 0) / 1024).toFixed(1)} MiB (${under64 ? "≤" : ">"} 64 MiB target)`,
    );
    console.log(`soak: verdict: ${v.text}`);
    return v.ok ? 0 : 1;
  } finally {
    await sup.stopAll();
    rmSync(rundir, { recursive: true, force: true });
  }
}
