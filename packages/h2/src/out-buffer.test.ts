/**
 * The connection output buffer (`out-buffer.ts`) and `FrameConn`'s serialization through it, on
 * real loopback sockets: bytes leave in call order across chunk boundaries and ticks, a tick's
 * small frames are one `socket.write`, large payloads are written as they are, bytes still held
 * by a backed-up socket are never overwritten, and a header block over the peer's frame size
 * is split into HEADERS + CONTINUATION in order with the frames around it.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FrameConn, type FrameHandler } from "./frame-conn.js";
import { type HeaderField, HpackDecoder } from "./hpack.js";
import { CHUNK_BYTES, COPY_MAX, MIN_CHUNK_BYTES, OutBuffer } from "./out-buffer.js";
import { decodeFrames } from "./raw-frames.js";
import { prng, waitFor } from "./testing.js";
import { Flag, FrameType } from "./wire.js";

interface Pair {
  /** Our (writing) side. */
  client: net.Socket;
  /** The peer's side of the connection. */
  server: net.Socket;
  /** Everything the peer has read so far. */
  received: Buffer[];
  receivedBytes(): number;
  ended: boolean;
}

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

async function loopbackPair(): Promise<Pair> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => srv.once("connection", r));
  const client = net.connect(port, "127.0.0.1");
  await new Promise<void>((r, j) => client.once("connect", r).once("error", j));
  const server = await accepted;
  const pair: Pair = {
    client,
    server,
    received: [],
    receivedBytes: () => pair.received.reduce((n, b) => n + b.length, 0),
    ended: false,
  };
  server.on("data", (b: Buffer) => pair.received.push(b));
  server.on("end", () => {
    pair.ended = true;
  });
  cleanup.push(() => {
    client.destroy();
    server.destroy();
    srv.close();
  });
  return pair;
}

/**
 * A TLS connection on loopback (a self-signed certificate made by openssl for the run): our side
 * is the TLS client, as a relay's upstream connection is.
 */
async function tlsPair(key: Buffer, cert: Buffer): Promise<Pair> {
  const peers: tls.TLSSocket[] = [];
  const srv = tls.createServer({ key, cert }, (s) => peers.push(s));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  const client = tls.connect({ port, host: "127.0.0.1", ca: cert, servername: "localhost" });
  await new Promise<void>((r, j) => client.once("secureConnect", r).once("error", j));
  await waitFor(() => peers.length === 1, 5_000, "the server side of the TLS connection");
  const server = peers[0] as tls.TLSSocket;
  const pair: Pair = {
    client,
    server,
    received: [],
    receivedBytes: () => pair.received.reduce((n, b) => n + b.length, 0),
    ended: false,
  };
  server.on("data", (b: Buffer) => pair.received.push(b));
  cleanup.push(() => {
    client.destroy();
    server.destroy();
    srv.close();
  });
  return pair;
}

/** Bytes that differ write by write: a stale or overwritten region would not compare equal. */
function pattern(n: number, seq: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (seq * 31 + i * 7) & 0xff;
  return b;
}

/** Serializes `src` the way FrameConn does: reserve, write at `pos`, advance `pos`. */
function inPlace(out: OutBuffer, src: Buffer): void {
  const chunk = out.reserve(src.length);
  for (let i = 0; i < src.length; i++) chunk[out.pos + i] = src[i] as number;
  out.pos += src.length;
}

/**
 * One random write, returned: a small frame (a `small` share of them, up to 600 bytes), one
 * around `COPY_MAX`, or a large payload up to `largeChunks` chunks; written in place or as bytes.
 */
function writeRandom(
  out: OutBuffer,
  rnd: () => number,
  seq: number,
  small: number,
  largeChunks: number,
): Buffer {
  const r = rnd();
  const size =
    r < small
      ? 1 + Math.floor(rnd() * 600)
      : r < 0.9
        ? COPY_MAX - 2 + Math.floor(rnd() * 4)
        : COPY_MAX + 1 + Math.floor(rnd() * largeChunks * CHUNK_BYTES);
  const b = pattern(size, seq);
  if (rnd() < 0.5 && size <= CHUNK_BYTES) inPlace(out, b);
  else out.bytes(b);
  return b;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Records the buffers handed to a real socket's `write` (node's method, observed, still called). */
