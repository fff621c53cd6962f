/**
 * Attack-suite support (issue #14): the relay in a child process (`relay-child.ts`, RSS read from
 * /proc), a node:http2 backend, a well-behaved probe client measuring latency through the relay
 * while an attack runs, and raw attacker connections that write pre-built frame batches until
 * the relay closes them. Every loop is bounded in count and time; loopback only.
 */
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import * as http2 from "node:http2";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { l5dEnv, l5dNodeFlags } from "@l5d/bench/l5d-flags";
import { CLIENT_PREFACE, encodeFrame, FrameType } from "@l5d/h2";
import type { AttackPlan, AttackRound } from "./attacker-worker.js";

export type { AttackRound } from "./attacker-worker.js";

export interface LimitEvent {
  readonly name: string;
  readonly detail: string;
  readonly side: string;
  readonly at: number;
}

export interface RelayChild {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly limits: LimitEvent[];
  close(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (from src/relay/attacks or dist/relay/attacks alike). */
const REPO = join(here, "../../../../..");
/**
 * The built child script (the tests run after `pnpm build`); `L5D_ATTACK_CHILD` points at another
 * build's copy (the "before" numbers: the same suite against an older relay).
 */
const CHILD =
  process.env.L5D_ATTACK_CHILD ??
  (here.includes(`${"/"}dist${"/"}`)
    ? join(here, "relay-child.js")
    : join(here, "../../../dist/relay/attacks/relay-child.js"));

/** Starts the relay in a child process forwarding to `backendPort`, with JSON-safe `options`. */
export async function startRelayChild(
  backendPort: number,
  options: Record<string, unknown> = {},
): Promise<RelayChild> {
  const child: ChildProcess = fork(CHILD, [JSON.stringify({ backendPort, options })], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    // as the image's launcher runs l5d (node flags, glibc malloc settings): the budgets are the
    // product's (its young generation and malloc arenas decide how soon RSS comes back)
    execArgv: l5dNodeFlags(REPO),
    env: { ...process.env, ...l5dEnv(REPO) },
  });
  const limits: LimitEvent[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("relay child did not start in 10 s")), 10_000);
    child.once("error", reject);
    child.on("message", (m: { type: string; port?: number } & LimitEvent) => {
      if (m.type === "ready") {
        clearTimeout(t);
        resolve(m.port as number);
      } else if (m.type === "limit") limits.push(m);
    });
  });
  return {
    process: child,
    pid: child.pid as number,
    port,
    limits,
    close: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        const t = setTimeout(() => child.kill("SIGKILL"), 3_000);
        child.once("exit", () => {
          clearTimeout(t);
          r();
        });
        child.disconnect();
      }),
  };
}

/** The child's `process.memoryUsage()`, with the relay's open streams and queued response bytes. */
export interface ChildMem extends NodeJS.MemoryUsage {
  readonly streams: number;
  readonly bufferedBytes: number;
}

export function memOf(child: RelayChild): Promise<ChildMem> {
  return new Promise((resolve) => {
    const on = (m: { type: string } & ChildMem): void => {
      if (m.type !== "mem") return;
      child.process.off("message", on);
      resolve(m);
    };
    child.process.on("message", on);
    child.process.send({ type: "mem" });
  });
}

/** The process's resident set (VmRSS) in bytes. */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Polls until the RSS of `pid` is within `slack` bytes of `base` (or `timeoutMs`); the last reading. */
export async function rssSettled(
  pid: number,
  base: number,
  slack: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let rss = rssOf(pid);
  while (rss > base + slack && Date.now() < deadline) {
    await sleep(100);
    rss = rssOf(pid);
  }
  return rss;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}

export interface ProbeResult {
  readonly latencies: number[];
  /** Requests that did not answer 200 "ok" (status or error), with what happened. */
  readonly failures: string[];
}

/**
 * A well-behaved client: one node:http2 connection through the relay, a GET every `everyMs`
 * (at most one outstanding; bounded by `stop()`), each latency recorded.
 */
