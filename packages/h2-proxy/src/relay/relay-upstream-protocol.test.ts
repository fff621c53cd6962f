/**
 * A misbehaving upstream on the frame-level relay, on loopback: response DATA before the
 * response HEADERS is a malformed response (RFC 9113 §8.1): the upstream stream is reset with
 * PROTOCOL_ERROR and the client gets a clear error for that request only, instead of a
 * headerless body; the upstream connection and the relay go on serving.
 */

import type { Socket } from "node:net";
import { encodeFrame, encodeHeaderBlock, FrameType, SettingsId } from "@l5d/h2";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ForwardSummary,
  getBlock,
  h2Client,
  payload,
  RawH2Client,
  relayForward,
  setting,
  simpleRequest,
  startH2Backend,
  u32,
  waitFor,
} from "../dataplane/test-support.js";
import { rawUpstream } from "./raw-upstream-rig.js";
import { startRelayServer } from "./relay-server.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/**
 * A relay forwarding every request to `upstream` and a node:http2 client of it, both (and the
 * upstream) closed after the test; `onResult` sees each forward's outcome.
 */
async function relayTo(
  upstream: { readonly endpoint: { host: string; port: number }; close(): Promise<void> },
  opts: {
    initialWindowSize?: number;
    onResult?: (r: ForwardSummary) => void;
    /** The client's connection window (node:http2's is the 65,535 default). */
    clientConnectionWindow?: number;
  } = {},
) {
  const relay = await startRelayServer({
    host: "127.0.0.1",
    port: 0,
    ...(opts.initialWindowSize === undefined ? {} : { initialWindowSize: opts.initialWindowSize }),
    onRequest(req) {
      void relayForward(req, upstream.endpoint).then((r) => opts.onResult?.(r));
    },
  });
  const client = h2Client(relay.port);
  const cw = opts.clientConnectionWindow;
  if (cw !== undefined) {
    // sent before any request of the test, on the same socket
    await new Promise<void>((r) => client.once("connect", () => r()));
    client.setLocalWindowSize(cw);
  }
  cleanup.push(
    () => upstream.close(),
    () => relay.close(),
    async () => client[Symbol.asyncDispose](),
  );
  return { relay, client };
}

/**
 * A raw upstream that answers each request's HEADERS at once and sends its body only when the
 * test writes it (`sockets`, by upstream stream id); `grants(id)`: the WINDOW_UPDATEs the relay
 * sent it for that stream, in order.
 */