function recordWrites(socket: net.Socket): Buffer[] {
  const writes: Buffer[] = [];
  const write = socket.write.bind(socket) as (b: Buffer, cb?: () => void) => boolean;
  socket.write = ((b: Buffer, cb?: () => void) => {
    writes.push(b);
    return write(b, cb);
  }) as typeof socket.write;
  return writes;
}

describe("OutBuffer", () => {
  it("keeps call order across chunk boundaries, within a tick and over many ticks", async () => {
    const pair = await loopbackPair();
    const out = new OutBuffer(pair.client);
    const rnd = prng(0x0b0f);
    const expected: Buffer[] = [];
    let seq = 0;
    for (let t = 0; t < 60; t++) {
      // 1..40 writes per tick, sized so that chunks fill mid-frame and large payloads interleave
      const n = 1 + Math.floor(rnd() * 40);
      for (let i = 0; i < n; i++) expected.push(writeRandom(out, rnd, seq++, 0.6, 3));
      await tick();
    }
    const all = Buffer.concat(expected);
    expect(all.length).toBeGreaterThan(10 * CHUNK_BYTES);
    await waitFor(() => pair.receivedBytes() >= all.length, 5_000, "all bytes received");
    expect(Buffer.concat(pair.received).equals(all)).toBe(true);
  });

  it("writes a tick's small frames as one write and a large payload as the same buffer", async () => {
    const pair = await loopbackPair();
    const out = new OutBuffer(pair.client);
    const writes = recordWrites(pair.client);
    const a = pattern(100, 1);
    const b = pattern(200, 2);
    inPlace(out, a);
    out.bytes(b);
    await tick();
    // small frames of one tick: one write of the filled region
    expect(writes.length).toBe(1);
    expect(Buffer.concat(writes).equals(Buffer.concat([a, b]))).toBe(true);

    const big = pattern(COPY_MAX + 1, 3);
    const c = pattern(50, 4);
    inPlace(out, a);
    out.bytes(big);
    out.bytes(c);
    await tick();
    // the region before, the payload itself (not a copy), the region after
    expect(writes.length).toBe(4);
    expect(writes[2]).toBe(big);
    expect((writes[1] as Buffer).equals(a)).toBe(true);
    expect((writes[3] as Buffer).equals(c)).toBe(true);
    const all = Buffer.concat([a, b, a, big, c]);
    await waitFor(() => pair.receivedBytes() >= all.length, 5_000, "all bytes received");
    expect(Buffer.concat(pair.received).equals(all)).toBe(true);
  });

  it("starts with a small chunk, grows it for a busy tick, and then reuses it", async () => {
    const pair = await loopbackPair();
    const out = new OutBuffer(pair.client);
    expect(out.capacity).toBe(MIN_CHUNK_BYTES);
    const writes = recordWrites(pair.client);
    // light ticks: the first chunk is enough
    for (let t = 0; t < 5; t++) {
      inPlace(out, pattern(200, t));
      await tick();
    }
    expect(out.capacity).toBe(MIN_CHUNK_BYTES);
    // a busy tick: 100 KB of small frames; the chunk doubles up to CHUNK_BYTES, no further
    const busy: Buffer[] = [];
    for (let i = 0; i < 500; i++) busy.push(pattern(200, 100 + i));
    for (const b of busy) inPlace(out, b);
    await tick();
    expect(out.capacity).toBe(CHUNK_BYTES);
    // the next busy ticks reuse the full-size chunk: about one write per CHUNK_BYTES
    const before = writes.length;
    for (const b of busy) inPlace(out, b);
    await tick();
    expect(writes.length - before).toBeLessThanOrEqual(
      Math.ceil((500 * 200) / (CHUNK_BYTES - 200)),
    );
    const all = Buffer.concat([
      ...[0, 1, 2, 3, 4].map((t) => pattern(200, t)),
      Buffer.concat(busy),
      Buffer.concat(busy),
    ]);
    await waitFor(() => pair.receivedBytes() >= all.length, 5_000, "all bytes received");
    expect(Buffer.concat(pair.received).equals(all)).toBe(true);
  });

  it("never overwrites bytes a backed-up socket still holds", async () => {
    const pair = await loopbackPair();
    // the peer stops reading: the kernel buffers fill and writes stay pending in the socket
    pair.server.pause();
    const out = new OutBuffer(pair.client);
    const expected: Buffer[] = [];
    let seq = 0;
    let backedUpTicks = 0;
    const deadline = Date.now() + 10_000;
    // bounded: at most 4,000 ticks of 16 KiB; stops 40 ticks after the socket first backed up
    for (let t = 0; t < 4_000 && backedUpTicks < 40 && Date.now() < deadline; t++) {
      for (let i = 0; i < 64; i++) {
        const b = pattern(256, seq++);
        expected.push(b);
        inPlace(out, b);
      }
      await tick();
      if (pair.client.writableLength > 0) backedUpTicks++;
    }
    expect(backedUpTicks).toBe(40);
    pair.server.resume();
    const all = Buffer.concat(expected);
    await waitFor(() => pair.receivedBytes() >= all.length, 10_000, "all bytes received");
    expect(Buffer.concat(pair.received).equals(all)).toBe(true);
  });
});

