/**
 * An upstream's GOAWAY on the frame-level relay (Linkerd issue #2021), on loopback with real
 * node:http2 backends and a raw frame-speaking upstream: streams above the last-stream-id are
 * requeued, those at or below it finish, new requests go to a new connection at once and the
 * old one is closed when its streams are done. After a GOAWAY with an error code from a server
 * that keeps its socket open, the streams at or below the last-stream-id get
 * `GOAWAY_ERROR_DRAIN_MS`, then fail with `l5d-err` naming the upstream and the code.
 */
import * as http2 from "node:http2";
import type { Socket } from "node:net";
import { ErrorCode, encodeFrame, encodeHeaderBlock, Flag, FrameType } from "@l5d/h2";
import { afterEach, describe, expect, it } from "vitest";
import {
  type H2Backend,
  h2Client,
  payload,
  relayForward,
  type SimpleResponse,
  simpleRequest,
  startH2Backend,
  waitFor,
} from "../dataplane/test-support.js";
import { rawUpstream } from "./raw-upstream-rig.js";
import { retryableStatusCodes, startRelayRouterRig } from "./relay-router-rig.js";
import { startRelayServer } from "./relay-server.js";
import { GOAWAY_ERROR_DRAIN_MS } from "./upstream.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
});

const GET = { ":method": "GET", ":authority": "svc" } as const;

function goawayFrame(lastId: number, code: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(lastId, 0);
  p.writeUInt32BE(code, 4);
  return encodeFrame(FrameType.GOAWAY, 0, 0, p);
}

function respondRaw(socket: Socket, id: number, body: string): void {
  socket.write(
    encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, id, encodeHeaderBlock([[":status", "200"]])),
  );
  socket.write(encodeFrame(FrameType.DATA, Flag.END_STREAM, id, Buffer.from(body)));
}

/** `l5d-err` of a response, decoded. */
function l5dErr(r: SimpleResponse): string {
  return decodeURIComponent(String(r.headers["l5d-err"] ?? ""));
}

