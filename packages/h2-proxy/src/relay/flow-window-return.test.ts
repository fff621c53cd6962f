/**
 * Stream windows given back in halves (`flow-half.ts`: `Half.ackAt`, `unacked`): senders whose
 * windows differ from the default, padded DATA and small receiver windows still make progress.
 */
import { encodeHeaderBlock, Flag, FrameType } from "@l5d/h2";
import { afterEach, describe, expect, it } from "vitest";
import {
  h2Client,
  payload,
  RawH2Client,
  relayForward,
  simpleRequest,
  startH2Backend,
  waitFor,
} from "../dataplane/test-support.js";
import { startRelayServer } from "./relay-server.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
});

async function echoRelay(initialWindowSize?: number) {
  const backend = await startH2Backend((stream) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      if (stream.destroyed) return;
      stream.respond({ ":status": 200 });
      stream.end(Buffer.concat(chunks));
    });
  });
  const relay = await startRelayServer({
    host: "127.0.0.1",
    port: 0,
    initialWindowSize,
    onRequest(req) {
      void relayForward(req, backend.endpoint);
    },
  });
  cleanup.push(
    () => backend.close(),
    () => relay.close(0),
  );
  return relay;
}

describe("half-window WINDOW_UPDATE", () => {
  for (const [iw, size] of [
    [200_001, 1 << 20],
    [1 << 20, 1 << 20],
    [3, 3_000],
    [0, 3_000],
  ] as const) {
    it(`a ${size}-byte request body and its echo flow with initialWindowSize ${iw}`, async () => {
      const relay = await echoRelay(iw);
      const client = h2Client(relay.port);
      cleanup.push(async () => client[Symbol.asyncDispose]());
      const body = payload(size, 5);
      const r = await simpleRequest(
        client,
        { ":method": "POST", ":path": "/e", ":authority": "svc" },
        body,
      );
      expect(r.headers[":status"]).toBe(200);
      expect(r.body.equals(body)).toBe(true);
    }, 15_000);
  }

  it("a client with a 1,000-byte receive window gets a 300 KB echo (frames split, window still given back)", async () => {
    const relay = await echoRelay();
    const client = h2Client(relay.port, { settings: { initialWindowSize: 1_000 } });
    cleanup.push(async () => client[Symbol.asyncDispose]());
    const body = payload(300_000, 7);
    const r = await simpleRequest(
      client,
      { ":method": "POST", ":path": "/e", ":authority": "svc" },
      body,
    );
    expect(r.body.equals(body)).toBe(true);
  }, 15_000);

  it("padded request DATA (1 byte + 254 padding each) filling the stream window gets window back, no overrun", async () => {
    const relay = await echoRelay();
    const c = await RawH2Client.connect(relay.port);
    cleanup.push(async () => c[Symbol.asyncDispose]());
    c.send(
      FrameType.HEADERS,
      Flag.END_HEADERS,
      1,
      encodeHeaderBlock([
        [":method", "POST"],
        [":scheme", "http"],
        [":path", "/e"],
        [":authority", "svc"],
      ]),
    );
    // 255 frames of 256 flow-controlled bytes: 65,280 of the 65,535 window
    const frame = Buffer.alloc(256);
    frame[0] = 254;
    for (let i = 0; i < 255; i++) c.send(FrameType.DATA, Flag.PADDED, 1, frame);
    await waitFor(
      () =>
        c.received(FrameType.WINDOW_UPDATE, 1).reduce((n, f) => n + f.payload.readUInt32BE(0), 0) >=
        32_767,
      5_000,
      "stream window back",
    );
    expect(c.received(FrameType.RST_STREAM, 1)).toEqual([]);
  });
});