describe("OutBuffer on a TLS socket", () => {
  let dir = "";
  let key = Buffer.alloc(0);
  let cert = Buffer.alloc(0);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "out-buffer-tls-"));
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        .concat(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"])
        .concat(["-days", "2", "-keyout", "key.pem", "-out", "cert.pem"]),
      { cwd: dir, stdio: "pipe" },
    );
    key = readFileSync(join(dir, "key.pem"));
    cert = readFileSync(join(dir, "cert.pem"));
  });
  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("writes what the callbacks of one turn of the loop produce as one write", async () => {
    const pair = await tlsPair(key, cert);
    const out = new OutBuffer(pair.client);
    const writes = recordWrites(pair.client);
    const sent: Buffer[] = [];
    // five callbacks of one turn (as five TLS records read at once are): one write, one record
    // (750 bytes: the first chunk holds them all)
    for (let i = 0; i < 5; i++) {
      const b = pattern(150, i);
      sent.push(b);
      inPlace(out, b);
      await new Promise((r) => process.nextTick(r));
    }
    expect(writes.length).toBe(0);
    await tick();
    expect(writes.length).toBe(1);
    // the next turns, while that write may still be completing: nothing lost, order kept
    for (let t = 0; t < 20; t++) {
      for (let i = 0; i < 3; i++) {
        const b = pattern(20 + t + i, 10 + t * 3 + i);
        sent.push(b);
        inPlace(out, b);
        await new Promise((r) => process.nextTick(r));
      }
      await tick();
    }
    // one write per turn at most, plus the writes of a full chunk (3 KB in all: the 1 KiB first
    // chunk fills at most twice on its way to 4 KiB)
    expect(writes.length).toBeLessThanOrEqual(21 + 2);
    const all = Buffer.concat(sent);
    await waitFor(() => pair.receivedBytes() >= all.length, 5_000, "all bytes received");
    expect(Buffer.concat(pair.received).equals(all)).toBe(true);
  });

  it("keeps call order with large payloads and full chunks, and reuses its chunk", async () => {
    const pair = await tlsPair(key, cert);
    const out = new OutBuffer(pair.client);
    const rnd = prng(0x7151);
    const expected: Buffer[] = [];
    let seq = 0;
    for (let t = 0; t < 40; t++) {
      const n = 1 + Math.floor(rnd() * 40);
      for (let i = 0; i < n; i++) {
        expected.push(writeRandom(out, rnd, seq++, 0.7, 2));
        if (rnd() < 0.2) await new Promise((r) => process.nextTick(r));
      }
      await tick();
    }
    const all = Buffer.concat(expected);
    await waitFor(() => pair.receivedBytes() >= all.length, 10_000, "all bytes received");
    expect(Buffer.concat(pair.received).equals(all)).toBe(true);
    // every write completed: the next frame goes at the start of the chunk again
    await waitFor(() => pair.client.writableLength === 0, 5_000, "writes completed");
    await tick();
    inPlace(out, pattern(10, 1));
    expect(out.pos).toBe(10);
  });

  it("end() after frames of the same turn sends them before the close", async () => {
    const pair = await tlsPair(key, cert);
    const conn = new FrameConn(pair.client, 0);
    conn.handler = noHandler;
    let ended = false;
    pair.server.on("end", () => {
      ended = true;
    });
    conn.frame(FrameType.DATA, 0, 1, Buffer.from("first"));
    await tick();
    // a write may be in flight: these wait for it, and end() must still send them
    conn.frame(FrameType.DATA, 0, 1, Buffer.from("second"));
    conn.goaway(1, 0);
    conn.end();
    await waitFor(() => ended, 5_000, "the peer sees the end");
    const frames = parseFrames(Buffer.concat(pair.received));
    expect(frames.map((f) => [f.type, f.p.toString("latin1")])).toEqual([
      [FrameType.DATA, "first"],
      [FrameType.DATA, "second"],
      [FrameType.GOAWAY, frames[2]?.p.toString("latin1")],
    ]);
  });
});

