/**
 * Abuse limits through a real l5d daemon (issue #14): a `servers[]` limit key reaches the relay,
 * a flood closes the connection with GOAWAY(ENHANCE_YOUR_CALM), the event is counted under the
 * server scope (`rt/<router>/server/<ip>/<port>/h2/limits/<name>`) and logged once; a bad value
 * names the key.
 */
import * as http2 from "node:http2";
import { connect } from "node:net";
import { Writable } from "node:stream";
import { formatConfigErrors, parseLinkerdConfig } from "@l5d/config";
import { encodeFrame, encodeHeaderBlock } from "@l5d/h2-proxy/testing";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { startDaemon } from "../daemon.js";
import { createRegistries } from "../plugins.js";
import { freePort } from "./support.js";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
const PING = Buffer.concat([Buffer.from([0, 0, 8, 6, 0, 0, 0, 0, 0]), Buffer.alloc(8)]);
const GOAWAY = 7;
const ENHANCE_YOUR_CALM = 11;

/** The error code of the first GOAWAY frame in `buf` (raw frames). */
function goawayCode(buf: Buffer): number | undefined {
  for (let at = 0; at + 9 <= buf.length; ) {
    const len = buf.readUIntBE(at, 3);
    if (buf[at + 3] === GOAWAY && at + 9 + len <= buf.length) return buf.readUInt32BE(at + 13);
    at += 9 + len;
  }
  return undefined;
}

const cleanup: Array<() => PromiseLike<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()?.();
});

/**
 * A daemon with one h2 router (`rt`) whose server takes `serverKeys` (YAML lines), routing to
 * `backendPort`; its log lines are collected.
 */
async function daemonWith(
  backendPort: number,
  serverKeys: string,
): Promise<{ port: number; adminPort: number; lines: Array<Record<string, unknown>> }> {
  const port = await freePort();
  const adminPort = await freePort();
  const r = parseLinkerdConfig(
    `
admin: {port: ${adminPort}}
routers:
- protocol: h2
  label: rt
  dtab: /svc => /$/inet/127.0.0.1/${backendPort};
  servers:
  - port: ${port}
    ${serverKeys}
`,
    createRegistries(),
  );
  if (!r.ok) throw new Error(formatConfigErrors(r.errors));
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n")) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  const d = await startDaemon(r.config, pino({ level: "info" }, sink), {});
  cleanup.push(() => d.shutdown());
  return { port, adminPort, lines };
}

/** Writes `bytes` on a new connection to `port`; resolves with all it received once closed. */
async function untilClosed(port: number, bytes: Buffer): Promise<Buffer> {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => {});
  cleanup.push(async () => socket.destroy());
  let buf = Buffer.alloc(0);
  socket.on("data", (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
  });
  const closed = new Promise<void>((res) => socket.once("close", () => res()));
  await new Promise<void>((res) => socket.once("connect", () => res()));
  socket.write(bytes);
  await closed;
  return buf;
}

/** The daemon's metrics (admin `metrics.json`). */
async function metricsOf(adminPort: number): Promise<Record<string, number>> {
  return (await (await fetch(`http://127.0.0.1:${adminPort}/admin/metrics.json`)).json()) as Record<
    string,
    number
  >;
}

describe("abuse limits through l5d", () => {
  it("a PING flood: GOAWAY(ENHANCE_YOUR_CALM), one counter increment, one log line", async () => {
    const { port, adminPort, lines } = await daemonWith(1, "maxPingsPerSecond: 20");
    const buf = await untilClosed(
      port,
      Buffer.concat([PREFACE, SETTINGS, ...Array.from({ length: 50 }, () => PING)]),
    );
    expect(goawayCode(buf)).toBe(ENHANCE_YOUR_CALM);

    const metrics = await metricsOf(adminPort);
    expect(metrics[`rt/rt/server/127.0.0.1/${port}/h2/limits/ping_flood`]).toBe(1);
    expect(metrics[`rt/rt/server/127.0.0.1/${port}/h2/limits/rapid_reset`]).toBe(0);
    expect(metrics[`rt/rt/server/127.0.0.1/${port}/h2/limits/upstream/ping_flood`]).toBe(0);
    const logged = lines.filter((l) => l.limit !== undefined);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ limit: "ping_flood", side: "client", level: 40 });
    expect(String(logged[0]?.detail)).toMatch(/more than 20 per second/);
  });

  it("a bad limit value names the key", () => {
    const r = parseLinkerdConfig(
      `
routers:
- protocol: h2
  dtab: /svc => /$/inet/127.0.0.1/1;
  servers:
  - port: 4142
    maxResetsPerSecond: -5
`,
      createRegistries(),
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(formatConfigErrors(r.errors)).toMatch(/maxResetsPerSecond/);
  });

  it("maxQueuedDataBytes: a client that gives no connection window is closed past it (queued_data counted and logged), others served", async () => {
    const big = Buffer.alloc(300_000, 0x62);
    const backend = http2.createServer();
    backend.on("stream", (stream, headers) => {
      stream.on("error", () => {});
      stream.respond({ ":status": 200 });
      stream.end(headers[":path"] === "/big" ? big : "ok");
    });
    await new Promise<void>((res) => backend.listen(0, "127.0.0.1", res));
    cleanup.push(() => new Promise((res) => backend.close(res)));
    const backendPort = (backend.address() as { port: number }).port;
    const { port, adminPort, lines } = await daemonWith(backendPort, "maxQueuedDataBytes: 100000");
    // 8 requests for 300 KB each from a client that keeps its streams' default 64 KiB windows
    // and never opens its connection window: the first stream is given 64 KiB, the seven
    // others 16 KiB each (no room left on the client's connection), 180 KB asked in all; the
    // client takes 65,535 bytes of it, at least 114 KB wait in the relay > 100 KB. (A client
    // that gives no stream window costs nothing: its upstream streams are given none.)
    const block = encodeHeaderBlock([
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/big"],
      [":authority", "big"],
    ]);
    const opens = [1, 3, 5, 7, 9, 11, 13, 15].map((id) => encodeFrame(1, 0x5, id, block));
    const buf = await untilClosed(
      port,
      Buffer.concat([PREFACE, encodeFrame(4, 0, 0, Buffer.alloc(0)), ...opens]),
    );
    expect(goawayCode(buf)).toBe(ENHANCE_YOUR_CALM);

    const metrics = await metricsOf(adminPort);
    expect(metrics[`rt/rt/server/127.0.0.1/${port}/h2/limits/queued_data`]).toBe(1);
    const logged = lines.filter((l) => l.limit !== undefined);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ limit: "queued_data", side: "client", level: 40 });
    expect(String(logged[0]?.detail)).toMatch(/over 100000 bytes of response DATA/);

    // the router and its upstream connection serve a well-behaved client
    const client = http2.connect(`http://127.0.0.1:${port}`);
    cleanup.push(async () => client.close());
    const status = await new Promise<number>((resolve, reject) => {
      const req = client.request({ ":path": "/small", ":authority": "small" });
      req.on("response", (h) => resolve(Number(h[":status"])));
      req.on("error", reject);
      req.resume();
      req.end();
    });
    expect(status).toBe(200);
  });
});
