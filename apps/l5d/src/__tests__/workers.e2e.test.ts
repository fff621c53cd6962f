/**
 * `workers: n` end to end, on the bundle (dist/bundle/main.js) as a real process tree: the
 * primary keeps the k8s namer (against the API stand-in) and the admin server, two forked
 * workers share the router's port; real gRPC backends on loopback, each call on its own
 * HTTP/2 connection so that node's cluster hands connections to both workers.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useTestCerts } from "@l5d/h2-proxy/testing";
import { startHelloWorldServer } from "@l5d/helloworld";
import { type Standin, startStandin } from "@l5d/k8s-standin";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  EMPTY_GRPC_FRAME,
  freePort,
  h2request,
  k8sBackend,
  stopChild,
  waitForAdminPing,
} from "./support.js";

const root = new URL("../../../../", import.meta.url).pathname;
const bundle = join(root, "apps/l5d/dist/bundle/main.js");
const dir = mkdtempSync(join(tmpdir(), "l5d-workers-test-"));
const certs = useTestCerts();

const cleanup: Array<() => PromiseLike<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Daemon {
  readonly child: ChildProcess;
  readonly port: number;
  readonly admin: string;
  readonly out: () => string;
  stop(): Promise<number | null>;
}

async function startDaemon(
  workers: number,
  k8sPort: number,
  serverPort?: number,
  serverTls?: { certPath: string; keyPath: string },
): Promise<Daemon> {
  const [adminPort, port] = [await freePort(), serverPort ?? (await freePort())];
  const cfg = join(dir, `l5d-${adminPort}.yaml`);
  writeFileSync(
    cfg,
    `workers: ${workers}
admin: {ip: 127.0.0.1, port: ${adminPort}, shutdownGraceMs: 1000}
telemetry:
- kind: io.l5d.recentRequests
  sampleRate: 1.0
  capacity: 6
namers:
- kind: io.l5d.k8s
  experimental: true
  host: 127.0.0.1
  port: ${k8sPort}
routers:
- protocol: h2
  label: outgoing
  experimental: true
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: /svc/* => /#/io.l5d.k8s/default/grpc/world;
  servers: [{ip: 127.0.0.1, port: ${port}${serverTls ? `, tls: {certPath: ${serverTls.certPath}, keyPath: ${serverTls.keyPath}}` : ""}}]
`,
  );
  const child = spawn(process.execPath, [bundle, cfg], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (out += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (out += s));
  const stop = () => stopChild(child, 15_000);
  cleanup.push(stop);
  const admin = `http://127.0.0.1:${adminPort}`;
  return { child, port, admin, out: () => out, stop };
}

function waitForAdmin(d: Daemon): Promise<void> {
  return waitForAdminPing(d.child, d.admin, d.out, 150, 100);
}

/** One gRPC Greeting call on a connection of its own; the greeting's text, or the error. */
async function greet(port: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no answer in 5 s")), 5_000);
  });
  try {
    return await Promise.race([greetOnce(port), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function greetOnce(port: number): Promise<string> {
  const r = await h2request(
    `127.0.0.1:${port}`,
    {
      ":method": "POST",
      ":path": "/helloworld.World/Greeting",
      "content-type": "application/grpc",
      te: "trailers",
    },
    EMPTY_GRPC_FRAME,
  );
  const status = r.trailers["grpc-status"] ?? r.headers["grpc-status"];
  if (status !== "0") throw new Error(`grpc-status ${String(status)}: ${r.headers["l5d-err"]}`);
  // the reply is one gRPC frame: a 5-byte prefix, then field 1 (tag 0x0a, length, text)
  return r.body.subarray(7).toString("utf8");
}

interface WorkerView {
  index: number;
  pid: number | null;
  state: string;
  restarts: number;
  requests: number;
  bindings: number;
}

async function workersJson(d: Daemon): Promise<WorkerView[]> {
  return (await (await fetch(`${d.admin}/workers.json`)).json()) as WorkerView[];
}

async function metrics(d: Daemon): Promise<Record<string, number>> {
  return (await (await fetch(`${d.admin}/admin/metrics.json`)).json()) as Record<string, number>;
}

/** Whether `pid` is a live process (a zombie waiting for its parent counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

async function waitUntil(cond: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/** Starts the API stand-in with `world` on a backend answering `text`. */
async function k8sWith(text: string): Promise<{ s: Standin; port: number }> {
  const w = await startHelloWorldServer({ addr: "127.0.0.1:0", text });
  cleanup.push(() => w.close());
  const s = await startStandin({ objects: k8sBackend("world", w.port) });
  cleanup.push(() => s.close());
  return { s, port: w.port };
}

describe("workers: n", () => {
  it("two workers share the port, bind through the primary's one set of namer watches, and the admin sums their metrics", async () => {
    const { s } = await k8sWith("world");
    const calls = 8;

    // the same traffic through one process first: how many watches does one l5d hold?
    const single = await startDaemon(1, s.port);
    await waitForAdmin(single);
    for (let i = 0; i < calls; i++) expect(await greet(single.port)).toBe("world!");
    const singleWatches = s.openWatches;
    expect(singleWatches).toBeGreaterThan(0);
    expect(await single.stop()).toBe(0);
    expect(await waitUntil(() => s.openWatches === 0, 5_000)).toBe(true);

    const d = await startDaemon(2, s.port);
    await waitForAdmin(d);
    for (let i = 0; i < calls; i++) expect(await greet(d.port)).toBe("world!");

    const ws = await workersJson(d);
    expect(ws.map((w) => w.state)).toEqual(["ready", "ready"]);
    const pids = ws.map((w) => w.pid!);
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(d.child.pid);
    // node's cluster hands new connections to the workers in turn: both served
    for (const w of ws) expect(w.requests).toBeGreaterThan(0);
    expect(ws[0]!.requests + ws[1]!.requests).toBe(calls);
    // the namer runs in the primary alone: as many watches as one process holds
    expect(s.openWatches).toBe(singleWatches);

    const m = await metrics(d);
    const scope = `rt/outgoing/server/127.0.0.1/${d.port}`;
    expect(m[`${scope}/requests`]).toBe(calls);
    expect(m[`${scope}/success`]).toBe(calls);
    expect(m[`${scope}/request_latency_ms.count`]).toBe(calls);
    expect(m["workers/restarts"]).toBe(0);
    // the endpoint set every worker sees is one endpoint, not one per worker
    expect(m["rt/outgoing/client/#/io.l5d.k8s/default/grpc/world/endpoints"]).toBe(1);
    expect(m["rt/outgoing/client/#/io.l5d.k8s/default/grpc/world/loadbalancer/size"]).toBe(1);
    const routers = (await (await fetch(`${d.admin}/routers.json`)).json()) as Array<{
      servers: Array<{ port: number }>;
      clients: Array<{ id: string; endpoints: Array<{ requests: number }> }>;
    }>;
    expect(routers[0]!.servers.map((x) => x.port)).toEqual([d.port]);
    expect(routers[0]!.clients.map((c) => c.id)).toEqual(["/#/io.l5d.k8s/default/grpc/world"]);
    expect(routers[0]!.clients[0]!.endpoints[0]!.requests).toBe(calls);

    // io.l5d.recentRequests: each worker samples its own requests; the admin shows the newest
    // of them all, at most `capacity`
    const recent = (await (await fetch(`${d.admin}/requests.json`)).json()) as Array<{
      at: number;
      path: string;
    }>;
    expect(recent.map((r) => r.path)).toEqual(Array(6).fill("/helloworld.World/Greeting"));
    expect(recent.map((r) => r.at)).toEqual([...recent.map((r) => r.at)].sort((a, b) => b - a));

    // a change the primary's namer sees reaches both workers
    const earth = await startHelloWorldServer({ addr: "127.0.0.1:0", text: "earth" });
    cleanup.push(() => earth.close());
    for (const o of k8sBackend("world", earth.port)) s.apply(o);
    let answers: string[] = [];
    const moved = await waitUntil(async () => {
      answers = await Promise.all(Array.from({ length: 4 }, () => greet(d.port)));
      return answers.every((a) => a === "earth!");
    }, 10_000);
    expect(answers).toEqual(["earth!", "earth!", "earth!", "earth!"]);
    expect(moved).toBe(true);
    const after = await workersJson(d);
    for (const w of after) expect(w.requests).toBeGreaterThan(ws[w.index]!.requests);

    // SIGTERM drains the workers and the primary: every process is gone, exit code 0
    expect(await d.stop()).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(await waitUntil(() => s.openWatches === 0, 5_000)).toBe(true);
  }, 60_000);

  it("a worker that dies is replaced; the port keeps serving and the restart is counted", async () => {
    const { s } = await k8sWith("world");
    const d = await startDaemon(2, s.port);
    await waitForAdmin(d);
    for (let i = 0; i < 4; i++) expect(await greet(d.port)).toBe("world!");
    const before = await workersJson(d);
    const scope = `rt/outgoing/server/127.0.0.1/${d.port}`;
    expect((await metrics(d))[`${scope}/requests`]).toBe(4);

    // a worker that does not answer (stopped) delays the metrics, never the liveness probe
    process.kill(before[1]!.pid!, "SIGSTOP");
    try {
      const t0 = performance.now();
      expect(await (await fetch(`${d.admin}/admin/ping`)).text()).toBe("pong");
      expect(performance.now() - t0).toBeLessThan(500);
      expect((await metrics(d))[`${scope}/requests`]).toBe(4);
    } finally {
      process.kill(before[1]!.pid!, "SIGCONT");
    }

    process.kill(before[0]!.pid!, "SIGKILL");
    // once the primary has seen it go (node's cluster cannot hand a connection accepted in
    // that instant to anyone: see the README), the other worker serves every new connection
    expect(await waitUntil(async () => (await workersJson(d))[0]!.restarts === 1, 5_000)).toBe(
      true,
    );
    for (let i = 0; i < 4; i++) expect(await greet(d.port)).toBe("world!");
    const back = await waitUntil(async () => {
      const ws = await workersJson(d);
      return ws[0]!.state === "ready" && ws[0]!.pid !== before[0]!.pid;
    }, 10_000);
    expect(back).toBe(true);
    const ws = await workersJson(d);
    expect(ws[0]!.restarts).toBe(1);
    expect(ws[1]!.pid).toBe(before[1]!.pid);
    expect((await metrics(d))["workers/restarts"]).toBe(1);
    for (let i = 0; i < 6; i++) expect(await greet(d.port)).toBe("world!");
    const served = await workersJson(d);
    expect(served[0]!.requests).toBeGreaterThan(0);
    // the dead worker's requests stay in the sum: 4 + 4 + 6, whoever served them
    expect((await metrics(d))[`${scope}/requests`]).toBe(14);

    // a primary that dies without draining takes its workers with it (their IPC channel closes)
    const pids = served.map((w) => w.pid!);
    d.child.kill("SIGKILL");
    expect(await waitUntil(() => pids.every((p) => !alive(p)), 10_000)).toBe(true);
  }, 60_000);

  it("a port the workers cannot open stops the daemon at start with the reason", async () => {
    const { s } = await k8sWith("world");
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    cleanup.push(() => new Promise((r) => taken.close(r)));
    const port = (taken.address() as { port: number }).port;
    const d = await startDaemon(2, s.port, port);
    const code = await new Promise<number | null>((r) => d.child.once("exit", (c) => r(c)));
    expect(code).toBe(1);
    expect(d.out()).toContain(`workers: routers[outgoing].servers 127.0.0.1:${port}`);
    expect(d.out()).toContain("EADDRINUSE");
  }, 30_000);

  it("SIGTERM while a replaced worker is still starting stops every process within the grace period", async () => {
    const { s } = await k8sWith("world");
    const d = await startDaemon(2, s.port);
    await waitForAdmin(d);
    const before = await workersJson(d);
    process.kill(before[0]!.pid!, "SIGKILL");
    // the replacement is forked (1 s after a young worker's death) and is booting
    const forked = await waitUntil(async () => {
      const w = (await workersJson(d))[0]!;
      return w.state === "starting" && w.pid !== null && w.pid !== before[0]!.pid;
    }, 5_000);
    expect(forked).toBe(true);
    const booting = (await workersJson(d))[0]!.pid!;
    const t0 = performance.now();
    // shutdownGraceMs is 1 s; a worker that missed the stop was killed only after grace + 5 s
    expect(await d.stop()).toBe(0);
    expect(performance.now() - t0).toBeLessThan(3_000);
    for (const pid of [booting, before[1]!.pid!]) expect(alive(pid)).toBe(false);
  }, 30_000);

  it("a replacement worker that cannot start (its TLS key went bad on disk) is retried with backoff, and starts once the key is good again", async () => {
    const { s } = await k8sWith("world");
    const certPath = join(dir, "server.crt");
    const keyPath = join(dir, "server.key");
    writeFileSync(certPath, certs.read(certs.serverCert));
    writeFileSync(keyPath, certs.read(certs.serverKey));
    const d = await startDaemon(2, s.port, undefined, { certPath, keyPath });
    await waitForAdmin(d);
    const before = await workersJson(d);
    // the running workers keep their credentials (a bad file is not reloaded); a new one fails
    writeFileSync(keyPath, "not a key\n");
    process.kill(before[0]!.pid!, "SIGKILL");
    // it fails, exits and is forked again: restarts keep coming (it was left "starting" for good)
    const retried = await waitUntil(async () => (await workersJson(d))[0]!.restarts >= 3, 15_000);
    expect(retried).toBe(true);
    expect(d.out()).toContain("worker startup failed");
    expect((await workersJson(d))[1]).toMatchObject({ state: "ready", pid: before[1]!.pid });
    writeFileSync(keyPath, certs.read(certs.serverKey));
    const back = await waitUntil(async () => (await workersJson(d))[0]!.state === "ready", 20_000);
    expect(back).toBe(true);
    // the delays doubled: 1 s, 2 s, 4 s... (logged with each restart)
    const delays = [...d.out().matchAll(/"delayMs":(\d+)/g)].map((m) => Number(m[1]));
    expect(delays.slice(0, 3)).toEqual([1_000, 2_000, 4_000]);
  }, 60_000);
});
