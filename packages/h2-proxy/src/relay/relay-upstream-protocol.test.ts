/**
 * A misbehaving upstream on the frame-level relay, on loopback: response DATA before the
 * response HEADERS is a malformed response (RFC 9113 §8.1): the upstream stream is reset with
 * PROTOCOL_ERROR and the client gets a clear error for that request only, instead of a
 * headerless body; the upstream connection and the relay go on serving.
 */

import { encodeFrame, encodeHeaderBlock, FrameType } from "@l5d/h2";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ForwardSummary,
  h2Client,
  relayForward,
  simpleRequest,
  waitFor,
} from "../dataplane/test-support.js";
import { rawUpstream } from "./raw-upstream-rig.js";
import { startRelayServer } from "./relay-server.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe("relay: an upstream's malformed response", () => {
  it("DATA before HEADERS resets the upstream stream (PROTOCOL_ERROR) and fails only that request", async () => {
    // odd requests: DATA first (malformed); even ones: a proper response
    const up = await rawUpstream((socket, id) => {
      if (up.requests % 2 === 1) {
        socket.write(encodeFrame(FrameType.DATA, 0, id, Buffer.from("body-before-headers")));
        return;
      }
      const block = encodeHeaderBlock([[":status", "200"]]);
      socket.write(encodeFrame(FrameType.HEADERS, 0x4, id, block));
      socket.write(encodeFrame(FrameType.DATA, 0x1, id, Buffer.from("ok")));
    });
    const results: ForwardSummary[] = [];
    const relay = await startRelayServer({
      host: "127.0.0.1",
      port: 0,
      onRequest(req) {
        void relayForward(req, up.endpoint).then((r) => results.push(r));
      },
    });
    const client = h2Client(relay.port);
    cleanup.push(
      () => up.close(),
      () => relay.close(),
      async () => client[Symbol.asyncDispose](),
    );
    const headers = { ":method": "GET", ":path": "/x", ":authority": "svc" };

    const bad = await simpleRequest(client, headers);
    expect(bad.headers[":status"]).toBe(502);
    expect(decodeURIComponent(String(bad.headers["l5d-err"]))).toContain(
      "response DATA before its HEADERS",
    );
    expect(bad.body.toString()).not.toContain("body-before-headers");
    await waitFor(() => results.length === 1, 5_000, "the forward settles");
    expect(results[0]?.error?.message).toContain("DATA before its HEADERS");
    await waitFor(
      () => up.frames.some((f) => f.type === FrameType.RST_STREAM),
      5_000,
      "the upstream sees RST_STREAM",
    );
    const rst = up.frames.find((f) => f.type === FrameType.RST_STREAM);
    expect(rst?.payload.readUInt32BE(0)).toBe(1); // PROTOCOL_ERROR

    // the same upstream connection serves the next request
    const good = await simpleRequest(client, headers);
    expect(good.headers[":status"]).toBe(200);
    expect(good.body.toString()).toBe("ok");
    expect(up.requests).toBe(2);
    await waitFor(() => relay.streams === 0, 5_000, "no relayed stream left");
  });

  it("6.9.2 the relay opens its connection window to an upstream (2^31-1): many streams' DATA in flight at once, no WINDOW_UPDATE round trips", async () => {
    // each response is 60,000 bytes, under its 64 KiB stream window; four at once are 240 KB on
    // the connection, past the 65,535 an HTTP/2 connection starts with. The relay grants the
    // whole 2^31-1 in its first connection WINDOW_UPDATE (with the default window it would hand
    // it back 32 KiB at a time, each a round trip for an upstream that honours it)
    const chunk = Buffer.alloc(15_000, 0x62);
    const up = await rawUpstream((socket, id) => {
      socket.write(
        encodeFrame(FrameType.HEADERS, 0x4, id, encodeHeaderBlock([[":status", "200"]])),
      );
      for (let i = 0; i < 4; i++)
        socket.write(encodeFrame(FrameType.DATA, i === 3 ? 0x1 : 0, id, chunk));
    });
    const relay = await startRelayServer({
      host: "127.0.0.1",
      port: 0,
      onRequest(req) {
        void relayForward(req, up.endpoint);
      },
    });
    const client = h2Client(relay.port);
    cleanup.push(
      () => up.close(),
      () => relay.close(),
      async () => client[Symbol.asyncDispose](),
    );
    const headers = { ":method": "GET", ":path": "/big", ":authority": "svc" };
    const rs = await Promise.all([1, 2, 3, 4].map(() => simpleRequest(client, headers)));
    for (const r of rs) {
      expect(r.headers[":status"]).toBe(200);
      expect(r.body.length).toBe(60_000);
    }
    expect(up.connections).toBe(1);
    const grant = up.frames.find((f) => f.type === FrameType.WINDOW_UPDATE && f.streamId === 0);
    expect(grant?.payload.readUInt32BE(0)).toBe(0x7fffffff - 65_535);
    await waitFor(() => relay.streams === 0, 5_000, "no relayed stream left");
  });
});
