/**
 * The attack suite, header attacks (issue #14), both directions: an HPACK bomb (one 4 KB table
 * entry referenced 4,000 times: 16 MB decoded) stops at the header list limit while decoding;
 * trailers count against the limit; dynamic-table size abuse is a COMPRESSION_ERROR; an
 * upstream's bomb, oversized trailers or PING flood fail the stream cleanly (502 / reset) and a
 * flooding upstream connection is closed.
 */
import type { Socket } from "node:net";
import {
  ErrorCode,
  encodeFrame,
  encodeHeaderBlock,
  Flag,
  FrameType,
  type HeaderField,
  HpackDecoder,
  SettingsId,
} from "@l5d/h2";
import { waitFor } from "@l5d/h2/testing";
import { afterEach, describe, expect, it } from "vitest";
import {
  h2Client,
  RawH2Client,
  relayForward,
  simpleRequest,
  startH2Backend,
} from "../../dataplane/test-support.js";
import { rawUpstream } from "../raw-upstream-rig.js";
import { type RelayServerOptions, startRelayServer } from "../relay-server.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface Fired {
  name: string;
  detail: string;
  side: string;
}

async function relayTo(
  endpoint: { host: string; port: number },
  opts: Partial<RelayServerOptions> = {},
): Promise<{ port: number; fired: Fired[] }> {
  const fired: Fired[] = [];
  const r = await startRelayServer({
    host: "127.0.0.1",
    port: 0,
    onRequest(req) {
      void relayForward(req, endpoint);
    },
    onLimit(name, detail, side) {
      fired.push({ name, detail, side });
    },
    ...opts,
  });
  cleanup.push(() => r.close(0));
  return { port: r.port, fired };
}

async function okBackend(): Promise<{ host: string; port: number }> {
  const b = await startH2Backend((stream) => {
    stream.respond({ ":status": 200 });
    stream.end("ok");
  });
  cleanup.push(() => b.close());
  return b.endpoint;
}

/** A 4,000-byte value added to the dynamic table (`x-bomb`), then `refs` references to it. */
function bomb(refs: number): Buffer {
  const name = Buffer.from("x-bomb");
  return Buffer.concat([
    Buffer.from([0x40, name.length]),
    name,
    Buffer.from([0x7f, 0xa1, 0x1e]), // value length 4000 (127 + 3873)
    Buffer.alloc(4000, 0x76),
    Buffer.alloc(refs, 0xbe), // indexed: dynamic index 62
  ]);
}

/** GET / with pseudo-headers as static-table references, then `rest`. */
function getWith(rest: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([0x82, 0x86, 0x84]),
    encodeHeaderBlock([[":authority", "bomb"]]),
    rest,
  ]);
}

/** The decoded response header blocks a raw client received on `id` (one decoder, wire order). */
function responses(c: RawH2Client, id: number): HeaderField[][] {
  const d = new HpackDecoder();
  const out: HeaderField[][] = [];
  for (const f of c.received(FrameType.HEADERS)) {
    const fields = d.decode(f.payload);
    if (f.streamId === id) out.push(fields);
  }
  return out;
}