/** The frames of a whole received byte stream (nothing left over). */
function parseFrames(b: Buffer): Array<{ type: number; flags: number; id: number; p: Buffer }> {
  const { frames, rest } = decodeFrames(b);
  expect(rest.length).toBe(0);
  return frames.map((f) => ({ type: f.type, flags: f.flags, id: f.streamId, p: f.payload }));
}

const noHandler: FrameHandler = {
  onHeaders() {},
  onData() {},
  onRstStream() {},
  onWindow() {},
  onGoaway() {},
  onClose() {},
};

describe("FrameConn output", () => {
  it("splits a block over the peer's frame size into HEADERS + CONTINUATION, in call order", async () => {
    const pair = await loopbackPair();
    const conn = new FrameConn(pair.client, 0);
    conn.handler = noHandler;
    const big: HeaderField[] = [
      [":status", "200"],
      ["x-big-1", "a".repeat(20_000)],
      ["x-big-2", "b".repeat(15_000)],
    ];
    const small: HeaderField[] = [
      [":status", "200"],
      ["content-type", "application/grpc"],
    ];
    const body = pattern(COPY_MAX + 100, 9);
    conn.frame(FrameType.DATA, 0, 1, Buffer.from("before"));
    conn.headers(3, big, true);
    conn.headers(5, small, false);
    conn.frame(FrameType.DATA, Flag.END_STREAM, 5, body);
    conn.rstStream(7, 8);
    conn.settings([[4, 1_000_000]]);
    conn.windowUpdate(0, 5000);
    conn.goaway(7, 0);
    // end(): everything buffered leaves before the FIN
    conn.end();
    await waitFor(() => pair.ended, 5_000, "the peer sees the end");
    const frames = parseFrames(Buffer.concat(pair.received));
    expect(frames.map((f) => [f.type, f.flags, f.id])).toEqual([
      [FrameType.DATA, 0, 1],
      [FrameType.HEADERS, Flag.END_STREAM, 3],
      [FrameType.CONTINUATION, 0, 3],
      [FrameType.CONTINUATION, Flag.END_HEADERS, 3],
      [FrameType.HEADERS, Flag.END_HEADERS, 5],
      [FrameType.DATA, Flag.END_STREAM, 5],
      [FrameType.RST_STREAM, 0, 7],
      [FrameType.SETTINGS, 0, 0],
      [FrameType.WINDOW_UPDATE, 0, 0],
      [FrameType.GOAWAY, 0, 0],
    ]);
    for (const f of frames.slice(1, 3)) expect(f.p.length).toBe(16_384);
    const d = new HpackDecoder();
    const block = Buffer.concat(frames.slice(1, 4).map((f) => f.p));
    expect(d.decode(block)).toEqual(big);
    expect(d.decode((frames[4] as { p: Buffer }).p)).toEqual(small);
    expect((frames[5] as { p: Buffer }).p.equals(body)).toBe(true);
    expect((frames[6] as { p: Buffer }).p.readUInt32BE(0)).toBe(8);
    const settings = (frames[7] as { p: Buffer }).p;
    expect([settings.readUInt16BE(0), settings.readUInt32BE(2)]).toEqual([4, 1_000_000]);
    expect((frames[8] as { p: Buffer }).p.readUInt32BE(0)).toBe(5000);
    const goaway = (frames[9] as { p: Buffer }).p;
    expect([goaway.readUInt32BE(0), goaway.readUInt32BE(4)]).toEqual([7, 0]);
  });

  it("encodes many blocks in place over many ticks, decodable in order by the peer", async () => {
    const pair = await loopbackPair();
    const conn = new FrameConn(pair.client, 0);
    conn.handler = noHandler;
    const sent: HeaderField[][] = [];
    // ~600 blocks of ~100-3,000 bytes: chunks fill and are replaced mid-stream
    for (let t = 0; t < 20; t++) {
      for (let i = 0; i < 30; i++) {
        const n = t * 30 + i;
        const fields: HeaderField[] = [
          [":path", `/svc.S/M${n}`],
          ["x-stable", "same"],
          ["x-pad", "p".repeat((n * 97) % 3000)],
        ];
        sent.push(fields);
        conn.headers(2 * n + 1, fields, n % 2 === 0);
      }
      await tick();
    }
    const d = new HpackDecoder();
    const expectedFrames = sent.length;
    await waitFor(
      () => {
        const b = Buffer.concat(pair.received);
        let off = 0;
        let count = 0;
        while (off + 9 <= b.length) {
          off += 9 + b.readUIntBE(off, 3);
          count++;
        }
        return count >= expectedFrames && off === b.length;
      },
      5_000,
      "all blocks received",
    );
    const frames = parseFrames(Buffer.concat(pair.received));
    expect(frames.length).toBe(sent.length);
    frames.forEach((f, n) => {
      expect(f.type).toBe(FrameType.HEADERS);
      expect(f.id).toBe(2 * n + 1);
      expect(f.flags).toBe(Flag.END_HEADERS | (n % 2 === 0 ? Flag.END_STREAM : 0));
      expect(d.decode(f.p)).toEqual(sent[n]);
    });
  });
});

