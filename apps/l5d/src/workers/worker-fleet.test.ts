/**
 * The fleet's restart policy with real forked processes (node:cluster): a worker that does not
 * serve within the start deadline is killed and restarted with a doubling delay, and a worker
 * that served past `stableMs` before it died starts again after the first delay. The worker
 * here is a stand-in process that speaks the fleet's wire protocol (`config?`, then `ready` or
 * nothing, as a file tells it at its start): the real worker's start-up is what
 * `__tests__/workers.e2e.test.ts` runs; this pins the fleet's timings, shortened.
 */
import cluster from "node:cluster";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { MetricsRegistry } from "@l5d/h2-proxy";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { type FleetTimings, WorkerFleet } from "./worker-fleet.js";

const dir = mkdtempSync(join(tmpdir(), "l5d-fleet-"));
const modeFile = join(dir, "mode");
const script = join(dir, "fake-worker.mjs");
writeFileSync(
  script,
  `import { readFileSync } from "node:fs";
const mode = readFileSync(${JSON.stringify(modeFile)}, "utf8").trim();
process.on("message", (m) => {
  if (m && m.l5d === "shutdown") process.exit(0);
  if (m && m.l5d === "config" && mode === "ready") process.send({ l5d: "ready", servers: [] });
});
process.send({ l5d: "config?" });
setInterval(() => {}, 1_000);
`,
);
cluster.setupPrimary({ exec: script, args: [], silent: true });

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(10);
  }
  return cond();
}

function fleetWith(timings: FleetTimings) {
  const records: Array<{ msg: string; delayMs?: number; pid?: number }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n")) if (line) records.push(JSON.parse(line));
      done();
    },
  });
  const metrics = new MetricsRegistry();
  const restarts = metrics.counter("workers/restarts");
  const fleet = new WorkerFleet({
    count: 1,
    configText: "routers: []",
    logLevel: "info",
    interpreters: new Map(),
    log: pino({ level: "debug" }, sink),
    restarts,
    timings,
  });
  const msgs = (m: string) => records.filter((r) => r.msg === m);
  const pid = () => Object.values(cluster.workers ?? {})[0]?.process.pid;
  return { fleet, records, restarts, msgs, pid };
}

/** A fleet of one worker, serving (restarts after 40 ms, doubling up to 2 s). */
async function serving(t: Pick<FleetTimings, "stableMs" | "startTimeoutMs">) {
  writeFileSync(modeFile, "ready");
  const f = fleetWith({ restartMs: 40, maxRestartMs: 2_000, ...t });
  await f.fleet.start();
  return f;
}

afterAll(() => {
  for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGKILL");
});

describe("the worker fleet's restarts (real processes)", () => {
  it("a worker that does not serve within the start deadline is killed and restarted, its delays doubling", async () => {
    const f = await serving({ stableMs: 60_000, startTimeoutMs: 300 });
    expect(f.msgs("worker serving")).toHaveLength(1);
    // from now on a new worker never answers its config with "ready"
    writeFileSync(modeFile, "hang");
    process.kill(f.pid() as number, "SIGKILL");
    expect(
      await until(() => f.msgs("worker did not start in time: killed").length >= 2, 5_000),
    ).toBe(true);
    // each hung worker was killed at the deadline and replaced after a longer wait than the last
    const delays = f.msgs("restarting worker").map((r) => r.delayMs);
    expect(delays.slice(0, 3)).toEqual([80, 160, 320].slice(0, delays.length));
    expect(delays.length).toBeGreaterThanOrEqual(2);
    // a worker that can start again serves, and is not killed
    writeFileSync(modeFile, "ready");
    expect(await until(() => f.msgs("worker serving").length === 2, 5_000)).toBe(true);
    const killed = f.msgs("worker did not start in time: killed").length;
    await sleep(400);
    expect(f.msgs("worker did not start in time: killed")).toHaveLength(killed);
    expect(f.restarts.value).toBe(f.msgs("restarting worker").length);
    await f.fleet.stop(0);
  }, 20_000);

  it("a worker that served past stableMs starts again after the first delay; one that died young backs off", async () => {
    const f = await serving({ stableMs: 500, startTimeoutMs: 5_000 });
    const killWhenServing = async (n: number) => {
      expect(await until(() => f.msgs("worker serving").length === n, 5_000)).toBe(true);
      process.kill(f.pid() as number, "SIGKILL");
      expect(await until(() => f.msgs("restarting worker").length === n, 5_000)).toBe(true);
    };
    // two deaths right after serving: 80 ms, then 160 ms
    await killWhenServing(1);
    await killWhenServing(2);
    // then one that served 0.7 s (past stableMs): back to 40 ms
    expect(await until(() => f.msgs("worker serving").length === 3, 5_000)).toBe(true);
    await sleep(700);
    process.kill(f.pid() as number, "SIGKILL");
    expect(await until(() => f.msgs("restarting worker").length === 3, 5_000)).toBe(true);
    expect(f.msgs("restarting worker").map((r) => r.delayMs)).toEqual([80, 160, 40]);
    expect(await until(() => f.msgs("worker serving").length === 4, 5_000)).toBe(true);
    await f.fleet.stop(0);
  }, 20_000);
});