/** Sends requests from `client` through the relay, `concurrency` at a time, `total` in all (bounded by 20 s). */
async function load(
  client: http2.ClientHttp2Session,
  total: number,
  concurrency: number,
  onDone: (n: number) => void,
): Promise<SimpleResponse[]> {
  const out: SimpleResponse[] = [];
  let next = 0;
  const deadline = Date.now() + 20_000;
  const worker = async (): Promise<void> => {
    while (next < total && Date.now() < deadline) {
      const i = next++;
      const r = await simpleRequest(client, { ...GET, ":path": `/load/${i}` });
      out.push(r);
      onDone(out.length);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

describe("relay: upstream GOAWAY", () => {
  it("a header block over a node:http2 backend's limit (GOAWAY COMPRESSION_ERROR, socket left open): in-flight requests fail cleanly within the drain time, new requests use a new connection", async () => {
    const backend = await startH2Backend(
      (stream, headers) => {
        if (headers[":path"] === "/fresh") {
          stream.respond({ ":status": 200 });
          stream.end("fresh");
          return;
        }
        setTimeout(() => {
          if (stream.destroyed) return;
          stream.respond({ ":status": 200 });
          stream.end("slow");
        }, 500);
      },
      { settings: { maxHeaderListSize: 65_536 } },
    );
    // a relay looser than its backend (its default, 64 KiB, refuses the header at the front door)
    const relay = await startRelayServer({
      host: "127.0.0.1",
      port: 0,
      maxHeaderListSize: 256 * 1024,
      onRequest: (req) => void relayForward(req, backend.endpoint),
    });
    cleanup.push(
      () => backend.close(),
      () => relay.close(500),
    );
    await using a = h2Client(relay.port);
    await using b = h2Client(relay.port, { maxSendHeaderBlockLength: 1 << 20 });
    const key = `127.0.0.1:${backend.port}`;
    // 20 requests in flight on the shared upstream connection
    const inflight = Array.from({ length: 20 }, (_, i) =>
      simpleRequest(a, { ...GET, ":path": `/slow/${i}` }).then((r) => ({
        r,
        at: performance.now(),
      })),
    );
    await waitFor(() => backend.sessions.size === 1, 2_000, "the upstream connection");
    await new Promise((r) => setTimeout(r, 100));
    // a 200 KiB header: the backend answers GOAWAY(COMPRESSION_ERROR) and keeps the socket open
    const t0 = performance.now();
    const bigReq = simpleRequest(b, { ...GET, ":path": "/big", "x-big": "x".repeat(200 * 1024) });
    await new Promise((r) => setTimeout(r, 100));
    // a new request goes to a new connection at once (or is refused above the last-stream-id
    // and requeued there)
    const fresh = await simpleRequest(a, { ...GET, ":path": "/fresh" });
    expect(fresh.headers[":status"]).toBe(200);
    expect(fresh.body.toString()).toBe("fresh");
    expect(performance.now() - t0).toBeLessThan(1_000);

    const answers = await Promise.all(inflight);
    const big = await bigReq;
    for (const { r, at } of answers) {
      // answered (not hung): by the backend, or a clean 502 naming the upstream and the GOAWAY
      expect(at - t0).toBeLessThan(GOAWAY_ERROR_DRAIN_MS + 1_500);
      if (Number(r.headers[":status"]) === 200) continue;
      expect(r.headers[":status"]).toBe(502);
      expect(l5dErr(r)).toContain(key);
      expect(l5dErr(r)).toContain("GOAWAY COMPRESSION_ERROR");
    }
    const failed = answers.filter(({ r }) => Number(r.headers[":status"]) !== 200).length;
    console.log(
      `after the backend's GOAWAY(COMPRESSION_ERROR): ${20 - failed} of 20 in flight answered, ${failed} failed with: ${l5dErr(answers[0]?.r as SimpleResponse)}`,
    );
    expect(big.headers[":status"]).toBe(502);
    expect(l5dErr(big)).toContain("GOAWAY COMPRESSION_ERROR");
    // the new connection serves (that the relay destroys the old one is checked on a raw
    // upstream below: node:http2 no longer reads a socket it sent GOAWAY(error) on)
    const after = await simpleRequest(a, { ...GET, ":path": "/fresh" });
    expect(after.headers[":status"]).toBe(200);
    await waitFor(() => relay.streams === 0, 2_000, "no relayed stream left");
  });

  it("a raw upstream's GOAWAY(INTERNAL_ERROR) without closing: streams above last-stream-id requeued, those at or below fail after the drain (502 / gRPC UNAVAILABLE), the connection destroyed", async () => {
    let first: Socket | undefined;
    let firstClosed = false;
    const perSocket = new Map<Socket, number>();
    const up = await rawUpstream((socket, id) => {
      perSocket.set(socket, (perSocket.get(socket) ?? 0) + 1);
      if (first === undefined) {
        first = socket;
        socket.once("close", () => {
          firstClosed = true;
        });
      }
      if (socket === first) {
        // streams 1 and 3 are never answered here; stream 5 brings the GOAWAY (last stream 3)
        if (id === 5) socket.write(goawayFrame(3, ErrorCode.INTERNAL_ERROR));
        return;
      }
      respondRaw(socket, id, `fresh ${id}`);
    });
    const relay = await startRelayServer({
      host: "127.0.0.1",
      port: 0,
      onRequest: (req) => void relayForward(req, up.endpoint),
    });
    cleanup.push(
      () => up.close(),
      () => relay.close(500),
    );
    await using client = h2Client(relay.port);
    const key = `127.0.0.1:${up.endpoint.port}`;
    const s1 = simpleRequest(client, { ...GET, ":path": "/1", "content-type": "application/grpc" });
    await waitFor(() => up.requests === 1, 2_000, "stream 1");
    const s3 = simpleRequest(client, { ...GET, ":path": "/3" });
    await waitFor(() => up.requests === 2, 2_000, "stream 3");
    const t0 = performance.now();
    const s5 = await simpleRequest(client, { ...GET, ":path": "/5" });
    // above the last-stream-id: unprocessed, requeued on a new connection
    expect(s5.headers[":status"]).toBe(200);
    expect(s5.body.toString()).toBe("fresh 1");
    // a new request goes to the new connection at once
    const s7 = await simpleRequest(client, { ...GET, ":path": "/7" });
    expect(s7.body.toString()).toBe("fresh 3");
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(firstClosed).toBe(false);

    // at or below it: a bounded drain, then a clean failure naming the upstream and the code
    const [r1, r3] = await Promise.all([s1, s3]);
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(GOAWAY_ERROR_DRAIN_MS - 100);
    expect(waited).toBeLessThan(GOAWAY_ERROR_DRAIN_MS + 1_500);
    expect(r1.headers[":status"]).toBe(200);
    expect(r1.headers["grpc-status"]).toBe("14");
    expect(l5dErr(r1)).toContain(key);
    expect(l5dErr(r1)).toContain("GOAWAY INTERNAL_ERROR, last stream 3");
    expect(r3.headers[":status"]).toBe(502);
    expect(l5dErr(r3)).toContain(key);
    expect(l5dErr(r3)).toContain(`not finished within ${GOAWAY_ERROR_DRAIN_MS} ms`);
    await waitFor(() => firstClosed, 2_000, "the old connection destroyed");
    expect(perSocket.get(first as Socket)).toBe(3);
    await waitFor(() => relay.streams === 0, 2_000, "no relayed stream left");
  });

  it("a raw upstream's GOAWAY(NO_ERROR) without closing: the streams at or below last-stream-id finish, then the relay closes the connection", async () => {
    let first: Socket | undefined;
    let firstClosed = false;
    const up = await rawUpstream((socket, id) => {
      if (first === undefined) {
        first = socket;
        socket.once("close", () => {
          firstClosed = true;
        });
      }
      if (socket !== first) {
        respondRaw(socket, id, `fresh ${id}`);
        return;
      }
      if (id === 3) {
        // graceful: both streams will be answered, a little later; the socket stays open
        socket.write(goawayFrame(3, ErrorCode.NO_ERROR));
        setTimeout(() => {
          respondRaw(socket, 1, "old 1");
          respondRaw(socket, 3, "old 3");
        }, 300);
      }
    });
    const relay = await startRelayServer({
      host: "127.0.0.1",
      port: 0,
      onRequest: (req) => void relayForward(req, up.endpoint),
    });
    cleanup.push(
      () => up.close(),
      () => relay.close(500),
    );
    await using client = h2Client(relay.port);
    const s1 = simpleRequest(client, { ...GET, ":path": "/1" });
    await waitFor(() => up.requests === 1, 2_000, "stream 1");
    const s3 = simpleRequest(client, { ...GET, ":path": "/3" });
    await waitFor(() => up.requests === 2, 2_000, "stream 3");
    // a new request meanwhile goes to a new connection, not waiting for the old streams
    const fresh = await simpleRequest(client, { ...GET, ":path": "/new" });
    expect(fresh.body.toString()).toBe("fresh 1");
    expect(firstClosed).toBe(false);
    const [r1, r3] = await Promise.all([s1, s3]);
    expect(r1.body.toString()).toBe("old 1");
    expect(r3.body.toString()).toBe("old 3");
    // done: the relay says GOAWAY itself and closes the old connection
    await waitFor(() => firstClosed, 2_000, "the old connection closed by the relay");
    expect(
      up.frames.some((f) => f.type === FrameType.GOAWAY && f.payload.readUInt32BE(4) === 0),
    ).toBe(true);
    await waitFor(() => relay.streams === 0, 2_000, "no relayed stream left");
  });

  it("graceful two-step GOAWAY from node:http2 backends mid-load (GOAWAY 2^31-1, then session.close()): zero failed requests, the old connections closed when done", async () => {
    const sessions: http2.ServerHttp2Session[] = [];
    let backend: H2Backend | undefined;
    backend = await startH2Backend((stream, headers) => {
      setTimeout(() => {
        if (stream.destroyed) return;
        stream.respond({ ":status": 200 });
        stream.end(`ok ${headers[":path"]}`);
      }, 5);
    });
    backend.server.on("session", (s) => sessions.push(s));
    const relay = await startRelayServer({
      host: "127.0.0.1",
      port: 0,
      onRequest: (req) => void relayForward(req, (backend as H2Backend).endpoint),
    });
    cleanup.push(
      () => (backend as H2Backend).close(),
      () => relay.close(500),
    );
    await using client = h2Client(relay.port);
    let shutdowns = 0;
    const shutdown = (): void => {
      shutdowns++;
      for (const s of backend?.sessions ?? []) {
        // step one: no stream refused yet, but no new ones please; step two: the real last id
        s.goaway(http2.constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
        setTimeout(() => s.close(), 30);
      }
    };
    const results = await load(client, 600, 24, (n) => {
      if (n === 150 || n === 400) shutdown();
    });
    expect(shutdowns).toBe(2);
    expect(results).toHaveLength(600);
    const failed = results.filter(
      (r) => Number(r.headers[":status"]) !== 200 || !r.body.toString().startsWith("ok /load/"),
    );
    expect(failed.map((r) => l5dErr(r) || r.rstCode)).toEqual([]);
    // three connections in all; the two old ones closed once their streams were done
    expect(sessions.length).toBe(3);
    await waitFor(() => backend?.sessions.size === 1, 3_000, "the old connections to close");
    await waitFor(() => relay.streams === 0, 2_000, "no relayed stream left");
  });

  it("a node:http2 backend closed mid-load (server.close() + session.close()) behind the router: zero failed requests, the rest go to the other endpoint", async () => {
    const mk = (name: string) =>
      startH2Backend((stream) => {
        setTimeout(() => {
          if (stream.destroyed) return;
          stream.respond(
            { ":status": 200, "content-type": "application/grpc" },
            { waitForTrailers: true },
          );
          stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
          stream.end(name);
        }, 5);
        stream.resume();
      });
    const a = await mk("a");
    const b = await mk("b");
    cleanup.push(
      () => a.close(),
      () => b.close(),
    );
    const rig = await startRelayRouterRig([a.port, b.port], {
      classifier: retryableStatusCodes([14]),
      // every request sent to the closed endpoint is requeued (unprocessed: connect refused)
      client: { requeueBudget: { minRetriesPerSec: 1000, percentCanRetry: 1, ttlSecs: 10 } },
    });
    cleanup.push(rig.close);
    const body = payload(100, 1);
    const call = (): Promise<{ status: string | undefined; from: string; err: string }> =>
      new Promise((resolve) => {
        const req = rig.session.request({
          ":method": "POST",
          ":path": "/svc.Svc/Call",
          ":authority": "svc",
          "content-type": "application/grpc",
          te: "trailers",
        });
        let from = "";
        let status: string | undefined;
        let err = "";
        req.on("data", (c: Buffer) => {
          from += c.toString();
        });
        req.on("response", (h) => {
          status = h["grpc-status"] as string | undefined;
          err = decodeURIComponent(String(h["l5d-err"] ?? ""));
        });
        req.on("trailers", (t) => {
          status = t["grpc-status"] as string | undefined;
        });
        req.on("error", () => {});
        req.on("close", () => resolve({ status, from, err }));
        req.end(body);
      });
    const out: Array<{ status: string | undefined; from: string; err: string }> = [];
    let next = 0;
    const deadline = Date.now() + 20_000;
    const worker = async (): Promise<void> => {
      while (next < 400 && Date.now() < deadline) {
        next++;
        out.push(await call());
        if (out.length === 100) {
          // endpoint a stops: no new connections; its open one drains gracefully
          a.server.close();
          for (const s of a.sessions) s.close();
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(out).toHaveLength(400);
    expect(out.filter((r) => r.status !== "0")).toEqual([]);
    // after a closed, the last requests all went to b
    expect(out.slice(-50).every((r) => r.from === "b")).toBe(true);
    await waitFor(() => rig.relay.streams === 0, 2_000, "no relayed stream left");
  });
});
