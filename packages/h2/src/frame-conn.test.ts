/**
 * `FrameConn`'s parser reads payloads in place from the socket's chunks: the same frames must
 * give the same events whether they arrive in one chunk or one byte at a time (every frame split
 * across reads), on a real loopback connection, and what a handler keeps (DATA, header fields)
 * must stay intact after the chunk it came from is gone.
 */
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FrameConn, type FrameHandler } from "./frame-conn.js";
import { type HeaderField, HpackEncoder } from "./hpack.js";
import { prng, waitFor } from "./testing.js";
import { Flag, FrameType } from "./wire.js";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function frame(type: number, flags: number, id: number, p: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(p.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, p]);
}

const u32 = (...vs: number[]): Buffer => {
  const b = Buffer.alloc(vs.length * 4);
  for (let i = 0; i < vs.length; i++) b.writeUInt32BE(vs[i] as number, i * 4);
  return b;
};

/** Records every handler call; DATA payloads are kept as the handler got them (views). */
class Recorder implements FrameHandler {
  readonly events: unknown[] = [];
  readonly kept: Buffer[] = [];
  onHeaders(id: number, fields: HeaderField[], endStream: boolean): void {
    this.events.push(["headers", id, fields, endStream]);
  }
  onData(id: number, data: Buffer, endStream: boolean, flowLen: number): void {
    this.kept.push(data);
    this.events.push(["data", id, data.toString("latin1"), endStream, flowLen]);
  }
  onRstStream(id: number, code: number): void {
    this.events.push(["rst", id, code]);
  }
  onWindow(id: number, delta: number): void {
    this.events.push(["window", id, delta]);
  }
  onGoaway(lastStreamId: number, code: number): void {
    this.events.push(["goaway", lastStreamId, code]);
  }
  onClose(): void {
    this.events.push(["close"]);
  }
}