describe("attack suite: header attacks", () => {
  it("advertises and enforces a 64 KiB header list by default", async () => {
    const r = await relayTo(await okBackend());
    await using raw = await RawH2Client.connect(r.port);
    await waitFor(() => raw.received(FrameType.SETTINGS).length > 0, 2_000, "SETTINGS");
    const s = raw.received(FrameType.SETTINGS)[0]?.payload as Buffer;
    const entries = new Map<number, number>();
    for (let i = 0; i + 6 <= s.length; i += 6)
      entries.set(s.readUInt16BE(i), s.readUInt32BE(i + 2));
    expect(entries.get(SettingsId.MAX_HEADER_LIST_SIZE)).toBe(64 * 1024);
  });

  it("an HPACK bomb request (16 MB decoded) stops at the limit: 431, the connection goes on", async () => {
    const r = await relayTo(await okBackend());
    await using raw = await RawH2Client.connect(r.port);
    // bounded: 20 bombs on one connection (each re-adds the entry, referenced 4,000 times)
    for (let i = 0; i < 20; i++) {
      raw.send(
        FrameType.HEADERS,
        Flag.END_HEADERS | Flag.END_STREAM,
        1 + 2 * i,
        getWith(bomb(4_000)),
      );
    }
    await waitFor(() => responses(raw, 39).length > 0, 5_000, "20 answers");
    for (let i = 0; i < 20; i++) {
      const status = responses(raw, 1 + 2 * i)[0]?.find((f) => f[0] === ":status")?.[1];
      expect(status).toBe("431");
    }
    // the same connection serves a normal request after
    raw.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 41, getWith(Buffer.alloc(0)));
    await waitFor(() => responses(raw, 41).length > 0, 2_000, "normal answer");
    expect(responses(raw, 41)[0]?.find((f) => f[0] === ":status")?.[1]).toBe("200");
    expect(raw.received(FrameType.GOAWAY)).toHaveLength(0);
  });

  it("trailers count against the header list limit", async () => {
    const b = await startH2Backend((stream) => {
      // answers once the request ends (its trailers never arrive)
      stream.on("end", () => {
        if (stream.closed || stream.destroyed) return;
        stream.respond({ ":status": 200 });
        stream.end("ok");
      });
      stream.resume();
    });
    cleanup.push(() => b.close());
    const r = await relayTo(b.endpoint);
    await using raw = await RawH2Client.connect(r.port);
    raw.send(FrameType.HEADERS, Flag.END_HEADERS, 1, getWith(Buffer.alloc(0)));
    raw.send(FrameType.DATA, 0, 1, Buffer.from("body"));
    // 100 KB of trailers, bomb-compressed (HPACK) into 8 KB: over 64 KiB decoded
    raw.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, bomb(24));
    await waitFor(() => r.fired.some((f) => f.name === "header_list"), 2_000, "header_list");
    await waitFor(() => responses(raw, 1).length > 0, 2_000, "answer");
    expect(responses(raw, 1)[0]?.find((f) => f[0] === ":status")?.[1]).toBe("431");
    expect(r.fired.find((f) => f.name === "header_list")?.detail).toMatch(/trailers/);
  });

  it("dynamic table size abuse: an update over the advertised size, three updates in a block", async () => {
    const r = await relayTo(await okBackend());
    await using over = await RawH2Client.connect(r.port);
    // 0x3f e1 1f: size update to 8192 (we advertise the default 4096)
    over.send(
      FrameType.HEADERS,
      Flag.END_HEADERS | Flag.END_STREAM,
      1,
      Buffer.from([0x3f, 0xe1, 0x3f, 0x82]),
    );
    await waitFor(() => over.received(FrameType.GOAWAY).length > 0, 2_000, "GOAWAY");
    expect(over.received(FrameType.GOAWAY)[0]?.payload.readUInt32BE(4)).toBe(
      ErrorCode.COMPRESSION_ERROR,
    );
    await using many = await RawH2Client.connect(r.port);
    many.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, getWith(Buffer.alloc(0)));
    many.send(
      FrameType.HEADERS,
      Flag.END_HEADERS | Flag.END_STREAM,
      3,
      Buffer.concat([Buffer.from([0x20, 0x20, 0x20]), getWith(Buffer.alloc(0))]),
    );
    await waitFor(() => many.received(FrameType.GOAWAY).length > 0, 2_000, "GOAWAY");
    expect(many.received(FrameType.GOAWAY)[0]?.payload.readUInt32BE(4)).toBe(
      ErrorCode.COMPRESSION_ERROR,
    );
    expect(r.fired.some((f) => f.name === "hpack_table")).toBe(true);
  });

  it("an upstream's HPACK bomb response: 502 with l5d-err, the client's connection goes on", async () => {
    const up = await rawUpstream((socket: Socket, id: number) => {
      const block = Buffer.concat([Buffer.from([0x88]), bomb(4_000)]); // :status 200 + bomb
      socket.write(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, block));
    });
    cleanup.push(() => up.close());
    const r = await relayTo(up.endpoint);
    await using c = h2Client(r.port);
    const res = await simpleRequest(c, { ":method": "GET", ":path": "/" });
    expect(res.headers[":status"]).toBe(502);
    expect(decodeURIComponent(String(res.headers["l5d-err"]))).toMatch(/maxHeaderListSize/);
    const grpc = await simpleRequest(c, {
      ":method": "POST",
      ":path": "/a.B/C",
      "content-type": "application/grpc",
    });
    expect(grpc.headers["grpc-status"]).toBe("8");
    expect(r.fired.filter((f) => f.name === "header_list" && f.side === "upstream")).toHaveLength(
      2,
    );
  });

  it("an upstream's oversized trailers after the response started: the client's stream is reset", async () => {
    const up = await rawUpstream((socket: Socket, id: number) => {
      socket.write(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, id, Buffer.from([0x88])));
      socket.write(encodeFrame(FrameType.DATA, 0, id, Buffer.from("partial")));
      socket.write(
        encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, bomb(4_000)),
      );
    });
    cleanup.push(() => up.close());
    const r = await relayTo(up.endpoint);
    await using c = h2Client(r.port);
    const res = await simpleRequest(c, { ":method": "GET", ":path": "/" });
    expect(res.headers[":status"]).toBe(200);
    expect(res.rstCode).toBe(ErrorCode.INTERNAL_ERROR);
    expect(res.trailers).toBeUndefined();
  });

  it("an upstream flooding PINGs: its connection is closed, the stream fails with 502", async () => {
    const ping = encodeFrame(FrameType.PING, 0, 0, Buffer.alloc(8));
    const up = await rawUpstream((socket: Socket) => {
      // bounded: 2,000 PINGs (over the 1,000 per second), no response
      socket.write(Buffer.concat(Array.from({ length: 2_000 }, () => ping)));
    });
    cleanup.push(() => up.close());
    const r = await relayTo(up.endpoint);
    await using c = h2Client(r.port);
    const res = await simpleRequest(c, { ":method": "GET", ":path": "/" });
    expect(res.headers[":status"]).toBe(502);
    expect(decodeURIComponent(String(res.headers["l5d-err"]))).toMatch(/ping_flood/);
    const fired = r.fired.find((f) => f.name === "ping_flood");
    expect(fired?.side).toBe("upstream");
    // the relay told the upstream why: GOAWAY(ENHANCE_YOUR_CALM)
    await waitFor(() => up.frames.some((f) => f.type === FrameType.GOAWAY), 2_000, "GOAWAY");
    const g = up.frames.find((f) => f.type === FrameType.GOAWAY);
    expect(g?.payload.readUInt32BE(4)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
  });
});
