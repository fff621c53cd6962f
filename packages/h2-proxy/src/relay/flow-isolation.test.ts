/**
 * Flow control isolates streams (issue #14): a stream whose reader is slow or stalled holds back
 * only itself. The relay gives a sender its CONNECTION window back as soon as DATA is queued in
 * the stream, its STREAM window only once the bytes are written to the receiver, so a stream
 * never queues more than the stream window we advertised, and the shared connections (the
 * client's, the upstream's) never wait on one reader. On loopback with real node:http2 backends
 * and clients and a raw frame-speaking client that never reads.
 */
import { createHash } from "node:crypto";
import type * as http2 from "node:http2";
import { DEFAULT_WINDOW, Flag, FrameType, SettingsId } from "@l5d/h2";
import { afterEach, describe, expect, it } from "vitest";
import {
  getBlock,
  grpcFrame,
  h2Client,
  payload,
  RawH2Client,
  relayForward,
  SVC_CALL,
  setting,
  simpleRequest,
  startH2Backend,
  u32,
  waitFor,
} from "../dataplane/test-support.js";
import { retryableStatusCodes, startRelayRouterRig } from "./relay-router-rig.js";
import { startRelayServer } from "./relay-server.js";
import { NARROW_WINDOW } from "./response-window.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
});

const BIG = 1 << 20;

/** Sends `n` small requests at once on `client`; each resolves with its latency, or -1 after 5 s. */
function smallRequests(
  client: http2.ClientHttp2Session,
  n: number,
  path: string,
): Promise<number[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<number>((resolve) => {
          const t0 = performance.now();
          const timer = setTimeout(() => resolve(-1), 5_000);
          void simpleRequest(client, { ":path": path, ":authority": "svc" }).then((r) => {
            clearTimeout(timer);
            resolve(
              Number(r.headers[":status"]) === 200 && r.body.toString() === "ok"
                ? performance.now() - t0
                : -1,
            );
          });
        }),
    ),
  );
}