/** A server-side FrameConn fed `bytes` by a raw client, in one write or byte by byte. */
async function feed(
  bytes: Buffer,
  byteByByte: boolean,
): Promise<{ rec: Recorder; reply: () => Buffer }> {
  const rec = new Recorder();
  const srv = net.createServer((sock) => {
    const conn = new FrameConn(sock, PREFACE.length);
    conn.handler = rec;
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const client = net.connect((srv.address() as net.AddressInfo).port, "127.0.0.1");
  client.setNoDelay(true);
  const got: Buffer[] = [];
  client.on("data", (b: Buffer) => got.push(b));
  cleanup.push(() => {
    client.destroy();
    srv.close();
  });
  await new Promise<void>((r) => client.once("connect", r));
  if (!byteByByte) client.write(bytes);
  else {
    // one write per byte, each in its own macrotask: the reads split every frame
    for (let i = 0; i < bytes.length; i++) {
      client.write(bytes.subarray(i, i + 1));
      if (i % 8 === 0) await new Promise((r) => setImmediate(r));
    }
  }
  return { rec, reply: () => Buffer.concat(got) };
}

describe("FrameConn input", () => {
  const enc = new HpackEncoder();
  const fields: HeaderField[] = [
    [":method", "POST"],
    [":path", "/svc.S/M"],
    ["x-long", "v".repeat(300)],
  ];
  const block = enc.encode(fields);
  const trailers = new HpackEncoder().encode([["grpc-status", "0"]]);
  const padded = Buffer.concat([Buffer.from([3]), Buffer.from("hello"), Buffer.alloc(3)]);
  const bytes = Buffer.concat([
    PREFACE,
    frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 4, 0, 1, 0, 0])),
    frame(FrameType.HEADERS, Flag.END_HEADERS, 1, block),
    frame(FrameType.DATA, Flag.PADDED, 1, padded),
    frame(FrameType.PING, 0, 0, Buffer.from("pingpong")),
    frame(FrameType.WINDOW_UPDATE, 0, 1, u32(77)),
    // a block split over HEADERS + CONTINUATION, with a priority field
    frame(
      FrameType.HEADERS,
      Flag.PRIORITY,
      3,
      Buffer.concat([Buffer.from([0, 0, 0, 0, 16]), block.subarray(0, 10)]),
    ),
    frame(FrameType.CONTINUATION, Flag.END_HEADERS, 3, block.subarray(10)),
    // padded trailers: the padding is not part of the block
    frame(
      FrameType.HEADERS,
      Flag.END_HEADERS | Flag.END_STREAM | Flag.PADDED,
      1,
      Buffer.concat([Buffer.from([4]), trailers, Buffer.alloc(4)]),
    ),
    frame(FrameType.DATA, Flag.END_STREAM, 3, Buffer.from("world")),
    frame(FrameType.RST_STREAM, 0, 3, u32(8)),
    frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(3, 0), Buffer.from("debug")])),
  ]);
  const expected = [
    ["window", 0, 65_536 - 65_535],
    ["headers", 1, fields, false],
    ["data", 1, "hello", false, padded.length],
    ["window", 1, 77],
    ["headers", 3, fields, false],
    ["headers", 1, [["grpc-status", "0"]], true],
    ["data", 3, "world", true, 5],
    ["rst", 3, 8],
    ["goaway", 3, 0],
  ];

  for (const byteByByte of [false, true]) {
    it(`gives the same events from ${byteByByte ? "one byte per read" : "one chunk"}`, async () => {
      const { rec, reply } = await feed(bytes, byteByByte);
      await waitFor(() => rec.events.length >= expected.length, 5_000, "every frame handled");
      expect(rec.events).toEqual(expected);
      // what the handler kept is still intact, whatever happened to the read chunks since
      expect(rec.kept.map((b) => b.toString())).toEqual(["hello", "world"]);
      // our SETTINGS ACK and the PING ACK with the peer's payload
      await waitFor(() => reply().length >= 9 + 17, 5_000, "the ACKs");
      const r = reply();
      expect(r.subarray(0, 9)).toEqual(frame(FrameType.SETTINGS, Flag.ACK, 0));
      expect(r.subarray(9, 26)).toEqual(
        frame(FrameType.PING, Flag.ACK, 0, Buffer.from("pingpong")),
      );
    });
  }
});

/** A Recorder that gives the connection window back, as the relay does once DATA is relayed. */
class Consuming extends Recorder {
  conn: FrameConn | undefined;
  override onData(id: number, data: Buffer, endStream: boolean, flowLen: number): void {
    super.onData(id, data, endStream, flowLen);
    this.conn?.consumed(flowLen);
  }
}

