/**
 * Requeues on the frame-level relay (Linkerd's requeue of unprocessed requests), on loopback with
 * real node:http2 clients and backends: a refused connect, REFUSED_STREAM and a stream above an
 * upstream GOAWAY's last-stream-id are replayed once (headers + buffered DATA + trailers) on the
 * requeue endpoint; a request larger than the replay buffer is not; a refused endpoint is not
 * reconnected to for every request (connect backoff).
 */
import * as http2 from "node:http2";
import { createServer } from "node:net";
import { encodeFrame, FrameType } from "@l5d/h2";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ForwardSummary,
  type H2Backend,
  h2Client,
  payload,
  relayForward,
  simpleRequest,
  startH2Backend,
} from "../dataplane/test-support.js";
import type { Address as Endpoint } from "../router/address.js";
import { type RawUpstream, rawUpstream } from "./raw-upstream-rig.js";
import { type RelayServer, startRelayServer } from "./relay-server.js";

/** The request DATA kept for a replay (Linkerd `retryBufferSize.requestBytes`, the default). */
const REQUEUE_BUFFER_BYTES = 16_383;

const { NGHTTP2_REFUSED_STREAM } = http2.constants;

/** A port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface EchoBackend {
  readonly port: number;
  readonly endpoint: Endpoint;
  /** Streams the backend saw (refused ones included). */
  calls: number;
  /** Request bodies it answered. */
  bodies: Buffer[];
  close(): Promise<void>;
}

/**
 * A backend echoing the request body, its trailers' `x-sum` echoed back as `x-req-trailer`;
 * `before` may take a stream over (returns true).
 */
async function echoBackend(
  before?: (stream: http2.ServerHttp2Stream, n: number) => boolean,
): Promise<EchoBackend> {
  let h2: H2Backend | undefined;
  const e = {
    port: 0,
    endpoint: { host: "127.0.0.1", port: 0 },
    calls: 0,
    bodies: [] as Buffer[],
    close: () => (h2 as H2Backend).close(),
  };
  h2 = await startH2Backend((stream) => {
    e.calls++;
    if (before?.(stream, e.calls) === true) return;
    const chunks: Buffer[] = [];
    let reqTrailers: http2.IncomingHttpHeaders = {};
    stream.on("trailers", (t) => {
      reqTrailers = t;
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const body = Buffer.concat(chunks);
      e.bodies.push(body);
      stream.respond({ ":status": 200, "x-port": String(e.port) }, { waitForTrailers: true });
      stream.once("wantTrailers", () =>
        stream.sendTrailers({ "x-req-trailer": String(reqTrailers["x-sum"] ?? "none") }),
      );
      stream.end(body);
    });
  });
  e.port = h2.port;
  e.endpoint = h2.endpoint;
  return e;
}

/**
 * A raw HTTP/2 server that answers the first HEADERS of each stream with GOAWAY(last-stream-id 0,
 * NO_ERROR): the stream was not processed (node:http2 servers never send a last id below an
 * opened stream, so this one speaks frames).
 */
function goawayServer(): Promise<RawUpstream> {
  return rawUpstream((socket) => {
    const p = Buffer.alloc(8); // last-stream-id 0, NO_ERROR
    socket.write(encodeFrame(FrameType.GOAWAY, 0, 0, p));
    setTimeout(() => socket.end(), 50);
  });
}

interface Rig {
  relay: RelayServer;
  results: ForwardSummary[];
  requeues: number;
}

/** A relay forwarding every request to `first`, requeueing to `second`. */
async function relayWithRequeue(first: Endpoint, second: Endpoint | undefined): Promise<Rig> {
  const rig: Rig = { relay: undefined as unknown as RelayServer, results: [], requeues: 0 };
  rig.relay = await startRelayServer({
    host: "127.0.0.1",
    port: 0,
    onRequest(req) {
      void relayForward(
        req,
        first,
        { set: { "l5d-dst-service": "/svc/x" } },
        {
          requeue: () => {
            rig.requeues++;
            return second;
          },
        },
      ).then((r) => rig.results.push(r));
    },
  });
  return rig;
}