export function startProbe(port: number, everyMs = 15): { stop(): Promise<ProbeResult> } {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  const latencies: number[] = [];
  const failures: string[] = [];
  let stopped = false;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = session.request({ ":method": "GET", ":path": "/probe" });
      let status = 0;
      let body = "";
      req.on("response", (h) => {
        status = Number(h[":status"]);
      });
      req.setEncoding("utf8");
      req.on("data", (c: string) => {
        body += c;
      });
      req.on("error", (e: Error) => {
        failures.push(`error ${e.message}`);
      });
      req.on("close", () => {
        if (status === 200 && body === "ok") latencies.push(performance.now() - t0);
        else if (status !== 0 || req.rstCode !== 0)
          failures.push(`status ${status} rst ${req.rstCode} body ${body.slice(0, 80)}`);
        else failures.push("no response");
        resolve();
      });
      req.end();
    });
  const loop = (async () => {
    // bounded: at most 10,000 requests
    for (let i = 0; i < 10_000 && !stopped; i++) {
      const t0 = performance.now();
      await one();
      const left = everyMs - (performance.now() - t0);
      if (left > 0) await sleep(left);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      session.destroy();
      return { latencies, failures };
    },
  };
}

/**
 * Legitimate load before a measurement: `concurrency` request loops on one node:http2 connection
 * for `ms` (bounded: at most 100,000 requests). The relay's heap (V8's young generation grows
 * with the allocation rate) is then at a serving relay's size: the RSS baseline is that of a
 * relay that has been carrying traffic, not of an idle one.
 */
export async function warmLoad(port: number, ms: number, concurrency = 32): Promise<number> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  const end = performance.now() + ms;
  let n = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < end && n < 100_000) {
      n++;
      await new Promise<void>((resolve) => {
        const req = session.request({ ":method": "GET", ":path": "/probe" });
        req.on("error", () => {});
        req.resume();
        req.on("close", () => resolve());
        req.end();
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  session.destroy();
  return n;
}

const BACKEND = here.includes(`${"/"}dist${"/"}`)
  ? join(here, "backend-worker.js")
  : join(here, "../../../dist/relay/attacks/backend-worker.js");

/**
 * A node:http2 backend in a worker thread: `/big` → `bigBytes` of body, else 200 "ok".
 */
export async function startBackend(bigBytes = 64 << 20): Promise<{
  port: number;
  close(): Promise<void>;
}> {
  const w = new Worker(BACKEND, { workerData: { bigBytes } });
  const port = await new Promise<number>((resolve, reject) => {
    w.once("message", (p: number) => resolve(p));
    w.once("error", reject);
  });
  return {
    port,
    close: async () => {
      const exited = new Promise<void>((r) => w.once("exit", () => r()));
      w.postMessage("close");
      const t = setTimeout(() => void w.terminate(), 2_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** The preface and an empty SETTINGS: what every attacker sends first. */
export const HELLO = Buffer.concat([
  CLIENT_PREFACE,
  encodeFrame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0)),
]);

export interface AttackOptions {
  readonly port: number;
  /** The attacker reads what it is sent (false: a peer that never reads). */
  readonly read: boolean;
  /** Bytes written once after the preface (setup frames: opening a stream...). */
  readonly setup?: Buffer;
  /**
   * One batch of attack frames (batch index `i`) and its frame count; batches are built here up
   * front (`batches` of them, default 1 cycled; per-stream attacks pass enough fresh ids).
   */
  readonly batch: (i: number) => { bytes: Buffer; frames: number };
  readonly batches?: number;
  /** Frames after which the limit is crossed (attacker-side close time). */
  readonly crossAfter: number;
  /** Total attack time: connections are reopened until it is over. */
  readonly durationMs: number;
  /** Bound on one connection's life (a relay that never closes it fails the test). */
  readonly roundMs?: number;
  readonly maxRounds?: number;
}

const WORKER = here.includes(`${"/"}dist${"/"}`)
  ? join(here, "attacker-worker.js")
  : join(here, "../../../dist/relay/attacks/attacker-worker.js");

/** Attacker connections one after the other for `durationMs`, from a worker thread. */
export async function attack(o: AttackOptions): Promise<AttackRound[]> {
  const count = o.batches ?? 1;
  const built = Array.from({ length: count }, (_, i) => o.batch(i));
  const plan: AttackPlan = {
    port: o.port,
    read: o.read,
    hello: o.setup === undefined ? HELLO : Buffer.concat([HELLO, o.setup]),
    batches: built.map((b) => b.bytes),
    framesPerBatch: built.map((b) => b.frames),
    repeat: o.batches === undefined,
    crossAfter: o.crossAfter,
    durationMs: o.durationMs,
    roundMs: o.roundMs ?? 2_000,
    maxRounds: o.maxRounds ?? 10,
  };
  const w = new Worker(WORKER, { workerData: plan });
  const rounds: AttackRound[] = [];
  await new Promise<void>((resolve, reject) => {
    w.on("message", (m: AttackRound | null) => {
      if (m === null) resolve();
      else rounds.push(m);
    });
    w.once("error", reject);
    w.once("exit", () => resolve());
  });
  await w.terminate();
  return rounds;
}
