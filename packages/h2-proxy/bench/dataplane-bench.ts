/**
 * Data-plane benchmark (a script, not a test): CPU µs per proxied request and req/s of
 * our data plane against a naive ~60-line node:http2 forwarding proxy, one hop, unary
 * gRPC-shaped requests, on loopback.
 *
 *   pnpm --filter @l5d/h2-proxy exec tsx bench/dataplane-bench.ts [requests] [concurrency]
 *
 * Processes: backend, proxy under test, load client (each its own node process). The proxy's
 * CPU time is read with process.cpuUsage() in the proxy process before and after the load.
 */
import { type ChildProcess, fork, spawn as spawnProcess } from "node:child_process";
import { existsSync } from "node:fs";
import * as http2 from "node:http2";
import * as net from "node:net";
import { fileURLToPath } from "node:url";

const self = fileURLToPath(import.meta.url);
const mode = process.argv[2] ?? "";

const GRPC_REQ_HEADERS = {
  ":method": "POST",
  ":path": "/helloworld.Hello/Greet",
  ":scheme": "http",
  ":authority": "hello",
  "content-type": "application/grpc",
  te: "trailers",
};

function grpcFrame(text: string): Buffer {
  const msg = Buffer.from(text);
  const b = Buffer.alloc(5 + msg.length);
  b.writeUInt32BE(msg.length, 1);
  msg.copy(b, 5);
  return b;
}

function reportReady(port: number): void {
  process.once("SIGINT", () => process.exit(0));
  process.send?.({ ready: port });
  process.on("message", (m: { cpu?: boolean }) => {
    if (m.cpu === true) {
      const u = process.cpuUsage();
      process.send?.({ cpu: u.user + u.system, rss: process.memoryUsage().rss });
    }
  });
}

/** A node:http2 backend answering a unary gRPC-shaped call. */
function backend(): void {
  const reply = grpcFrame("\n\x0bHello world");
  const server = http2.createServer();
  server.on("connection", (s: net.Socket) => s.setNoDelay(true));
  server.on("stream", (stream) => {
    stream.on("error", () => {});
    stream.on("data", () => {});
    stream.on("end", () => {
      stream.respond(
        { ":status": 200, "content-type": "application/grpc" },
        { waitForTrailers: true },
      );
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(reply);
    });
  });
  server.listen(0, "127.0.0.1", () => reportReady((server.address() as { port: number }).port));
}

/**
 * The naive forwarding proxy of issue #9 (~147 µs/request there), as plain JavaScript so it
 * runs in an untranspiled node process, like our built data plane.
 */
const NAIVE_JS = `
import * as http2 from "node:http2";
import * as net from "node:net";
const backendPort = Number(process.argv[1]);
const HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);
let upstream;
function getUpstream() {
  if (upstream === undefined || upstream.closed || upstream.destroyed) {
    upstream = http2.connect("http://127.0.0.1:" + backendPort, {
      createConnection: () => net.connect({ host: "127.0.0.1", port: backendPort, noDelay: true }),
    });
    upstream.on("error", () => {});
  }
  return upstream;
}
const server = http2.createServer();
server.on("connection", (s) => s.setNoDelay(true));
server.on("stream", (down, headers) => {
  down.on("error", () => {});
  const out = {};
  for (const k in headers) if (!HOP.has(k)) out[k] = headers[k];
  const up = getUpstream().request(out, { endStream: down.endAfterHeaders, waitForTrailers: !down.endAfterHeaders });
  up.on("error", () => {});
  let trailers = {};
  up.on("wantTrailers", () => up.sendTrailers({}));
  down.pipe(up);
  up.on("response", (h) => {
    const rh = {};
    for (const k in h) if (!HOP.has(k)) rh[k] = h[k];
    down.respond(rh, { waitForTrailers: true });
    down.on("wantTrailers", () => down.sendTrailers(trailers));
    up.pipe(down);
  });
  up.on("trailers", (t) => { trailers = { ...t }; });
  up.on("close", () => {
    if (!down.destroyed && !down.headersSent) down.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  });
  down.on("close", () => { if (!up.destroyed) up.close(http2.constants.NGHTTP2_CANCEL); });
});
server.listen(0, "127.0.0.1", () => READY(server.address().port));
`;

/** Our data plane (the built dist/) with a static route. */
const OURS_JS = `
import { startProxyServer } from ${JSON.stringify(new URL("../dist/dataplane/index.js", import.meta.url).href)};
const target = { host: "127.0.0.1", port: Number(process.argv[1]) };
const server = await startProxyServer({
  host: "127.0.0.1",
  port: 0,
  onRequest(req) { void req.forward(target); },
});
READY(server.port);
`;

const READY_JS = `
const READY = (port) => {
  process.once("SIGINT", () => process.exit(0));
  process.send({ ready: port });
  process.on("message", (m) => {
    if (m.cpu === true) {
      const u = process.cpuUsage();
      process.send({ cpu: u.user + u.system, rss: process.memoryUsage().rss });
    }
  });
};
`;