/** POSTs `body` with trailers `x-sum: <n>` and collects the answer. */
function post(session: http2.ClientHttp2Session, body: Buffer) {
  return new Promise<{
    status: number;
    body: Buffer;
    trailers: http2.IncomingHttpHeaders | undefined;
    headers: http2.IncomingHttpHeaders;
  }>((resolve, reject) => {
    const req = session.request(
      { ":method": "POST", ":path": "/echo", ":authority": "svc" },
      { waitForTrailers: true },
    );
    req.once("wantTrailers", () => req.sendTrailers({ "x-sum": String(body.length) }));
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    req.on("response", (h) => {
      headers = h;
    });
    req.on("trailers", (t) => {
      trailers = t;
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", reject);
    req.on("close", () =>
      resolve({
        status: Number(headers[":status"]),
        body: Buffer.concat(chunks),
        trailers,
        headers,
      }),
    );
    // in three writes: the replay must carry every frame in order
    const third = Math.ceil(body.length / 3);
    req.write(body.subarray(0, third));
    req.write(body.subarray(third, 2 * third));
    req.end(body.subarray(2 * third));
  });
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe("relay requeues (unprocessed requests)", () => {
  it("a refused connect is requeued to the requeue endpoint with its body and trailers", async () => {
    const good = await echoBackend();
    const rig = await relayWithRequeue(
      { host: "127.0.0.1", port: await deadPort() },
      good.endpoint,
    );
    const client = h2Client(rig.relay.port);
    cleanup.push(
      () => good.close(),
      () => rig.relay.close(),
      async () => client[Symbol.asyncDispose](),
    );
    const body = payload(12_000, 7);
    const res = await post(client, body);
    expect(res.status).toBe(200);
    expect(res.headers["x-port"]).toBe(String(good.port));
    expect(res.body.equals(body)).toBe(true);
    expect(res.trailers?.["x-req-trailer"]).toBe(String(body.length));
    expect(good.calls).toBe(1);
    expect(rig.requeues).toBe(1);
    expect(rig.results[0]?.retried).toBe(true);
    expect(rig.results[0]?.endpoint).toBe(`127.0.0.1:${good.port}`);
  });

  it("REFUSED_STREAM is replayed (same endpoint without a requeue choice), body intact", async () => {
    const b = await echoBackend((stream, n) => {
      if (n !== 1) return false;
      stream.close(NGHTTP2_REFUSED_STREAM);
      return true;
    });
    const rig = await relayWithRequeue(b.endpoint, undefined);
    const client = h2Client(rig.relay.port);
    cleanup.push(
      () => b.close(),
      () => rig.relay.close(),
      async () => client[Symbol.asyncDispose](),
    );
    const body = payload(9_000, 3);
    const res = await post(client, body);
    expect(res.status).toBe(200);
    expect(res.body.equals(body)).toBe(true);
    expect(res.trailers?.["x-req-trailer"]).toBe(String(body.length));
    expect(b.calls).toBe(2);
    expect(b.bodies).toHaveLength(1);
    expect(rig.results[0]?.retried).toBe(true);
  });

  it("a stream above an upstream GOAWAY's last-stream-id is requeued on a new connection", async () => {
    const other = await echoBackend();
    const goaway = await goawayServer();
    const rig = await relayWithRequeue(goaway.endpoint, other.endpoint);
    const client = h2Client(rig.relay.port);
    cleanup.push(
      () => goaway.close(),
      () => other.close(),
      () => rig.relay.close(),
      async () => client[Symbol.asyncDispose](),
    );
    const body = payload(2_000, 1);
    const res = await post(client, body);
    expect(goaway.requests).toBe(1);
    expect(res.headers["l5d-err"]).toBeUndefined();
    expect(res.status).toBe(200);
    expect(res.headers["x-port"]).toBe(String(other.port));
    expect(res.body.equals(body)).toBe(true);
    expect(rig.results[0]?.retried).toBe(true);
  });

  it("a request larger than the replay buffer is not replayed: the client gets the failure", async () => {
    const good = await echoBackend();
    const b = await echoBackend((stream, n) => {
      if (n !== 1) return false;
      // read the whole body first (so it was sent past the buffer), then refuse
      stream.resume();
      stream.once("end", () => stream.close(NGHTTP2_REFUSED_STREAM));
      return true;
    });
    const rig = await relayWithRequeue(b.endpoint, good.endpoint);
    const client = h2Client(rig.relay.port);
    cleanup.push(
      () => b.close(),
      () => good.close(),
      () => rig.relay.close(),
      async () => client[Symbol.asyncDispose](),
    );
    const body = payload(REQUEUE_BUFFER_BYTES + 10_000, 5);
    const res = await post(client, body);
    expect(res.status).toBe(503);
    expect(String(res.headers["l5d-err"])).toContain("REFUSED_STREAM");
    expect(good.calls).toBe(0);
    expect(rig.requeues).toBe(0);
    expect(rig.results[0]?.retried).toBe(false);
  });

  it("a refused endpoint is in connect backoff: the next requests fail fast without connecting", async () => {
    const port = await deadPort();
    // count connection attempts with a listener that is started and stopped around the test
    const rig = await relayWithRequeue({ host: "127.0.0.1", port }, undefined);
    const client = h2Client(rig.relay.port);
    cleanup.push(
      () => rig.relay.close(),
      async () => client[Symbol.asyncDispose](),
    );
    const first = await simpleRequest(client, {
      ":method": "GET",
      ":path": "/",
      ":authority": "svc",
    });
    expect(first.headers[":status"]).toBe(503);
    expect(decodeURIComponent(String(first.headers["l5d-err"]))).toMatch(/reconnecting in \d+ ms/);
    // 20 more within the backoff: each fails at once, none opens a connection
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) {
      const r = await simpleRequest(client, {
        ":method": "GET",
        ":path": "/",
        ":authority": "svc",
      });
      expect(r.headers[":status"]).toBe(503);
    }
    expect(performance.now() - t0).toBeLessThan(1000);
    // the connect error was seen once (first request) and once more for its replay at most
    const connectErrors = rig.results.filter((r) => r.error?.message.includes("connect failed"));
    expect(connectErrors.length).toBeLessThanOrEqual(1);
    expect(
      rig.results.filter((r) => r.error?.message.includes("is unavailable")).length,
    ).toBeGreaterThanOrEqual(20);
  });
});
