/**
 * The attack suite, timeouts and the connection cap (issue #14): a socket that never sends its
 * preface is closed, an idle connection gets GOAWAY, a stream with no frames either way is
 * answered/reset (Linkerd issue #2320), connections over the cap are refused at accept.
 */

import type * as http2 from "node:http2";
import { connect, type Socket } from "node:net";
import { ErrorCode, FrameType } from "@l5d/h2";
import { waitFor } from "@l5d/h2/testing";
import { afterEach, describe, expect, it } from "vitest";
import {
  h2Client,
  RawH2Client,
  relayForward,
  simpleRequest,
  startH2Backend,
} from "../../dataplane/test-support.js";
import { type RelayServerOptions, startRelayServer } from "../relay-server.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface Fired {
  name: string;
  at: number;
}

async function setup(opts: Partial<RelayServerOptions>, held: http2.ServerHttp2Stream[] = []) {
  const b = await startH2Backend((stream, headers) => {
    if (headers["x-hold"] !== undefined) {
      held.push(stream);
      return;
    }
    stream.respond({ ":status": 200 });
    stream.end("ok");
  });
  cleanup.push(() => b.close());
  const fired: Fired[] = [];
  const r = await startRelayServer({
    host: "127.0.0.1",
    port: 0,
    onRequest(req) {
      void relayForward(req, b.endpoint);
    },
    onLimit(name) {
      fired.push({ name, at: performance.now() });
    },
    ...opts,
  });
  cleanup.push(() => r.close(0));
  return { r, fired };
}

function rawSocket(port: number): Promise<{ socket: Socket; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let closed = false;
    socket.on("error", () => {});
    socket.once("close", () => {
      closed = true;
    });
    socket.resume();
    socket.once("connect", () => resolve({ socket, closed: () => closed }));
    socket.once("error", reject);
  });
}

describe("attack suite: timeouts and the connection cap", () => {
  it("a socket that sends nothing (or no SETTINGS) is closed after prefaceTimeoutMs", async () => {
    const { r, fired } = await setup({ prefaceTimeoutMs: 300 });
    const t0 = performance.now();
    const silent = await rawSocket(r.port);
    const prefaceOnly = await rawSocket(r.port);
    prefaceOnly.socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    cleanup.push(async () => {
      silent.socket.destroy();
      prefaceOnly.socket.destroy();
    });
    await waitFor(() => silent.closed() && prefaceOnly.closed(), 2_000, "both closed");
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(1_500);
    expect(fired.filter((f) => f.name === "preface_timeout")).toHaveLength(2);
    // a proper client is not affected
    await using c = h2Client(r.port);
    await new Promise((res) => setTimeout(res, 400));
    expect((await simpleRequest(c, { ":method": "GET", ":path": "/" })).headers[":status"]).toBe(
      200,
    );
  });

  it("a connection with no open stream for idleTimeoutMs gets GOAWAY(NO_ERROR) and is closed; a busy one stays", async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const { r, fired } = await setup({ idleTimeoutMs: 300 }, held);
    await using idle = await RawH2Client.connect(r.port);
    await using busy = h2Client(r.port);
    const pending = simpleRequest(busy, { ":method": "GET", ":path": "/", "x-hold": "1" });
    await waitFor(() => idle.received(FrameType.GOAWAY).length > 0, 3_000, "GOAWAY");
    expect(idle.received(FrameType.GOAWAY)[0]?.payload.readUInt32BE(4)).toBe(ErrorCode.NO_ERROR);
    await waitFor(() => idle.isClosed, 3_000, "idle closed");
    expect(fired.some((f) => f.name === "idle_timeout")).toBe(true);
    // the connection with a stream in flight was not closed
    expect(busy.closed || busy.destroyed).toBe(false);
    held[0]?.respond({ ":status": 200 });
    held[0]?.end("late");
    expect((await pending).body.toString()).toBe("late");
  });

  it("a stream with no frames either way for streamIdleTimeoutMs is answered 504 / reset", async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const { r, fired } = await setup({ streamIdleTimeoutMs: 300 }, held);
    await using c = h2Client(r.port);
    const t0 = performance.now();
    const res = await simpleRequest(c, { ":method": "GET", ":path": "/", "x-hold": "1" });
    const ms = performance.now() - t0;
    expect(res.headers[":status"]).toBe(504);
    expect(decodeURIComponent(String(res.headers["l5d-err"]))).toMatch(/stream idle for 300 ms/);
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(2_000);
    expect(fired.some((f) => f.name === "stream_idle_timeout")).toBe(true);
    // the upstream stream was cancelled
    await waitFor(() => held[0]?.closed === true, 2_000, "upstream stream closed");
    // a streaming response that keeps moving is not idle; one that stalls after starting is reset
    const held2: http2.ServerHttp2Stream[] = held;
    const stalled = simpleRequest(c, { ":method": "GET", ":path": "/", "x-hold": "2" });
    await waitFor(() => held2.length === 2, 2_000, "second stream");
    const s2 = held2[1] as http2.ServerHttp2Stream;
    s2.respond({ ":status": 200 });
    // bounded: 6 writes 100 ms apart (600 ms of activity, twice the timeout)
    for (let i = 0; i < 6; i++) {
      s2.write("x");
      await new Promise((res) => setTimeout(res, 100));
    }
    const out = await stalled;
    expect(out.headers[":status"]).toBe(200);
    expect(out.body.toString()).toBe("xxxxxx");
    expect(out.rstCode).toBe(ErrorCode.CANCEL);
  });

  it("connections over maxConnections are refused at accept", async () => {
    const { r, fired } = await setup({ maxConnections: 5 });
    const clients: RawH2Client[] = [];
    for (let i = 0; i < 5; i++) clients.push(await RawH2Client.connect(r.port));
    cleanup.push(async () => {
      for (const c of clients) await c[Symbol.asyncDispose]();
    });
    await waitFor(() => r.connections === 5, 2_000, "5 connections");
    const sixth = await rawSocket(r.port);
    await waitFor(() => sixth.closed(), 2_000, "sixth refused");
    expect(fired.filter((f) => f.name === "connections")).toHaveLength(1);
    // one leaves: a new one is accepted
    await clients[0]?.[Symbol.asyncDispose]();
    await waitFor(() => r.connections === 4, 2_000, "4 connections");
    await using c = h2Client(r.port);
    expect((await simpleRequest(c, { ":method": "GET", ":path": "/" })).headers[":status"]).toBe(
      200,
    );
  });
});
