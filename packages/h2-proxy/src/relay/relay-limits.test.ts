/**
 * The relay's connection semantics against real loopback peers: advertised and enforced
 * per-connection limits, protocol errors (GOAWAY with the right code, the server stays up),
 * the liveness sweep and the graceful close (`close(graceMs)`).
 */
import type * as http2 from "node:http2";
import { ErrorCode, FrameType } from "@l5d/h2";
import { afterEach, describe, expect, it } from "vitest";
import {
  type H2Backend,
  h2Client,
  RawH2Client,
  relayForward,
  simpleRequest,
  startH2Backend,
  waitFor,
} from "../dataplane/test-support.js";
import { type RelayServer, type RelayServerOptions, startRelayServer } from "./relay-server.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A backend answering 200 "ok" unless the request asks to be held (`x-hold`). */
async function backend(held: http2.ServerHttp2Stream[] = []): Promise<H2Backend> {
  const b = await startH2Backend((stream, headers) => {
    if (headers["x-hold"] !== undefined) {
      held.push(stream);
      return;
    }
    stream.respond({ ":status": 200 });
    stream.end("ok");
  });
  cleanup.push(() => b.close());
  return b;
}

async function relay(b: H2Backend, opts: Partial<RelayServerOptions> = {}): Promise<RelayServer> {
  const r = await startRelayServer({
    host: "127.0.0.1",
    port: 0,
    onRequest(req) {
      void relayForward(req, b.endpoint);
    },
    ...opts,
  });
  cleanup.push(() => r.close(0));
  return r;
}

/** The SETTINGS entries of the first non-ACK SETTINGS frame a raw client received. */
function settingsOf(c: RawH2Client): Map<number, number> {
  const f = c.received(FrameType.SETTINGS).find((x) => (x.flags & 1) === 0);
  const m = new Map<number, number>();
  if (f === undefined) return m;
  for (let i = 0; i + 6 <= f.payload.length; i += 6)
    m.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
  return m;
}

describe("relay connection limits", () => {
  it("advertises stream limit, window and header list size; a node:http2 client queues above it", async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const b = await backend(held);
    const r = await relay(b, {
      maxConcurrentStreams: 2,
      initialWindowSize: 1 << 20,
      maxHeaderListSize: 8192,
    });
    await using raw = await RawH2Client.connect(r.port);
    await waitFor(() => settingsOf(raw).size > 0, 2_000, "server SETTINGS");
    const s = settingsOf(raw);
    expect(s.get(3)).toBe(2);
    expect(s.get(4)).toBe(1 << 20);
    expect(s.get(6)).toBe(8192);
    // the connection window is raised too (1 MiB by default)
    await waitFor(() => raw.received(FrameType.WINDOW_UPDATE, 0).length > 0, 2_000, "WU");
    const wu = raw.received(FrameType.WINDOW_UPDATE, 0)[0];
    expect(wu?.payload.readUInt32BE(0)).toBe((1 << 20) - 65_535);

    // a node:http2 client that has our SETTINGS keeps to the limit: the third stream waits
    await using c = h2Client(r.port);
    await new Promise((res) => c.once("remoteSettings", res));
    const results = [0, 1, 2].map(() =>
      simpleRequest(c, { ":method": "GET", ":path": "/", "x-hold": "1" }),
    );
    // node queues above the advertised limit; the third stream waits, it is never refused
    await waitFor(() => held.length === 2, 3_000, "two held streams at the backend");
    expect(r.streams).toBe(2);
    for (const h of held.splice(0)) {
      h.respond({ ":status": 200 });
      h.end("late");
    }
    await waitFor(() => held.length === 1, 3_000, "the queued third stream");
    held[0]?.respond({ ":status": 200 });
    held[0]?.end("last");
    const all = await Promise.all(results);
    expect(all.map((x) => x.headers[":status"])).toEqual([200, 200, 200]);
  });

  it("answers RST_STREAM(REFUSED_STREAM) to a peer that ignores the stream limit", async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const b = await backend(held);
    const r = await relay(b, { maxConcurrentStreams: 1 });
    await using raw = await RawH2Client.connect(r.port);
    // literal header fields without indexing, raw strings (RFC 7541 §6.2.2)
    const block = hpackLiterals(HELD);
    raw.send(FrameType.HEADERS, 0x5, 1, block);
    await waitFor(() => held.length === 1, 3_000, "stream 1 at the backend");
    raw.send(FrameType.HEADERS, 0x5, 3, block);
    await waitFor(() => raw.received(FrameType.RST_STREAM, 3).length > 0, 2_000, "RST 3");
    expect(raw.received(FrameType.RST_STREAM, 3)[0]?.payload.readUInt32BE(0)).toBe(7);
    // stream 1 is unaffected and the connection stays up
    held[0]?.respond({ ":status": 200 });
    held[0]?.end();
    await waitFor(() => raw.received(FrameType.HEADERS, 1).length > 0, 2_000, "response 1");
    expect(raw.isClosed).toBe(false);
    expect(raw.received(FrameType.GOAWAY)).toHaveLength(0);
  });

  it("answers a request over maxHeaderListSize locally; the connection serves the next one", async () => {
    const b = await backend();
    const r = await relay(b, { maxHeaderListSize: 4096 });
    await using c = h2Client(r.port);
    const big = await simpleRequest(c, {
      ":method": "GET",
      ":path": "/",
      "x-big": "v".repeat(5000),
    });
    expect(big.headers[":status"]).toBe(431);
    expect(decodeURIComponent(String(big.headers["l5d-err"]))).toMatch(
      /maxHeaderListSize \(4096\)/,
    );
    const grpcBig = await simpleRequest(c, {
      ":method": "POST",
      ":path": "/a.B/C",
      "content-type": "application/grpc",
      "x-big": "v".repeat(5000),
    });
    expect(grpcBig.headers["grpc-status"]).toBe("8");
    const ok = await simpleRequest(c, { ":method": "GET", ":path": "/" });
    expect(ok.headers[":status"]).toBe(200);
    expect(ok.body.toString()).toBe("ok");
  });
});