async function windowedUpstream() {
  const sockets = new Map<number, Socket>();
  const up = await rawUpstream((socket, id) => {
    sockets.set(id, socket);
    socket.write(encodeFrame(FrameType.HEADERS, 0x4, id, encodeHeaderBlock([[":status", "200"]])));
  });
  const grants = (upId: number) =>
    up.frames
      .filter((f) => f.type === FrameType.WINDOW_UPDATE && f.streamId === upId)
      .map((f) => f.payload.readUInt32BE(0));
  return { up, sockets, grants };
}

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
    const { relay, client } = await relayTo(up, { onResult: (r) => results.push(r) });
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
    // (a client connection window with room for the four: each stream is given its 64 KiB)
    const { relay, client } = await relayTo(up, { clientConnectionWindow: 1 << 20 });
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

  it("6.9.1 an upstream's stream window goes back in halves: none for a stream of small messages, one WINDOW_UPDATE per 32 KiB written for a large one", async () => {
    // /small: 100 gRPC-sized DATA frames (13 bytes, 1,300 in all); /large: four of 15,000; each
    // stream ends 100 ms later with an empty DATA frame (END_STREAM), so the relay has streamed
    // every byte to the client while the upstream still sends. Each stream opens with the grant
    // of its window (65,535: the client's stream window, node:http2's default, with room on its
    // connection; the upstream connection's initial window is 0, `response-window.ts`). The relay gives a stream's window back once
    // half of it is written: /small costs the upstream no further WINDOW_UPDATE (one per frame
    // before), /large one of 45,000 after its third frame and none for the last 15,000 (four of
    // 15,000 before)
    const small = Buffer.alloc(13, 0x61);
    const large = Buffer.alloc(15_000, 0x62);
    const paths = new Map<number, string>();
    const up = await rawUpstream((socket, id) => {
      socket.write(
        encodeFrame(FrameType.HEADERS, 0x4, id, encodeHeaderBlock([[":status", "200"]])),
      );
      const isSmall = up.requests === 1;
      paths.set(id, isSmall ? "small" : "large");
      for (let i = 0; i < (isSmall ? 100 : 4); i++)
        socket.write(encodeFrame(FrameType.DATA, 0, id, isSmall ? small : large));
      setTimeout(() => socket.write(encodeFrame(FrameType.DATA, 0x1, id, Buffer.alloc(0))), 100);
    });
    const { relay, client } = await relayTo(up, { clientConnectionWindow: 1 << 20 });
    const get = (path: string) =>
      simpleRequest(client, { ":method": "GET", ":path": path, ":authority": "svc" });
    expect((await get("/small")).body.length).toBe(1_300);
    expect((await get("/large")).body.length).toBe(60_000);
    await waitFor(() => relay.streams === 0, 5_000, "no relayed stream left");
    const updates = (which: string) =>
      up.frames
        .filter((f) => f.type === FrameType.WINDOW_UPDATE && paths.get(f.streamId) === which)
        .map((f) => f.payload.readUInt32BE(0));
    expect(updates("small")).toEqual([65_535]);
    expect(updates("large")).toEqual([65_535, 45_000]);
  });

  it("6.9.2 an upstream stream's window is what its client can take, up to 64 KiB: nothing for a client that gives none, its WINDOW_UPDATEs passed on, a larger SETTINGS_INITIAL_WINDOW_SIZE too", async () => {
    // the upstream sends its body only when the test says so, within the window it was given
    const { up, sockets, grants } = await windowedUpstream();
    const { relay } = await relayTo(up);
    await using client = await RawH2Client.connect(relay.port);
    client.send(FrameType.SETTINGS, 0, 0, setting(SettingsId.INITIAL_WINDOW_SIZE, 0));
    const block = getBlock("/x");
    for (const id of [1, 3]) client.send(FrameType.HEADERS, 0x5, id, block);
    await waitFor(() => client.received(FrameType.HEADERS).length === 2, 5_000, "two responses");
    // a client that gives no window: its upstream streams get none either
    expect(grants(1)).toEqual([]);
    expect(grants(3)).toEqual([]);

    // its stream WINDOW_UPDATEs go upstream as they come, up to 64 KiB in all
    client.send(FrameType.WINDOW_UPDATE, 0, 1, u32(1_000));
    await waitFor(() => grants(1).length === 1, 5_000, "the first grant");
    client.send(FrameType.WINDOW_UPDATE, 0, 1, u32(1 << 20));
    await waitFor(() => grants(1).length === 2, 5_000, "the second grant");
    client.send(FrameType.WINDOW_UPDATE, 0, 1, u32(5_000));
    // a larger SETTINGS_INITIAL_WINDOW_SIZE opens every stream's window by the difference
    client.send(FrameType.SETTINGS, 0, 0, setting(SettingsId.INITIAL_WINDOW_SIZE, 5_000));
    await waitFor(() => grants(3).length === 1, 5_000, "the grant after SETTINGS");
    expect(grants(1)).toEqual([1_000, 64_535]);
    expect(grants(3)).toEqual([5_000]);

    // the upstream sends what it was given: all of it reaches the client, intact
    const body = payload(65_535, 9);
    const s1 = sockets.get(1) as Socket;
    for (let at = 0; at < body.length; at += 16_384)
      s1.write(encodeFrame(FrameType.DATA, 0, 1, body.subarray(at, at + 16_384)));
    s1.write(encodeFrame(FrameType.DATA, 0x1, 1, Buffer.alloc(0)));
    await waitFor(
      () => client.received(FrameType.DATA, 1).some((f) => (f.flags & 0x1) !== 0),
      5_000,
      "the whole response",
    );
    const got = Buffer.concat(client.received(FrameType.DATA, 1).map((f) => f.payload));
    expect(got.equals(body)).toBe(true);
    // one byte past its window is the upstream's flow-control error, not a queue that grows
    const s3 = sockets.get(3) as Socket;
    s3.write(encodeFrame(FrameType.DATA, 0, 3, Buffer.alloc(5_001)));
    await waitFor(
      () => up.frames.some((f) => f.type === FrameType.RST_STREAM && f.streamId === 3),
      5_000,
      "the upstream stream reset",
    );
    const rst = up.frames.find((f) => f.type === FrameType.RST_STREAM && f.streamId === 3);
    expect(rst?.payload.readUInt32BE(0)).toBe(3); // FLOW_CONTROL_ERROR
    expect(relay.bufferedBytes).toBe(0);
  });

  it("6.9.2 with no room left on its client's connection window a new stream is given 16 KiB, widened when the client opens its connection window", async () => {
    const { up, sockets, grants } = await windowedUpstream();
    const { relay } = await relayTo(up);
    // a client with the default windows (65,535 each, its connection's included)
    await using client = await RawH2Client.connect(relay.port);
    const block = getBlock("/x");
    client.send(FrameType.HEADERS, 0x5, 1, block);
    await waitFor(() => grants(1).length === 1, 5_000, "the first stream's grant");
    expect(grants(1)).toEqual([65_535]);
    // its response takes the client's whole connection window (written: given back upstream)
    const s1 = sockets.get(1) as Socket;
    const body = payload(65_535, 5);
    for (let at = 0; at < body.length; at += 16_384)
      s1.write(encodeFrame(FrameType.DATA, 0, 1, body.subarray(at, at + 16_384)));
    await waitFor(
      () => client.received(FrameType.DATA, 1).reduce((n, f) => n + f.payload.length, 0) === 65_535,
      5_000,
      "the connection window used",
    );
    await waitFor(
      () => grants(1).reduce((n, x) => n + x, 0) === 2 * 65_535,
      5_000,
      "the written bytes given back",
    );
    // no room on the connection: the next two streams are given 16 KiB each, not 64 KiB
    client.send(FrameType.HEADERS, 0x5, 3, block);
    client.send(FrameType.HEADERS, 0x5, 5, block);
    await waitFor(() => grants(5).length === 1, 5_000, "the narrowed grants");
    expect(grants(3)).toEqual([16_384]);
    expect(grants(5)).toEqual([16_384]);
    // the client opens its connection window: they get the rest of their 64 KiB
    client.send(FrameType.WINDOW_UPDATE, 0, 0, u32(1 << 20));
    await waitFor(() => grants(5).length === 2, 5_000, "the widened grants");
    expect(grants(3)).toEqual([16_384, 49_151]);
    expect(grants(5)).toEqual([16_384, 49_151]);
    // the first stream ends: the relay holds nothing
    s1.write(encodeFrame(FrameType.DATA, 0x1, 1, Buffer.alloc(0)));
    await waitFor(
      () => client.received(FrameType.DATA, 1).some((f) => (f.flags & 0x1) !== 0),
      5_000,
      "the first response's end",
    );
    expect(relay.bufferedBytes).toBe(0);
  });

  it("6.9.1 with a small advertised stream window (1,000 bytes) a client's 200 KB request body and a 200 KB response still flow: the window goes back every 500 bytes written", async () => {
    // half the window we advertise is the point at which written bytes are given back: a client
    // (node:http2, which honours our SETTINGS) must never wait on a WINDOW_UPDATE that is held
    const body = payload(200_000, 3);
    const backend = await startH2Backend((stream) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        stream.respond({ ":status": 200 });
        stream.end(Buffer.concat(chunks));
      });
    });
    const { relay, client } = await relayTo(backend, { initialWindowSize: 1_000 });
    const r = await simpleRequest(
      client,
      { ":method": "POST", ":path": "/echo", ":authority": "svc" },
      body,
    );
    expect(r.headers[":status"]).toBe(200);
    expect(r.body.equals(body)).toBe(true);
    await waitFor(() => relay.streams === 0, 5_000, "no relayed stream left");
  });

  it("6.9.2 a stream whose client opens its stream window while the connection has no room gets 16 KiB, and the rest once the connection window opens", async () => {
    const { up, grants } = await windowedUpstream();
    const { relay } = await relayTo(up);
    // streams open with no window (SETTINGS_INITIAL_WINDOW_SIZE 0), then the first is given 64 KiB
    await using client = await RawH2Client.connect(relay.port);
    client.send(FrameType.SETTINGS, 0, 0, setting(SettingsId.INITIAL_WINDOW_SIZE, 0));
    const block = getBlock("/x");
    client.send(FrameType.HEADERS, 0x5, 1, block);
    client.send(FrameType.HEADERS, 0x5, 3, block);
    await waitFor(() => client.received(FrameType.HEADERS).length === 2, 5_000, "two responses");
    client.send(FrameType.WINDOW_UPDATE, 0, 1, u32(65_535));
    await waitFor(() => grants(1).length === 1, 5_000, "the first stream's grant");
    expect(grants(1)).toEqual([65_535]);
    // the second stream's window opens while the first holds the connection's whole room
    client.send(FrameType.WINDOW_UPDATE, 0, 3, u32(65_535));
    await waitFor(() => grants(3).length === 1, 5_000, "the narrowed grant");
    expect(grants(3)).toEqual([16_384]);
    // the connection window opens: the rest of its 64 KiB
    client.send(FrameType.WINDOW_UPDATE, 0, 0, u32(1 << 20));
    await waitFor(() => grants(3).length === 2, 5_000, "the widened grant");
    expect(grants(3)).toEqual([16_384, 49_151]);
    expect(grants(1)).toEqual([65_535]);
  });
});