/** A server-side FrameConn on loopback: its handler, its socket, and the raw client. */
async function serverConn(
  rec: Consuming,
): Promise<{ client: net.Socket; server: () => net.Socket }> {
  let accepted: net.Socket | undefined;
  const srv = net.createServer((sock) => {
    accepted = sock;
    const conn = new FrameConn(sock, PREFACE.length);
    conn.handler = rec;
    rec.conn = conn;
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const client = net.connect((srv.address() as net.AddressInfo).port, "127.0.0.1");
  client.setNoDelay(true);
  client.on("data", () => {});
  cleanup.push(() => {
    client.destroy();
    srv.close();
  });
  await new Promise<void>((r) => client.once("connect", r));
  await waitFor(() => accepted !== undefined, 5_000, "the server side");
  return { client, server: () => accepted as net.Socket };
}

/** Bytes that differ frame by frame: a view of a rewritten buffer would not compare equal. */
function pattern(n: number, seq: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (seq * 31 + i * 7) & 0xff;
  return b;
}

describe("FrameConn input split anywhere", () => {
  // reads that end mid-header, mid-payload, exactly at a frame's end, and that complete a
  // pending frame and carry more frames (and a partial header) after it
  const cases = [
    { seed: 0x5eed, cuts: "random" },
    { seed: 0xbeef, cuts: "random" },
    // each read ends 1-8 bytes into the next frame's header, after the middle of a payload:
    // it completes a pending frame and leaves a partial header
    { seed: 0xcafe, cuts: "headers" },
  ] as const;
  for (const { seed, cuts } of cases) {
    it(`gives the same events and intact DATA for ${cuts} read sizes (seed ${seed})`, async () => {
      const rnd = prng(seed);
      const enc = new HpackEncoder();
      const parts: Buffer[] = [PREFACE];
      const expected: unknown[] = [];
      const sent: Buffer[] = [];
      for (let i = 0; i < 80; i++) {
        const r = rnd();
        const id = 1 + 2 * (i % 5);
        if (r < 0.5) {
          // full-size frames (reassembled across reads) and small ones (often within one read)
          const n = rnd() < 0.3 ? 16_384 : Math.floor(rnd() * 6_000);
          const p = pattern(n, i);
          sent.push(p);
          parts.push(frame(FrameType.DATA, 0, id, p));
          expected.push(["data", id, p.toString("latin1"), false, n]);
        } else if (r < 0.75) {
          // HEADERS + 2 CONTINUATION, each of which may be split too
          const fields: HeaderField[] = [
            [":path", `/p/${i}`],
            ["x-v", "v".repeat(Math.floor(rnd() * 500))],
            ["x-same", "s"],
          ];
          const block = enc.encode(fields);
          const a = Math.floor(block.length / 3);
          const b = Math.floor((2 * block.length) / 3);
          parts.push(frame(FrameType.HEADERS, 0, id, block.subarray(0, a)));
          parts.push(frame(FrameType.CONTINUATION, 0, id, block.subarray(a, b)));
          parts.push(frame(FrameType.CONTINUATION, Flag.END_HEADERS, id, block.subarray(b)));
          expected.push(["headers", id, fields, false]);
        } else {
          parts.push(frame(FrameType.WINDOW_UPDATE, 0, id, u32(5 + i)));
          expected.push(["window", id, 5 + i]);
        }
      }
      const bytes = Buffer.concat(parts);
      const rec = new Consuming();
      const { client } = await serverConn(rec);
      const writeEnds: number[] = [];
      if (cuts === "random") {
        // half of the reads under 20 bytes, the others up to 30,000
        for (let off = 0; off < bytes.length; ) {
          off = Math.min(bytes.length, off + 1 + Math.floor(rnd() * (rnd() < 0.5 ? 20 : 30_000)));
          writeEnds.push(off);
        }
      } else {
        let at = PREFACE.length;
        for (let i = 1; i < parts.length; i++) {
          const len = (parts[i] as Buffer).length;
          if (len > 18) writeEnds.push(at + 9 + ((len - 9) >> 1));
          at += len;
          writeEnds.push(Math.min(bytes.length, at + 1 + (i % 8)));
        }
      }
      // bounded: at most one write per byte of the stream (~0.5 MB), here a few hundred
      let off = 0;
      for (const end of writeEnds) {
        if (end <= off) continue;
        client.write(bytes.subarray(off, end));
        off = end;
        await new Promise((r) => setImmediate(r));
      }
      expect(off).toBe(bytes.length);
      await waitFor(() => rec.events.length >= expected.length, 5_000, "every frame handled");
      expect(rec.events).toEqual(expected);
      // the views the handler kept are intact after every later read and reassembly
      expect(Buffer.concat(rec.kept).equals(Buffer.concat(sent))).toBe(true);
    });
  }

  it("hands nothing to the handler after end(), not even a frame that was pending across reads", async () => {
    const rec = new Consuming();
    const { client, server } = await serverConn(rec);
    let fin = false;
    client.on("end", () => {
      fin = true;
    });
    const block = new HpackEncoder().encode([
      [":method", "POST"],
      [":path", "/svc.S/M"],
    ]);
    const h = frame(FrameType.HEADERS, Flag.END_HEADERS, 1, block);
    client.write(Buffer.concat([PREFACE, h.subarray(0, 12)]));
    await waitFor(() => server().bytesRead >= PREFACE.length + 12, 5_000, "the first part read");
    // the owner ends the connection (a graceful close) while the frame is incomplete
    (rec.conn as FrameConn).end();
    expect(rec.events).toEqual([["close"]]);
    // the rest arrives while the socket still reads (until the peer closes or 1 s)
    client.write(Buffer.concat([h.subarray(12), frame(FrameType.DATA, 0, 1, Buffer.from("x"))]));
    await waitFor(() => fin, 5_000, "our FIN");
    await waitFor(() => server().bytesRead >= PREFACE.length + h.length + 10, 5_000, "all read");
    await new Promise((r) => setImmediate(r));
    expect(rec.events).toEqual([["close"]]);
  });
});

/** Records stream errors too (`onStreamError`). */
class StreamErrors extends Recorder {
  onStreamError(id: number, code: number, type: number): void {
    this.events.push(["stream-error", id, code, type]);
  }
}

describe("FrameConn frame checks (RFC 9113 §5.3.1, §6.3, §8.4)", () => {
  const enc = new HpackEncoder();
  const fields: HeaderField[] = [
    [":method", "GET"],
    [":path", "/x"],
    ["x-indexed", "kept in the dynamic table"],
  ];

  /** Feeds `frames` after the preface and returns the events, the frames sent back by type. */
  async function run(...frames: Buffer[]): Promise<{ events: unknown[]; reply: () => Buffer }> {
    const rec = new StreamErrors();
    const srv = net.createServer((sock) => {
      const conn = new FrameConn(sock, PREFACE.length);
      conn.handler = rec;
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const client = net.connect((srv.address() as net.AddressInfo).port, "127.0.0.1");
    const got: Buffer[] = [];
    client.on("data", (b: Buffer) => got.push(b));
    client.on("error", () => {});
    let clientClosed = false;
    client.on("close", () => {
      clientClosed = true;
    });
    cleanup.push(() => {
      client.destroy();
      srv.close();
    });
    await new Promise<void>((r) => client.once("connect", r));
    client.write(
      Buffer.concat([PREFACE, ...frames, frame(FrameType.PING, 0, 0, Buffer.from("the-end!"))]),
    );
    const reply = (): Buffer => Buffer.concat(got);
    await waitFor(
      () =>
        reply().includes(Buffer.from("the-end!")) ||
        // closed by the server: everything it wrote (the GOAWAY) has reached the client first
        (rec.events.some((e) => (e as unknown[])[0] === "close") && clientClosed),
      5_000,
      "the reply",
    );
    return { events: rec.events, reply };
  }

  it("answers a PRIORITY of the wrong size with RST_STREAM(FRAME_SIZE_ERROR), one depending on itself with PROTOCOL_ERROR", async () => {
    const { events, reply } = await run(
      frame(FrameType.PRIORITY, 0, 3, Buffer.from([0, 0, 0, 0, 16, 0])),
      frame(FrameType.PRIORITY, 0, 5, Buffer.from([0, 0, 0, 5, 16])),
      frame(FrameType.PRIORITY, 0, 7, Buffer.from([0, 0, 0, 1, 16])),
    );
    expect(events).toEqual([
      ["stream-error", 3, 6, FrameType.PRIORITY],
      ["stream-error", 5, 1, FrameType.PRIORITY],
    ]);
    expect(reply().includes(frame(FrameType.RST_STREAM, 0, 3, u32(6)))).toBe(true);
    expect(reply().includes(frame(FrameType.RST_STREAM, 0, 5, u32(1)))).toBe(true);
  });

  it("resets a self-dependent HEADERS after decoding it: the HPACK table stays in step", async () => {
    const first = enc.encode(fields);
    const second = enc.encode(fields); // refers to the dynamic entry the first block added
    const { events } = await run(
      frame(
        FrameType.HEADERS,
        Flag.END_HEADERS | Flag.PRIORITY,
        1,
        Buffer.concat([Buffer.from([0, 0, 0, 1, 16]), first]),
      ),
      frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, second),
    );
    expect(events).toEqual([
      ["stream-error", 1, 1, FrameType.HEADERS],
      ["headers", 3, fields, true],
    ]);
  });

  it("treats PRIORITY on stream 0 and a PUSH_PROMISE as connection errors PROTOCOL_ERROR", async () => {
    for (const f of [
      frame(FrameType.PRIORITY, 0, 0, Buffer.from([0, 0, 0, 1, 16])),
      frame(
        FrameType.PUSH_PROMISE,
        Flag.END_HEADERS,
        1,
        Buffer.concat([u32(2), enc.encode(fields)]),
      ),
    ]) {
      const { events, reply } = await run(f);
      expect(events).toEqual([["close"]]);
      // GOAWAY(last stream 0, PROTOCOL_ERROR), flushed before the close
      expect(reply().includes(frame(FrameType.GOAWAY, 0, 0, u32(0, 1)))).toBe(true);
    }
  });
});

/** Counts the frames handed to the handler in each turn (a turn ends at the next microtask). */
class TurnCounter extends Recorder {
  readonly turns: number[] = [];
  #open = false;
  #count(): void {
    if (!this.#open) {
      this.#open = true;
      this.turns.push(0);
      queueMicrotask(() => {
        this.#open = false;
      });
    }
    this.turns[this.turns.length - 1] = (this.turns.at(-1) as number) + 1;
  }
  override onHeaders(id: number, fields: HeaderField[], endStream: boolean): void {
    this.#count();
    super.onHeaders(id, fields, endStream);
  }
  override onData(id: number, data: Buffer, endStream: boolean, flowLen: number): void {
    this.#count();
    super.onData(id, data, endStream, flowLen);
  }
}

describe("FrameConn fairness slices", () => {
  // one encoder per connection (its dynamic table is the connection's)
  let enc = new HpackEncoder();
  afterEach(() => {
    enc = new HpackEncoder();
  });
  const request = (id: number): Buffer =>
    frame(
      FrameType.HEADERS,
      Flag.END_HEADERS,
      id,
      enc.encode([
        [":method", "POST"],
        [":scheme", "http"],
        [":path", "/svc.S/M"],
        ["content-type", "application/grpc"],
      ]),
    );

  it("handles a client's usual burst in one turn: 32 HEADERS, then their 32 DATA (h2load -m 32)", async () => {
    const rec = new TurnCounter();
    const { client } = await serverConn(rec as unknown as Consuming);
    const ids = Array.from({ length: 32 }, (_, i) => 2 * i + 1);
    client.write(
      Buffer.concat([
        PREFACE,
        frame(FrameType.SETTINGS, 0, 0),
        ...ids.map(request),
        ...ids.map((id) => frame(FrameType.DATA, Flag.END_STREAM, id, Buffer.alloc(5))),
      ]),
    );
    await waitFor(
      () => rec.events.filter((e) => (e as unknown[])[0] === "data").length === 32,
      5_000,
      "the 32 DATA frames",
    );
    // one read, one turn: the DATA is not left for the next turn (a second write each way)
    expect(rec.turns).toEqual([64]);
  });

  it("splits a flood of 1,000 HEADERS into turns of at most 128 streams", async () => {
    const rec = new TurnCounter();
    const { client } = await serverConn(rec as unknown as Consuming);
    const ids = Array.from({ length: 1_000 }, (_, i) => 2 * i + 1);
    client.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0), ...ids.map(request)]));
    await waitFor(
      () => rec.events.filter((e) => (e as unknown[])[0] === "headers").length === 1_000,
      10_000,
      "the 1,000 HEADERS",
    );
    expect(Math.max(...rec.turns)).toBeLessThanOrEqual(128);
    expect(rec.turns.length).toBeGreaterThanOrEqual(8);
    expect(rec.turns.reduce((a, b) => a + b, 0)).toBe(1_000);
  });
});