describe("FrameConn output on a connecting socket", () => {
  it("keeps frames written before the TCP connect completes, in order, over many flushes", async () => {
    // as an upstream connection does: frames are written before `connect` (the socket holds
    // them, so its chunks must not be rewound), then more after it
    const got: Buffer[] = [];
    let fin = false;
    const srv = net.createServer((s) => {
      s.on("data", (b: Buffer) => got.push(b));
      s.on("end", () => {
        fin = true;
        s.end();
      });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const client = net.connect((srv.address() as net.AddressInfo).port, "127.0.0.1");
    cleanup.push(() => {
      client.destroy();
      srv.close();
    });
    const conn = new FrameConn(client, 0);
    conn.handler = noHandler;
    const sent: Buffer[] = [];
    const burst = (seq: number): void => {
      // small frames copied into the chunk (it grows, then is replaced) and large ones corked
      for (let i = 0; i < 30; i++) {
        const p = pattern(i % 7 === 0 ? COPY_MAX + 10 + i : 100 + i * 13, seq * 100 + i);
        sent.push(p);
        conn.frame(FrameType.DATA, 0, 1, p);
      }
    };
    // each burst's flush runs on the still-connecting socket (process.nextTick, no I/O between)
    for (let t = 0; t < 20; t++) {
      burst(t);
      await new Promise((r) => process.nextTick(r));
    }
    expect(client.connecting).toBe(true);
    expect(client.writableLength).toBeGreaterThan(20 * 30 * 100);
    await new Promise<void>((r) => client.once("connect", r));
    for (let t = 20; t < 25; t++) {
      burst(t);
      await tick();
    }
    conn.goaway(1, 0);
    conn.end();
    await waitFor(() => fin, 5_000, "the peer sees the end");
    const frames = parseFrames(Buffer.concat(got));
    expect(frames.length).toBe(sent.length + 1);
    for (let i = 0; i < sent.length; i++) {
      const f = frames[i] as { type: number; p: Buffer };
      expect(f.type).toBe(FrameType.DATA);
      expect(f.p.equals(sent[i] as Buffer)).toBe(true);
    }
    expect(frames.at(-1)?.type).toBe(FrameType.GOAWAY);
  });
});