describe("relay protocol errors", () => {
  it("bad HPACK: GOAWAY(COMPRESSION_ERROR), the server keeps serving others", async () => {
    const b = await backend();
    const r = await relay(b);
    await using raw = await RawH2Client.connect(r.port);
    raw.send(FrameType.HEADERS, 0x5, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    await waitFor(() => raw.received(FrameType.GOAWAY).length > 0, 2_000, "GOAWAY");
    expect(raw.received(FrameType.GOAWAY)[0]?.payload.readUInt32BE(4)).toBe(9);
    await waitFor(() => raw.isClosed, 3_000, "connection closed");
    await using c = h2Client(r.port);
    expect((await simpleRequest(c, { ":method": "GET", ":path": "/" })).headers[":status"]).toBe(
      200,
    );
  });

  it("a frame over the max frame size: GOAWAY(FRAME_SIZE_ERROR); CONTINUATION flood: ENHANCE_YOUR_CALM", async () => {
    const b = await backend();
    const r = await relay(b, { maxHeaderListSize: 4096 });
    await using big = await RawH2Client.connect(r.port);
    big.send(FrameType.DATA, 0, 1, Buffer.alloc(20_000));
    await waitFor(() => big.received(FrameType.GOAWAY).length > 0, 2_000, "GOAWAY");
    expect(big.received(FrameType.GOAWAY)[0]?.payload.readUInt32BE(4)).toBe(6);

    await using flood = await RawH2Client.connect(r.port);
    flood.send(FrameType.HEADERS, 0x1, 1, hpackLiterals([[":method", "GET"]]));
    // bounded: 3 x 10 KiB goes past 4 KiB + 16 KiB
    for (let i = 0; i < 3; i++) flood.send(FrameType.CONTINUATION, 0, 1, Buffer.alloc(10_000));
    await waitFor(() => flood.received(FrameType.GOAWAY).length > 0, 2_000, "GOAWAY");
    expect(flood.received(FrameType.GOAWAY)[0]?.payload.readUInt32BE(4)).toBe(11);
  });

  it("3.4 answers bytes that are neither the HTTP/2 preface nor HTTP/1.1 with GOAWAY(PROTOCOL_ERROR), then closes", async () => {
    const b = await backend();
    const r = await relay(b);
    await using raw = await RawH2Client.connect(r.port, "\u0001\u0002 not a request line\r\n\r\n");
    await waitFor(() => raw.received(FrameType.GOAWAY).length > 0, 2_000, "GOAWAY");
    expect(raw.received(FrameType.GOAWAY)[0]?.payload.readUInt32BE(4)).toBe(
      ErrorCode.PROTOCOL_ERROR,
    );
    await waitFor(() => r.connections === 0, 2_000, "the connection to close");
  });
});

describe("relay liveness and graceful close", () => {
  it("destroys a client connection that leaves the liveness PING unanswered", async () => {
    const b = await backend();
    const r = await relay(b, { livenessCheckMs: 50 });
    // a raw client that never answers PINGs (it only ACKs SETTINGS)
    await using raw = await RawH2Client.connect(r.port);
    await waitFor(() => raw.received(FrameType.PING).length > 0, 2_000, "PING");
    await waitFor(() => raw.isClosed, 2_000, "connection reaped");
    // a real client answers and stays connected over several sweeps
    await using c = h2Client(r.port);
    await simpleRequest(c, { ":method": "GET", ":path": "/" });
    await new Promise((res) => setTimeout(res, 300));
    expect(c.destroyed).toBe(false);
    expect(r.connections).toBe(1);
  });

  it("close(graceMs): GOAWAY with the last stream id, in-flight streams finish, new ones refused", async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const b = await backend(held);
    const r = await relay(b);
    await using c = h2Client(r.port);
    let goaway: number | undefined;
    c.on("goaway", (_code: number, last: number) => {
      goaway = last;
    });
    const inflight = simpleRequest(c, { ":method": "GET", ":path": "/", "x-hold": "1" });
    await waitFor(() => held.length === 1, 3_000, "held stream");
    const t0 = Date.now();
    // a raw client with a held stream of its own, to open a stream after the GOAWAY
    await using raw = await RawH2Client.connect(r.port);
    raw.send(FrameType.HEADERS, 0x5, 1, hpackLiterals(HELD));
    await waitFor(() => held.length === 2, 3_000, "raw client's held stream");
    const closing = r.close(5_000);
    await waitFor(() => goaway !== undefined, 2_000, "GOAWAY at the client");
    expect(goaway).toBe(1);
    await waitFor(() => raw.received(FrameType.GOAWAY).length > 0, 2_000, "raw GOAWAY");
    expect(raw.received(FrameType.GOAWAY)[0]?.payload.readUInt32BE(0)).toBe(1);
    raw.send(FrameType.HEADERS, 0x5, 3, hpackLiterals(HELD));
    await waitFor(() => raw.received(FrameType.RST_STREAM, 3).length > 0, 2_000, "RST 3");
    expect(raw.received(FrameType.RST_STREAM, 3)[0]?.payload.readUInt32BE(0)).toBe(7);
    held[1]?.respond({ ":status": 204 });
    held[1]?.end();
    // the in-flight stream still completes
    held[0]?.respond({ ":status": 200 });
    held[0]?.end("finished");
    const res = await inflight;
    expect(res.body.toString()).toBe("finished");
    await closing;
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(r.connections).toBe(0);
  });

  it("close(graceMs): an idle client gets GOAWAY(NO_ERROR) before its connection closes, at once", async () => {
    const b = await backend();
    const r = await relay(b);
    await using raw = await RawH2Client.connect(r.port);
    await waitFor(() => raw.received(FrameType.SETTINGS).length > 0, 2_000, "server SETTINGS");
    const t0 = Date.now();
    await r.close(5_000);
    expect(Date.now() - t0).toBeLessThan(1_000);
    await waitFor(() => raw.isClosed, 2_000, "connection closed");
    const goaway = raw.received(FrameType.GOAWAY);
    expect(goaway).toHaveLength(1);
    expect(goaway[0]?.payload.readUInt32BE(4)).toBe(0);
  });

  it("close(graceMs) destroys streams still in flight after the grace period", async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const b = await backend(held);
    const r = await relay(b);
    await using c = h2Client(r.port);
    const inflight = simpleRequest(c, { ":method": "GET", ":path": "/", "x-hold": "1" });
    await waitFor(() => held.length === 1, 3_000, "held stream");
    const t0 = Date.now();
    await r.close(200);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(2_000);
    const res = await inflight;
    expect(res.headers[":status"]).toBeUndefined();
    expect(r.connections).toBe(0);
    // the backend saw its stream cancelled (the upstream connection was closed after)
    await waitFor(() => b.sessions.size === 0, 2_000, "upstream connection closed");
  });
});

/** A GET the test backend holds. */
const HELD: ReadonlyArray<readonly [string, string]> = [
  [":method", "GET"],
  [":scheme", "http"],
  [":path", "/"],
  [":authority", "x"],
  ["x-hold", "1"],
];

/** Literal header fields without indexing, new names, raw strings (lengths < 127). */
function hpackLiterals(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [n, v] of fields) {
    parts.push(Buffer.from([0, n.length]), Buffer.from(n), Buffer.from([v.length]), Buffer.from(v));
  }
  return Buffer.concat(parts);
}
