/** Test helpers: free ports, in-process daemons from YAML, raw HTTP/2 calls. */
import type { ChildProcess } from "node:child_process";
import { connect, createServer as createH2Server, type IncomingHttpHeaders } from "node:http2";
import type { AddressInfo } from "node:net";
import { createServer, connect as netConnect } from "node:net";
import { formatConfigErrors, parseLinkerdConfig } from "@l5d/config";
import { type K8sObject, pod, service } from "@l5d/k8s-standin";
import { pino } from "pino";
import { type StartedDaemon, startDaemon } from "../daemon.js";
import { createRegistries } from "../plugins.js";

/** Ports `freePort` handed out in this process: the OS may offer a just-released port again. */
const handedOut = new Set<number>();

/**
 * A port free on `host` now, never one this process was given before (two calls in a row can
 * otherwise get the same just-released port, and a config using both clashes).
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await osFreePort(host);
    if (!handedOut.has(p)) {
      handedOut.add(p);
      return p;
    }
  }
  throw new Error("no fresh free port after 50 tries");
}

function osFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export interface TestDaemon extends AsyncDisposable {
  readonly d: StartedDaemon;
  readonly adminUrl: string;
  /** `host:port` of the first server of the router with this label. */
  addr(label: string): string;
  metrics(): Promise<Record<string, number>>;
}

export async function startTestDaemon(
  yaml: string,
  env: Record<string, string | undefined> = process.env,
): Promise<TestDaemon> {
  const r = parseLinkerdConfig(yaml, createRegistries());
  if (!r.ok) throw new Error(`bad test config:\n${formatConfigErrors(r.errors)}`);
  const d = await startDaemon(r.config, pino({ level: process.env.L5D_TEST_LOG ?? "silent" }), env);
  const adminUrl = `http://${r.config.admin.ip}:${d.adminPort}`;
  return {
    d,
    adminUrl,
    addr(label) {
      const rr = d.linker.routers.find((x) => x.config.label === label);
      const s = rr?.servers[0];
      if (!s) throw new Error(`no router ${label}`);
      return `${s.ip}:${s.port}`;
    },
    async metrics() {
      return (await (await fetch(`${adminUrl}/admin/metrics.json`)).json()) as Record<
        string,
        number
      >;
    },
    async [Symbol.asyncDispose]() {
      await d.shutdown();
    },
  };
}

export interface RawResponse {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly trailers: IncomingHttpHeaders;
}

/** One HTTP/2 request with prior knowledge. */
export function h2request(
  addr: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://${addr}`);
    session.on("error", reject);
    const req = session.request(headers);
    let resHeaders: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on("response", (h) => {
      resHeaders = h;
    });
    req.on("trailers", (t) => {
      trailers = t;
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", (e) => {
      session.close();
      reject(e);
    });
    req.on("end", () => {
      session.close();
      resolve({ headers: resHeaders, body: Buffer.concat(chunks), trailers });
    });
    req.end(body);
  });
}

/** A gRPC request frame for an empty protobuf message. */
export const EMPTY_GRPC_FRAME = Buffer.from([0, 0, 0, 0, 0]);

/** A backend that records request headers and answers a gRPC OK; closed through `cleanup`. */
export async function recorder(cleanup: Array<() => PromiseLike<unknown>>) {
  const seen: IncomingHttpHeaders[] = [];
  const server = createH2Server();
  server.on("stream", (stream, headers) => {
    seen.push(headers);
    stream.on("data", () => {});
    stream.on("end", () => {
      stream.respond(
        { ":status": 200, "content-type": "application/grpc" },
        { waitForTrailers: true },
      );
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x0a, 0x00]));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(() => new Promise((r) => server.close(r)));
  return { port: (server.address() as AddressInfo).port, seen };
}

/**
 * Sends raw bytes on a new TCP connection to `addr`; resolves with everything read (latin1) once
 * the server closes it or `ms` pass. `end`: half-close after writing (a server may then drop
 * the request; leave it open to read an answer to a complete request).
 */
export function rawExchange(
  addr: string,
  bytes: string | Buffer,
  ms = 2_000,
  end = false,
): Promise<string> {
  const [host, port] = addr.split(":");
  return new Promise((resolve) => {
    const s = netConnect(Number(port), host);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => s.destroy(), ms);
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
    s.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
    if (end) s.end();
  });
}

/** What a bounded load loop saw: answers counted by text, errors, requests made. */
export interface LoadResult {
  readonly seen: Map<string, number>;
  readonly errors: string[];
  readonly calls: number;
}

/**
 * Calls `call` in a loop, four at a time, until `stop()` or `maxCalls` calls or 30 s, counting
 * the answers by text and keeping every error (churn tests: load that runs while endpoints change).
 */
export async function boundedLoad(
  call: () => Promise<string>,
  stop: () => boolean,
  maxCalls: number,
): Promise<LoadResult> {
  const seen = new Map<string, number>();
  const errors: string[] = [];
  const deadline = Date.now() + 30_000;
  let calls = 0;
  const worker = async () => {
    while (!stop() && calls < maxCalls && Date.now() < deadline) {
      calls++;
      try {
        const m = await call();
        seen.set(m, (seen.get(m) ?? 0) + 1);
      } catch (e) {
        errors.push(String(e));
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { seen, errors, calls };
}

/** Polls `cond` every 50 ms until it holds or `ms` pass. */
export async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

/** A Service `name` (port 80, its port named `portName`) backed by one pod on 127.0.0.1:`port`. */
export function k8sBackend(name: string, port: number, portName = "grpc"): K8sObject[] {
  return [
    service({
      name,
      selector: { app: name },
      ports: [{ name: portName, port: 80, targetPort: portName }],
    }),
    pod({
      name: `${name}-0`,
      labels: { app: name },
      ip: "127.0.0.1",
      containerPorts: [{ name: portName, containerPort: port }],
    }),
  ];
}

/** Stops a daemon process: SIGTERM, SIGKILL after `killAfterMs`; resolves with its exit code. */
export function stopChild(child: ChildProcess, killAfterMs = 10_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.once("exit", (code) => {
      clearTimeout(kill);
      resolve(code);
    });
    child.kill("SIGTERM");
  });
}

/**
 * Polls `<adminUrl>/admin/ping` until it answers (at most `tries`, `everyMs` apart); throws with
 * the daemon's `output` if it exits first or never answers.
 */
export async function waitForAdminPing(
  child: ChildProcess,
  adminUrl: string,
  output: () => string,
  tries = 100,
  everyMs = 150,
): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (child.exitCode !== null) throw new Error(`l5d exited with ${child.exitCode}:\n${output()}`);
    const ok = await fetch(`${adminUrl}/admin/ping`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`l5d's admin never answered:\n${output()}`);
}