/** Load client: `total` requests, `concurrency` in flight, over 2 connections. */
async function load(port: number, total: number, concurrency: number): Promise<void> {
  const sessions = [0, 1].map(() => {
    const s = http2.connect(`http://127.0.0.1:${port}`, {
      createConnection: () => net.connect({ host: "127.0.0.1", port, noDelay: true }),
    });
    s.on("error", () => {});
    return s;
  });
  const body = grpcFrame("\n\x05world");
  let started = 0;
  let done = 0;
  let failed = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const one = (): void => {
      if (started >= total) return;
      const s = sessions[started++ % 2] as http2.ClientHttp2Session;
      const req = s.request(GRPC_REQ_HEADERS);
      let ok = false;
      req.on("trailers", (t) => {
        ok = t["grpc-status"] === "0";
      });
      req.on("data", () => {});
      req.on("error", () => {});
      req.on("close", () => {
        if (!ok) failed++;
        if (++done === total) resolve();
        else one();
      });
      req.end(body);
    };
    for (let i = 0; i < concurrency; i++) one();
  });
  const secs = (performance.now() - t0) / 1000;
  for (const s of sessions) s.close();
  process.send?.({ rps: total / secs, failed });
  process.exit(0);
}

interface Child {
  proc: ChildProcess;
  port: number;
}

function spawn(args: string[]): Promise<Child> {
  const kind = args[0] as string;
  const prof =
    process.env.DATAPLANE_BENCH_PROF === kind ? ["--cpu-prof", "--cpu-prof-dir=/tmp/dp-prof"] : [];
  const source = kind === "naive" ? NAIVE_JS : kind === "ours" ? OURS_JS : undefined;
  const proc =
    source === undefined
      ? fork(self, args, { execArgv: ["--import", "tsx", ...prof], stdio: "inherit" })
      : spawnProcess(
          process.execPath,
          [...prof, "--input-type=module", "-e", READY_JS + source, ...args.slice(1)],
          { stdio: ["inherit", "inherit", "inherit", "ipc"] },
        );
  return new Promise((resolve, reject) => {
    proc.once("error", reject);
    proc.once("message", (m: { ready?: number }) => resolve({ proc, port: m.ready as number }));
  });
}

function ask<T>(proc: ChildProcess, msg: object): Promise<T> {
  return new Promise((resolve) => {
    proc.once("message", (m: T) => resolve(m));
    proc.send(msg);
  });
}

function runLoad(
  port: number,
  total: number,
  concurrency: number,
): Promise<{ rps: number; failed: number }> {
  const proc = fork(self, ["load", String(port), String(total), String(concurrency)], {
    execArgv: ["--import", "tsx"],
    stdio: "inherit",
  });
  return new Promise((resolve) =>
    proc.once("message", (m: { rps: number; failed: number }) => resolve(m)),
  );
}

async function main(): Promise<void> {
  if (!existsSync(new URL("../dist/dataplane/index.js", import.meta.url))) {
    console.error("build first: pnpm exec turbo run build --filter=@l5d/h2-proxy...");
    process.exit(1);
  }
  const total = Number(process.argv[2] ?? "20000");
  const concurrency = Number(process.argv[3] ?? "64");
  const be = await spawn(["backend"]);
  const results: Record<
    string,
    { cpuUsPerReq: number; rps: number; rssMb: number; failed: number }
  > = {};
  for (const kind of ["naive", "ours", "naive", "ours"]) {
    const proxy = await spawn([kind, String(be.port)]);
    await runLoad(proxy.port, Math.min(5000, total), concurrency); // warm-up (JIT, connections)
    const before = await ask<{ cpu: number }>(proxy.proc, { cpu: true });
    const { rps, failed } = await runLoad(proxy.port, total, concurrency);
    const after = await ask<{ cpu: number; rss: number }>(proxy.proc, { cpu: true });
    proxy.proc.kill("SIGINT");
    const cpuUsPerReq = (after.cpu - before.cpu) / total;
    const prev = results[kind];
    // Keep the better of two rounds (less noise from the other processes on 2 cores).
    if (prev === undefined || cpuUsPerReq < prev.cpuUsPerReq) {
      results[kind] = { cpuUsPerReq, rps, rssMb: after.rss / 2 ** 20, failed };
    }
    console.log(
      `${kind.padEnd(6)} cpu=${cpuUsPerReq.toFixed(1)} µs/req  ${rps.toFixed(0)} req/s  rss=${(after.rss / 2 ** 20).toFixed(0)} MB  failed=${failed}`,
    );
  }
  be.proc.kill();
  const o = results.ours as { cpuUsPerReq: number; rps: number };
  const n = results.naive as { cpuUsPerReq: number; rps: number };
  console.log(`\nrequests=${total} concurrency=${concurrency} (best of 2 rounds)`);
  console.log(
    `ours_cpu_us_per_req=${o.cpuUsPerReq.toFixed(1)} naive_cpu_us_per_req=${n.cpuUsPerReq.toFixed(1)} ratio=${(o.cpuUsPerReq / n.cpuUsPerReq).toFixed(2)} ours_rps=${o.rps.toFixed(0)} naive_rps=${n.rps.toFixed(0)}`,
  );
}

if (mode === "backend") backend();
else if (mode === "load")
  void load(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]));
else await main();