describe("relay flow control: a stalled reader holds back only its own stream", () => {
  for (const variant of ["SETTINGS_INITIAL_WINDOW_SIZE 0", "no WINDOW_UPDATE ever"] as const) {
    it(`response direction (${variant}): another client's requests to the same backend are answered at once; the stalled stream gets its 1 MiB intact later`, async () => {
      const big = payload(BIG, 7);
      const backend = await startH2Backend((stream, headers) => {
        stream.respond({ ":status": 200 });
        stream.end(headers[":path"] === "/big" ? big : "ok");
      });
      const relay = await startRelayServer({
        host: "127.0.0.1",
        port: 0,
        onRequest: (req) => void relayForward(req, backend.endpoint),
      });
      cleanup.push(
        () => backend.close(),
        () => relay.close(500),
      );
      await using stalled = await RawH2Client.connect(relay.port);
      if (variant === "SETTINGS_INITIAL_WINDOW_SIZE 0")
        stalled.send(FrameType.SETTINGS, 0, 0, setting(SettingsId.INITIAL_WINDOW_SIZE, 0));
      const block = getBlock("/big");
      stalled.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block);
      const received = (): number =>
        stalled.received(FrameType.DATA, 1).reduce((n, f) => n + f.payload.length, 0);
      // a client that gives no stream window: its upstream stream gets none, nothing is asked
      // of the backend (`response-window.ts`); one that takes its first 64 KiB and then gives
      // no WINDOW_UPDATE: the backend fills the stream window it was given again, queued here
      const zero = variant === "SETTINGS_INITIAL_WINDOW_SIZE 0";
      const taken = zero ? 0 : DEFAULT_WINDOW;
      const queued = zero ? 0 : DEFAULT_WINDOW;
      await waitFor(
        () =>
          stalled.received(FrameType.HEADERS, 1).length === 1 &&
          received() === taken &&
          relay.bufferedBytes === queued,
        5_000,
        "the stalled stream's window to fill",
      );

      await using other = h2Client(relay.port);
      let most = 0;
      const sample = setInterval(() => {
        most = Math.max(most, relay.bufferedBytes);
      }, 1);
      const latencies = await smallRequests(other, 8, "/small");
      clearInterval(sample);
      console.log(
        `other client's latencies (ms) with a stalled reader: ${latencies.map((x) => x.toFixed(1)).join(" ")}`,
      );
      expect(latencies.filter((x) => x < 0)).toEqual([]);
      for (const ms of latencies) expect(ms).toBeLessThan(1_000);
      // the stalled stream holds no more than the stream window the backend was given
      expect(most).toBeLessThanOrEqual(queued);
      expect(relay.bufferedBytes).toBe(queued);
      expect(received()).toBe(taken);

      // the slow reader reads at last: its whole response, intact
      stalled.send(FrameType.WINDOW_UPDATE, 0, 1, u32(1 << 30));
      stalled.send(FrameType.WINDOW_UPDATE, 0, 0, u32(1 << 30));
      await waitFor(
        () => stalled.received(FrameType.DATA, 1).some((f) => (f.flags & Flag.END_STREAM) !== 0),
        10_000,
        "the whole response",
      );
      const body = Buffer.concat(stalled.received(FrameType.DATA, 1).map((f) => f.payload));
      expect(body.length).toBe(BIG);
      expect(body.equals(big)).toBe(true);
      await waitFor(() => relay.streams === 0, 2_000, "no relayed stream left");
      expect(relay.bufferedBytes).toBe(0);
    });
  }

  it("request direction: a backend that never reads one body stalls only that request; the same client connection and upstream connection carry the others; the body arrives intact once read", async () => {
    const body = payload(BIG, 3);
    let release: () => void = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    let sinkStarted = false;
    const backend = await startH2Backend((stream, headers) => {
      if (headers[":path"] === "/sink") {
        // not read until released: its stream window stays shut
        sinkStarted = true;
        void released.then(() => {
          const hash = createHash("sha256");
          let n = 0;
          stream.on("data", (c: Buffer) => {
            hash.update(c);
            n += c.length;
          });
          stream.once("end", () => {
            stream.respond({ ":status": 200, "x-len": String(n), "x-sha": hash.digest("hex") });
            stream.end("ok");
          });
        });
        return;
      }
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.once("end", () => {
        stream.respond({ ":status": 200 });
        stream.end(Buffer.concat(chunks));
      });
    });
    // the client's connection window is one stream window: a stalled stream holding its
    // connection window would stop every other request on the client's connection
    const relay = await startRelayServer({
      host: "127.0.0.1",
      port: 0,
      connectionWindowSize: DEFAULT_WINDOW,
      onRequest: (req) => void relayForward(req, backend.endpoint),
    });
    cleanup.push(
      () => backend.close(),
      () => relay.close(500),
    );
    await using client = h2Client(relay.port);
    const sink = simpleRequest(
      client,
      { ":method": "POST", ":path": "/sink", ":authority": "svc" },
      body,
    );
    // the backend takes one stream window (64 KiB), the relay queues the client's next one
    await waitFor(
      () => sinkStarted && relay.bufferedBytes >= DEFAULT_WINDOW - 16_384,
      5_000,
      "the sink's windows to fill",
    );

    let most = 0;
    const sample = setInterval(() => {
      most = Math.max(most, relay.bufferedBytes);
    }, 1);
    const t0 = performance.now();
    const echoes = await Promise.all(
      Array.from({ length: 6 }, (_, i) => {
        const b = payload(20_000, 100 + i);
        return simpleRequest(
          client,
          { ":method": "POST", ":path": "/echo", ":authority": "svc" },
          b,
        ).then((r) => ({
          ok: Number(r.headers[":status"]) === 200 && r.body.equals(b),
          ms: performance.now() - t0,
        }));
      }),
    );
    clearInterval(sample);
    console.log(
      `echo latencies (ms) beside a stalled request body: ${echoes.map((e) => e.ms.toFixed(1)).join(" ")}`,
    );
    for (const e of echoes) {
      expect(e.ok).toBe(true);
      expect(e.ms).toBeLessThan(2_000);
    }
    // 120 KB of echo bodies went through a 64 KiB client connection window beside it: what the
    // relay held at most is the stalled body's one stream window plus the echoes' responses
    // waiting for the client's connection window (the upstream's connection window is open,
    // `UPSTREAM_CONNECTION_WINDOW`: each response is bounded by its own stream window, here by
    // its 20 KB)
    expect(most).toBeLessThanOrEqual(DEFAULT_WINDOW + 6 * 20_000);
    expect(relay.bufferedBytes).toBeLessThanOrEqual(DEFAULT_WINDOW);
    expect(backend.sessions.size).toBe(1);

    release();
    const r = await sink;
    expect(r.headers[":status"]).toBe(200);
    expect(Number(r.headers["x-len"])).toBe(BIG);
    expect(r.headers["x-sha"]).toBe(createHash("sha256").update(body).digest("hex"));
    await waitFor(() => relay.streams === 0, 2_000, "no relayed stream left");
    expect(relay.bufferedBytes).toBe(0);
  });

  it("held responses (router retries) do not pin the upstream connection window: a small call beside three held 30 KB responses is answered at once", async () => {
    const backend = await startH2Backend((stream, headers) => {
      stream.on("data", () => {});
      stream.once("end", () => {
        stream.respond(
          { ":status": 200, "content-type": "application/grpc" },
          { waitForTrailers: true },
        );
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        if (headers["x-slow"] === "1") {
          // 30 KB now, the trailers in 1.5 s: the response is held (not complete) meanwhile
          stream.write(grpcFrame(payload(30_000, 1)));
          setTimeout(() => stream.end(), 1_500);
        } else {
          stream.end(grpcFrame(Buffer.from("ok")));
        }
      });
    });
    cleanup.push(() => backend.close());
    const rig = await startRelayRouterRig([backend.port], {
      classifier: retryableStatusCodes([14]),
      policy: {
        classificationTimeoutMs: 5_000,
        retryBufferSize: { requestBytes: 16_383, responseBytes: 60_000 },
      },
    });
    cleanup.push(rig.close);
    const call = (slow: boolean) =>
      new Promise<{ ms: number; bytes: number; status: string | undefined }>((resolve) => {
        const t0 = performance.now();
        const req = rig.session.request({ ...SVC_CALL, ...(slow ? { "x-slow": "1" } : {}) });
        let bytes = 0;
        let status: string | undefined;
        req.on("data", (c: Buffer) => {
          bytes += c.length;
        });
        req.on("trailers", (t) => {
          status = t["grpc-status"] as string | undefined;
        });
        req.on("error", () => {});
        req.on("close", () => resolve({ ms: performance.now() - t0, bytes, status }));
        req.end(grpcFrame(Buffer.from("q")));
      });
    const held = [call(true), call(true), call(true)];
    // 90 KB held: more than the upstream connection's 64 KiB window
    await new Promise((r) => setTimeout(r, 300));
    const small = await call(false);
    console.log(`small call beside held responses: ${small.ms.toFixed(1)} ms`);
    expect(small.status).toBe("0");
    expect(small.ms).toBeLessThan(1_000);
    for (const h of await Promise.all(held)) {
      expect(h.status).toBe("0");
      expect(h.bytes).toBe(30_005);
    }
    await waitFor(() => rig.relay.streams === 0, 2_000, "no relayed stream left");
    expect(rig.relay.bufferedBytes).toBe(0);
  });

  it("zero-window buffering (CVE-2019-9517) is bounded per client connection: past maxQueuedDataBytes the client is closed with GOAWAY(ENHANCE_YOUR_CALM), its queued DATA freed; under it nothing is closed", async () => {
    // more than a stream window, small enough that node:http2's session memory bound (10 MB,
    // ENHANCE_YOUR_CALM on new streams) never counts eleven of them
    const big = payload(200_000, 3);
    const backend = await startH2Backend((stream, headers) => {
      stream.respond({ ":status": 200 });
      stream.end(headers[":path"] === "/big" ? big : "ok");
    });
    cleanup.push(() => backend.close());
    const fired: string[] = [];
    // room for the first stream's queue (64 KiB) and two narrowed ones (16 KiB each: streams
    // opened with no room left on the client's connection window, `response-window.ts`)
    const room = DEFAULT_WINDOW + 2 * NARROW_WINDOW;
    const relay = await startRelayServer({
      host: "127.0.0.1",
      port: 0,
      onRequest: (req) => void relayForward(req, backend.endpoint),
      limits: { maxQueuedDataBytes: room + 1_000 },
      onLimit: (name, _detail, side) => fired.push(`${side}:${name}`),
    });
    cleanup.push(() => relay.close(500));
    const block = getBlock("/big");
    // The client keeps its streams' default 64 KiB windows and never opens its connection
    // window: its first stream takes the 65,535 bytes the connection starts with (and its
    // upstream refills the 64 KiB it was given), and from then on every new stream's 16 KiB
    // waits here. (A client that gives no stream window at all costs nothing.)
    const stall = async (c: RawH2Client, ids: number[]) => {
      c.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block);
      await waitFor(
        () =>
          c.received(FrameType.DATA, 1).reduce((n, f) => n + f.payload.length, 0) ===
          DEFAULT_WINDOW,
        5_000,
        "the connection window used",
      );
      for (const id of ids)
        c.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, block);
    };

    // under the bound: three stalled streams queue their windows, the connection stays
    await using calm = await RawH2Client.connect(relay.port);
    await stall(calm, [3, 5]);
    await waitFor(() => relay.bufferedBytes === room, 5_000, "three queues full");
    await new Promise((r) => setTimeout(r, 100));
    expect(calm.isClosed).toBe(false);
    expect(fired).toEqual([]);
    calm.socket.destroy();
    await waitFor(() => relay.bufferedBytes === 0, 2_000, "the calm client's queues freed");

    // over it: the fourth stalled stream's DATA crosses the bound
    await using greedy = await RawH2Client.connect(relay.port);
    await stall(greedy, [3, 5, 7, 9, 11, 13, 15]);
    await waitFor(() => greedy.received(FrameType.GOAWAY).length > 0, 5_000, "GOAWAY");
    const goaway = greedy.received(FrameType.GOAWAY)[0];
    expect(goaway?.payload.readUInt32BE(4)).toBe(11); // ENHANCE_YOUR_CALM
    expect(fired).toEqual(["client:queued_data"]);
    await waitFor(() => greedy.isClosed, 2_000, "the greedy client closed");
    await waitFor(() => relay.bufferedBytes === 0 && relay.streams === 0, 2_000, "queues freed");
    // no response DATA went to the client past the connection window it had
    expect(greedy.received(FrameType.DATA).reduce((n, f) => n + f.payload.length, 0)).toBe(
      DEFAULT_WINDOW,
    );

    // the backend's connection and the relay serve everyone else
    await using other = h2Client(relay.port);
    const latencies = await smallRequests(other, 5, "/small");
    expect(latencies.filter((x) => x < 0)).toEqual([]);
  });
});
