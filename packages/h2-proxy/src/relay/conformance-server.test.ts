/**
 * RFC 9113 (HTTP/2) and RFC 7541 (HPACK) conformance of the relay's server side (`DownConn` on
 * `FrameConn`), one test per requirement that h2spec (summerwind) checks of a server, named after
 * the RFC 9113 section (the RFC 7540 one h2spec prints in brackets where it differs). Written from
 * the RFC text, on real loopback sockets: a raw frame-speaking client, a real relay, a node:http2
 * backend that records every request it gets. Each case asserts the exact RST_STREAM / GOAWAY
 * code, and the malformed-request cases that the backend got nothing (a probe request sent after
 * the bad one on the same upstream path is the only one it sees).
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import {
  CLIENT_PREFACE,
  decodeFrames,
  ErrorCode,
  encodeFrame,
  encodeHeaderBlock,
  errorCodeName,
  Flag,
  type Frame,
  FrameType,
  type HeaderField,
  HpackDecoder,
  SettingsId,
} from "@l5d/h2";
import { waitFor } from "@l5d/h2/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { relayForward, setting, u32 } from "../dataplane/test-support.js";
import { type RelayServer, startRelayServer } from "./relay-server.js";

const BODY = "hello conformance\n";
const EMPTY = Buffer.alloc(0);
const WAIT = 2_000;

// ---------------------------------------------------------------- rig

let backend: http2.Http2Server;
/** `:path` of every request the backend got (at its HEADERS, before any body). */
let got: string[] = [];
let relay: RelayServer;

beforeAll(async () => {
  backend = http2.createServer();
  backend.on("session", (s) => s.on("error", () => {}));
  backend.on("stream", (stream, headers) => {
    got.push(String(headers[":path"]));
    stream.on("error", () => {});
    stream.on("data", () => {});
    stream.on("end", () => {
      if (stream.destroyed) return;
      stream.respond({ ":status": 200, "content-type": "text/plain" });
      stream.end(BODY);
    });
  });
  await new Promise<void>((r) => backend.listen(0, "127.0.0.1", () => r()));
  const port = (backend.address() as net.AddressInfo).port;
  relay = await startRelayServer({
    host: "127.0.0.1",
    port: 0,
    maxConcurrentStreams: 10,
    onRequest(req) {
      void relayForward(req, { host: "127.0.0.1", port });
    },
  });
});

afterAll(async () => {
  await relay.close(0);
  await new Promise<void>((r) => backend.close(() => r()));
});

beforeEach(() => {
  got = [];
});

function get(path = "/"): HeaderField[] {
  return [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", path],
    [":authority", "127.0.0.1"],
  ];
}

function post(path = "/", extra: HeaderField[] = []): HeaderField[] {
  return [
    [":method", "POST"],
    [":scheme", "http"],
    [":path", path],
    [":authority", "127.0.0.1"],
    ...extra,
  ];
}

const block = (fields: readonly HeaderField[]): Buffer => encodeHeaderBlock(fields);
/** A PRIORITY field (RFC 9113 §6.3): dependency (E bit off) and weight. */
const prio = (dep: number, weight = 15): Buffer => Buffer.concat([u32(dep), Buffer.from([weight])]);

/** A raw HTTP/2 client: frames out as given, frames in parsed and response headers decoded. */
class Peer implements AsyncDisposable {
  readonly frames: Frame[] = [];
  /** Decoded response header blocks, per stream. */
  readonly blocks = new Map<number, HeaderField[][]>();
  closed = false;
  readonly #decoder = new HpackDecoder();
  #buf = EMPTY;

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      const { frames, rest } = decodeFrames(this.#buf);
      this.#buf = Buffer.from(rest);
      for (const f of frames) this.#onFrame(f);
    });
    socket.on("error", () => {});
    socket.once("close", () => {
      this.closed = true;
    });
  }

  #onFrame(f: Frame): void {
    this.frames.push(f);
    if (f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0) {
      this.send(FrameType.SETTINGS, Flag.ACK, 0);
    }
    if (f.type === FrameType.HEADERS) {
      // the relay's responses are small: one HEADERS frame, no padding or priority
      const list = this.blocks.get(f.streamId) ?? [];
      list.push(this.#decoder.decode(Buffer.from(f.payload)));
      this.blocks.set(f.streamId, list);
    }
  }

  /** Connects; sends the preface and an empty SETTINGS unless `preamble` replaces them. */
  static async open(preamble?: Buffer): Promise<Peer> {
    const socket = net.connect(relay.port, "127.0.0.1");
    await new Promise<void>((r, j) => {
      socket.once("connect", () => r());
      socket.once("error", j);
    });
    const p = new Peer(socket);
    socket.write(
      preamble ?? Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.SETTINGS, 0, 0, EMPTY)]),
    );
    return p;
  }

  /** Opens, then waits for the server's SETTINGS and its ACK of ours (h2spec's handshake). */
  static async handshake(): Promise<Peer> {
    const p = await Peer.open();
    await waitFor(
      () => p.frames.some((f) => f.type === FrameType.SETTINGS && f.flags & Flag.ACK),
      WAIT,
      "SETTINGS ACK",
    );
    return p;
  }

  send(type: number, flags: number, id: number, payload: Buffer = EMPTY): void {
    this.socket.write(encodeFrame(type, flags, id, payload));
  }

  /** A request's HEADERS (END_HEADERS, plus END_STREAM unless `endStream` is false). */
  request(id: number, fields: readonly HeaderField[] = get(), endStream = true): void {
    const flags = Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0);
    this.send(FrameType.HEADERS, flags, id, block(fields));
  }

  received(type: number, id?: number): Frame[] {
    return this.frames.filter((f) => f.type === type && (id === undefined || f.streamId === id));
  }

  /** The code of the first RST_STREAM on stream `id`. */
  async rst(id: number): Promise<number> {
    await waitFor(
      () => this.received(FrameType.RST_STREAM, id).length > 0,
      WAIT,
      `RST_STREAM on ${id}`,
    );
    return (this.received(FrameType.RST_STREAM, id)[0] as Frame).payload.readUInt32BE(0);
  }

  /** The GOAWAY's error code and last stream id; the connection must then be closed. */
  async goaway(): Promise<{ code: number; lastId: number }> {
    await waitFor(() => this.received(FrameType.GOAWAY).length > 0, WAIT, "GOAWAY");
    const p = (this.received(FrameType.GOAWAY)[0] as Frame).payload;
    await waitFor(() => this.closed, WAIT, "the connection to close");
    return { code: p.readUInt32BE(4), lastId: p.readUInt32BE(0) & 0x7fffffff };
  }

  /** The `:status` of the response on stream `id`. */
  async status(id: number): Promise<string> {
    await waitFor(() => (this.blocks.get(id)?.length ?? 0) > 0, WAIT, `response on ${id}`);
    const fields = (this.blocks.get(id) as HeaderField[][])[0] as HeaderField[];
    return fields.find((f) => f[0] === ":status")?.[1] ?? "";
  }

  /** The response body on stream `id`, once its END_STREAM arrived. */
  async body(id: number): Promise<string> {
    const ended = (): boolean =>
      this.frames.some(
        (f) =>
          f.streamId === id &&
          (f.type === FrameType.DATA || f.type === FrameType.HEADERS) &&
          (f.flags & Flag.END_STREAM) !== 0,
      );
    await waitFor(ended, WAIT, `the response on ${id} to end`);
    return Buffer.concat(this.received(FrameType.DATA, id).map((f) => f.payload)).toString();
  }

  /** Sends a PING and waits for its ACK: the connection is alive and read up to here. */
  async ping(data = "liveness"): Promise<void> {
    const payload = Buffer.from(data.padEnd(8).slice(0, 8));
    this.send(FrameType.PING, 0, 0, payload);
    await waitFor(
      () =>
        this.received(FrameType.PING).some((f) => f.flags & Flag.ACK && f.payload.equals(payload)),
      WAIT,
      "PING ACK",
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((r) => {
      this.socket.once("close", () => r());
      this.socket.destroy();
    });
  }
}

/** A connection error: GOAWAY with `code`, then the connection closed. */
async function expectConnectionError(p: Peer, code: number): Promise<{ lastId: number }> {
  const g = await p.goaway();
  expect(errorCodeName(g.code)).toBe(errorCodeName(code));
  return g;
}

/** A stream error on `id`: RST_STREAM with `code`, and the connection still serves. */
async function expectStreamError(p: Peer, id: number, code: number): Promise<void> {
  expect(errorCodeName(await p.rst(id))).toBe(errorCodeName(code));
  expect(p.received(FrameType.GOAWAY)).toEqual([]);
  await p.ping();
}

/**
 * A malformed request on stream `id` (RFC 9113 §8.1.1): RST_STREAM(PROTOCOL_ERROR), and the
 * backend never saw it: a valid probe on the next stream is the only request it gets.
 */
async function expectMalformed(p: Peer, id: number): Promise<void> {
  await expectStreamError(p, id, ErrorCode.PROTOCOL_ERROR);
  p.request(id + 2, get("/probe"));
  expect(await p.status(id + 2)).toBe("200");
  expect(got).toEqual(["/probe"]);
}

/** After a connection error the relay still serves new connections. */
async function expectServes(): Promise<void> {
  await using p = await Peer.handshake();
  p.request(1, get("/after"));
  expect(await p.status(1)).toBe("200");
}

// ---------------------------------------------------------------- RFC 9113

describe("RFC 9113 §3 Starting HTTP/2", () => {
  it("3.4 [7540 3.5] accepts the client connection preface and sends SETTINGS first", async () => {
    await using p = await Peer.open();
    await waitFor(() => p.frames.length > 0, WAIT, "a frame");
    expect(p.frames[0]?.type).toBe(FrameType.SETTINGS);
    expect((p.frames[0] as Frame).flags & Flag.ACK).toBe(0);
  });

  it("3.4 [7540 3.5] treats an invalid connection preface as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.open(Buffer.from("INVALID CONNECTION PREFACE\r\n\r\n"));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
    await expectServes();
  });
});

describe("RFC 9113 §4 HTTP frames", () => {
  it("4.1 ignores a frame of unknown type", async () => {
    await using p = await Peer.handshake();
    p.send(0x16, 0, 0, Buffer.from("unknown"));
    await p.ping();
  });

  it("4.1 ignores undefined flags", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.PING, 0x16, 0, Buffer.from("flagged!"));
    await waitFor(() => p.received(FrameType.PING).length > 0, WAIT, "PING ACK");
    expect((p.received(FrameType.PING)[0] as Frame).flags).toBe(Flag.ACK);
  });

  it("4.1 ignores the reserved bit of the stream identifier", async () => {
    await using p = await Peer.handshake();
    const f = encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block(get()));
    f[5] = (f[5] as number) | 0x80;
    p.socket.write(f);
    expect(await p.status(1)).toBe("200");
  });

  it("4.2 accepts a DATA frame of 2^14 octets", async () => {
    await using p = await Peer.handshake();
    p.request(1, post(), false);
    p.send(FrameType.DATA, Flag.END_STREAM, 1, Buffer.alloc(16_384, 0x61));
    expect(await p.status(1)).toBe("200");
  });

  it("4.2 treats a DATA frame over SETTINGS_MAX_FRAME_SIZE as a FRAME_SIZE_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(1, post(), false);
    p.send(FrameType.DATA, Flag.END_STREAM, 1, Buffer.alloc(16_385, 0x61));
    await expectConnectionError(p, ErrorCode.FRAME_SIZE_ERROR);
  });

  it("4.2 treats a HEADERS frame over SETTINGS_MAX_FRAME_SIZE as a connection error FRAME_SIZE_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(1, [...get(), ["x-big", "a".repeat(16_400)]]);
    await expectConnectionError(p, ErrorCode.FRAME_SIZE_ERROR);
    expect(got).toEqual([]);
  });

  it("4.3 treats an undecodable header block as a connection error COMPRESSION_ERROR", async () => {
    await using p = await Peer.handshake();
    // literal with incremental indexing, indexed name 62+: no such entry, truncated value
    p.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, Buffer.from("7fff", "hex"));
    await expectConnectionError(p, ErrorCode.COMPRESSION_ERROR);
    expect(got).toEqual([]);
  });

  it("4.3 treats a PRIORITY frame inside a header block as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.HEADERS, Flag.END_STREAM, 1, block(get()));
    p.send(FrameType.PRIORITY, 0, 1, prio(0));
    p.send(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block([["x", "y"]]));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("4.3 treats HEADERS of another stream inside a header block as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.HEADERS, Flag.END_STREAM, 1, block(get()));
    p.request(3);
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });
});

describe("RFC 9113 §5.1 stream states", () => {
  it("5.1 idle: DATA is a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from("test"));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("5.1 idle: RST_STREAM is a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.RST_STREAM, 0, 1, u32(ErrorCode.CANCEL));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("5.1 idle: WINDOW_UPDATE is a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.WINDOW_UPDATE, 0, 1, u32(100));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("5.1 idle: CONTINUATION is a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block(get()));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("5.1 half-closed (remote): DATA is a stream error STREAM_CLOSED", async () => {
    await using p = await Peer.handshake();
    p.request(1);
    p.send(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from("test"));
    await expectStreamError(p, 1, ErrorCode.STREAM_CLOSED);
  });

  it("5.1 half-closed (remote): HEADERS is a stream error STREAM_CLOSED", async () => {
    await using p = await Peer.handshake();
    p.request(1);
    p.request(1);
    await expectStreamError(p, 1, ErrorCode.STREAM_CLOSED);
  });

  it("5.1 half-closed (remote): CONTINUATION (no header block open) is a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(1);
    p.send(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block([["x", "y"]]));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("5.1 closed: DATA after the client's RST_STREAM is a stream error STREAM_CLOSED", async () => {
    await using p = await Peer.handshake();
    p.request(1, post(), false);
    p.send(FrameType.RST_STREAM, 0, 1, u32(ErrorCode.CANCEL));
    p.send(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from("test"));
    await expectStreamError(p, 1, ErrorCode.STREAM_CLOSED);
  });

  it("5.1 closed: HEADERS after the client's RST_STREAM is a stream error STREAM_CLOSED", async () => {
    await using p = await Peer.handshake();
    p.request(1, post(), false);
    p.send(FrameType.RST_STREAM, 0, 1, u32(ErrorCode.CANCEL));
    p.request(1);
    await expectStreamError(p, 1, ErrorCode.STREAM_CLOSED);
  });

  it("5.1 closed: CONTINUATION after the client's RST_STREAM is a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(1, post(), false);
    p.send(FrameType.RST_STREAM, 0, 1, u32(ErrorCode.CANCEL));
    p.send(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block([["x", "y"]]));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("5.1 closed (END_STREAM both ways): DATA is a connection error STREAM_CLOSED", async () => {
    await using p = await Peer.handshake();
    p.request(1);
    expect(await p.body(1)).toBe(BODY);
    p.send(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from("test"));
    await expectConnectionError(p, ErrorCode.STREAM_CLOSED);
  });

  it("5.1 closed (END_STREAM both ways): HEADERS is a connection error STREAM_CLOSED", async () => {
    await using p = await Peer.handshake();
    p.request(1);
    expect(await p.body(1)).toBe(BODY);
    p.request(1);
    await expectConnectionError(p, ErrorCode.STREAM_CLOSED);
    expect(got).toEqual(["/"]);
  });

  it("5.1 closed (END_STREAM both ways): CONTINUATION is a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(1);
    expect(await p.body(1)).toBe(BODY);
    p.send(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block([["x", "y"]]));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("5.1 closed by our RST_STREAM: frames the client had in flight are ignored", async () => {
    await using p = await Peer.handshake();
    // malformed: RST_STREAM(PROTOCOL_ERROR) from us; the client's DATA and trailers were in flight
    p.request(
      1,
      post("/", [
        ["content-length", "2"],
        ["x", "y"],
        [":foo", "bar"],
      ]),
      false,
    );
    expect(await p.rst(1)).toBe(ErrorCode.PROTOCOL_ERROR);
    p.send(FrameType.DATA, 0, 1, Buffer.from("ab"));
    p.request(1, [["x-trailer", "1"]]);
    await p.ping();
    expect(p.received(FrameType.RST_STREAM, 1)).toHaveLength(1);
    expect(p.received(FrameType.GOAWAY)).toEqual([]);
    expect(got).toEqual([]);
  });

  it("5.1.1 treats an even-numbered stream identifier as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(2);
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
    expect(got).toEqual([]);
  });

  it("5.1.1 treats a stream identifier lower than a previous one as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(5);
    p.request(3);
    const g = await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
    expect(g.lastId).toBe(5);
    expect(got.length).toBeLessThanOrEqual(1);
  });

  it("5.1.2 refuses streams over SETTINGS_MAX_CONCURRENT_STREAMS with REFUSED_STREAM", async () => {
    await using p = await Peer.handshake();
    // 10 streams left open (no END_STREAM), the 11th is over the advertised limit
    for (let id = 1; id <= 21; id += 2) p.request(id, post(), false);
    await expectStreamError(p, 21, ErrorCode.REFUSED_STREAM);
    for (let id = 1; id <= 19; id += 2) p.send(FrameType.RST_STREAM, 0, id, u32(ErrorCode.CANCEL));
  });
});

describe("RFC 9113 §5.3-5.5 priority, error handling, extensions", () => {
  it("5.3.1 treats a HEADERS frame depending on its own stream as a stream error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    const payload = Buffer.concat([prio(1), block(get())]);
    p.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM | Flag.PRIORITY, 1, payload);
    await expectMalformed(p, 1);
  });

  it("5.3.1 treats a PRIORITY frame depending on its own stream as a stream error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.PRIORITY, 0, 1, prio(1));
    await expectStreamError(p, 1, ErrorCode.PROTOCOL_ERROR);
  });

  it("5.4.1 closes the connection after a connection error, GOAWAY first", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.PING, 0, 0, Buffer.from("123456"));
    await expectConnectionError(p, ErrorCode.FRAME_SIZE_ERROR);
    await expectServes();
  });

  it("5.5 ignores an unknown extension frame", async () => {
    await using p = await Peer.handshake();
    p.send(0xff, 0, 0, Buffer.from("extension"));
    p.send(0xff, 0, 1, Buffer.from("extension"));
    await p.ping();
  });

  it("5.5 treats an unknown frame inside a header block as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.HEADERS, Flag.END_STREAM, 1, block(get()));
    p.send(0xff, 0, 1, Buffer.from("extension"));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });
});

describe("RFC 9113 §6 frame definitions", () => {
  it("6.1 treats DATA on stream 0 as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.DATA, Flag.END_STREAM, 0, Buffer.from("test"));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.1 treats DATA on a stream not open or half-closed (local) as a stream error STREAM_CLOSED", async () => {
    await using p = await Peer.handshake();
    p.request(1);
    p.send(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from("test"));
    await expectStreamError(p, 1, ErrorCode.STREAM_CLOSED);
  });

  it("6.1 treats a DATA pad length over the payload as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(1, post(), false);
    p.send(
      FrameType.DATA,
      Flag.END_STREAM | Flag.PADDED,
      1,
      Buffer.from([6, 0x61, 0x62, 0x63, 0x64]),
    );
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.2 treats a PRIORITY frame after HEADERS without END_HEADERS as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.HEADERS, Flag.END_STREAM, 1, block(get()));
    p.send(FrameType.PRIORITY, 0, 1, prio(0));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.2 treats HEADERS of another stream during a header block as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.HEADERS, Flag.END_STREAM, 1, block(get()));
    p.send(FrameType.HEADERS, Flag.END_STREAM | Flag.END_HEADERS, 3, block(get()));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.2 treats HEADERS on stream 0 as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(0);
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.2 treats a HEADERS pad length over the payload as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    const payload = Buffer.concat([Buffer.from([200]), block(get())]);
    p.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM | Flag.PADDED, 1, payload);
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
    expect(got).toEqual([]);
  });

  it("6.3 treats PRIORITY on stream 0 as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.PRIORITY, 0, 0, prio(1));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.3 treats a PRIORITY frame of a length other than 5 as a stream error FRAME_SIZE_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(1, post(), false);
    p.send(FrameType.PRIORITY, 0, 1, Buffer.from([0, 0, 0, 0, 15, 0]));
    await expectStreamError(p, 1, ErrorCode.FRAME_SIZE_ERROR);
  });

  it("6.3 accepts PRIORITY on idle, half-closed and closed streams (validated, then ignored)", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.PRIORITY, 0, 3, prio(0));
    p.request(1);
    p.send(FrameType.PRIORITY, 0, 1, prio(0, 200));
    expect(await p.body(1)).toBe(BODY);
    p.send(FrameType.PRIORITY, 0, 1, prio(3));
    // a PRIORITY on an idle stream opens nothing: a lower id can still be opened after it
    p.send(FrameType.PRIORITY, 0, 9, prio(0));
    p.request(5);
    expect(await p.status(5)).toBe("200");
    expect(p.received(FrameType.RST_STREAM)).toEqual([]);
  });

  it("6.4 treats RST_STREAM on stream 0 as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.RST_STREAM, 0, 0, u32(ErrorCode.CANCEL));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.4 treats RST_STREAM on an idle stream as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.RST_STREAM, 0, 1, u32(ErrorCode.CANCEL));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.4 treats a RST_STREAM of a length other than 4 as a connection error FRAME_SIZE_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(1, post(), false);
    p.send(FrameType.RST_STREAM, 0, 1, Buffer.from([0, 0, 0, 8, 0]));
    await expectConnectionError(p, ErrorCode.FRAME_SIZE_ERROR);
  });

  it("6.5 treats a SETTINGS ACK with a payload as a connection error FRAME_SIZE_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.SETTINGS, Flag.ACK, 0, setting(SettingsId.ENABLE_PUSH, 0));
    await expectConnectionError(p, ErrorCode.FRAME_SIZE_ERROR);
  });

  it("6.5 treats SETTINGS on a stream as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.SETTINGS, 0, 1, setting(SettingsId.ENABLE_PUSH, 0));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.5 treats a SETTINGS length not a multiple of 6 as a connection error FRAME_SIZE_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.SETTINGS, 0, 0, Buffer.from([0, 2, 0, 0]));
    await expectConnectionError(p, ErrorCode.FRAME_SIZE_ERROR);
  });

  it("6.5.2 treats SETTINGS_ENABLE_PUSH other than 0 or 1 as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.SETTINGS, 0, 0, setting(SettingsId.ENABLE_PUSH, 2));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.5.2 treats SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1 as a connection error FLOW_CONTROL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.SETTINGS, 0, 0, setting(SettingsId.INITIAL_WINDOW_SIZE, 2 ** 31));
    await expectConnectionError(p, ErrorCode.FLOW_CONTROL_ERROR);
  });

  it("6.5.2 treats SETTINGS_MAX_FRAME_SIZE below 2^14 as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.SETTINGS, 0, 0, setting(SettingsId.MAX_FRAME_SIZE, 16_383));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.5.2 treats SETTINGS_MAX_FRAME_SIZE over 2^24-1 as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.SETTINGS, 0, 0, setting(SettingsId.MAX_FRAME_SIZE, 2 ** 24));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.5.2 ignores an unknown SETTINGS identifier (and ACKs the frame)", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.SETTINGS, 0, 0, setting(0xff, 1));
    await waitFor(
      () => p.received(FrameType.SETTINGS).filter((f) => f.flags & Flag.ACK).length === 2,
      WAIT,
      "ACK",
    );
    await p.ping();
  });

  it("6.5.3 applies SETTINGS values in order (the last INITIAL_WINDOW_SIZE wins) and ACKs", async () => {
    await using p = await Peer.handshake();
    p.send(
      FrameType.SETTINGS,
      0,
      0,
      Buffer.concat([
        setting(SettingsId.INITIAL_WINDOW_SIZE, 100),
        setting(SettingsId.INITIAL_WINDOW_SIZE, 1),
      ]),
    );
    await waitFor(
      () => p.received(FrameType.SETTINGS).filter((f) => f.flags & Flag.ACK).length === 2,
      WAIT,
      "ACK",
    );
    p.request(1);
    await waitFor(() => p.received(FrameType.DATA, 1).length > 0, WAIT, "DATA");
    expect((p.received(FrameType.DATA, 1)[0] as Frame).payload.length).toBe(1);
  });

  it("6.7 answers a PING with a PING ACK of the same payload", async () => {
    await using p = await Peer.handshake();
    await p.ping("h2-ping!");
  });

  it("6.7 does not answer a PING ACK", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.PING, Flag.ACK, 0, Buffer.from("unsolici"));
    await p.ping("answered");
    expect(p.received(FrameType.PING).map((f) => f.payload.toString())).toEqual(["answered"]);
  });

  it("6.7 treats PING on a stream as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.PING, 0, 1, Buffer.alloc(8));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.7 treats a PING of a length other than 8 as a connection error FRAME_SIZE_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.PING, 0, 0, Buffer.alloc(6));
    await expectConnectionError(p, ErrorCode.FRAME_SIZE_ERROR);
  });

  it("6.8 treats GOAWAY on a stream as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.GOAWAY, 0, 1, Buffer.alloc(8));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.9 treats a connection WINDOW_UPDATE of 0 as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.WINDOW_UPDATE, 0, 0, u32(0));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.9 treats a stream WINDOW_UPDATE of 0 as a stream error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(1, post(), false);
    p.send(FrameType.WINDOW_UPDATE, 0, 1, u32(0));
    await expectStreamError(p, 1, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.9 treats a WINDOW_UPDATE of a length other than 4 as a connection error FRAME_SIZE_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.WINDOW_UPDATE, 0, 0, Buffer.from([0, 0, 0, 1, 0]));
    await expectConnectionError(p, ErrorCode.FRAME_SIZE_ERROR);
  });

  it("6.9.1 sends no more DATA than an initial window of 1 allows", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.SETTINGS, 0, 0, setting(SettingsId.INITIAL_WINDOW_SIZE, 1));
    p.request(1);
    await waitFor(() => p.received(FrameType.DATA, 1).length > 0, WAIT, "DATA");
    expect((p.received(FrameType.DATA, 1)[0] as Frame).payload.length).toBe(1);
  });

  it("6.9.1 treats a connection window over 2^31-1 as a connection error FLOW_CONTROL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff));
    p.send(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff));
    await expectConnectionError(p, ErrorCode.FLOW_CONTROL_ERROR);
  });

  it("6.9.1 treats a stream window over 2^31-1 as a stream error FLOW_CONTROL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(1, post(), false);
    p.send(FrameType.WINDOW_UPDATE, 0, 1, u32(0x7fffffff));
    p.send(FrameType.WINDOW_UPDATE, 0, 1, u32(0x7fffffff));
    await expectStreamError(p, 1, ErrorCode.FLOW_CONTROL_ERROR);
  });

  it("6.9.2 applies a changed SETTINGS_INITIAL_WINDOW_SIZE to open streams", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.SETTINGS, 0, 0, setting(SettingsId.INITIAL_WINDOW_SIZE, 0));
    await waitFor(
      () => p.received(FrameType.SETTINGS).filter((f) => f.flags & Flag.ACK).length === 2,
      WAIT,
      "ACK",
    );
    p.request(1);
    expect(await p.status(1)).toBe("200");
    p.send(FrameType.SETTINGS, 0, 0, setting(SettingsId.INITIAL_WINDOW_SIZE, 1));
    await waitFor(() => p.received(FrameType.DATA, 1).length > 0, WAIT, "DATA");
    expect((p.received(FrameType.DATA, 1)[0] as Frame).payload.length).toBe(1);
  });

  it("6.9.2 tracks a stream window made negative by a smaller SETTINGS_INITIAL_WINDOW_SIZE", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.SETTINGS, 0, 0, setting(SettingsId.INITIAL_WINDOW_SIZE, 3));
    await waitFor(
      () => p.received(FrameType.SETTINGS).filter((f) => f.flags & Flag.ACK).length === 2,
      WAIT,
      "ACK",
    );
    p.request(1);
    await waitFor(() => p.received(FrameType.DATA, 1).length > 0, WAIT, "DATA");
    p.send(FrameType.SETTINGS, 0, 0, setting(SettingsId.INITIAL_WINDOW_SIZE, 2));
    // window 3 - 3 sent - 1 = -1: one more byte needs 2 of WINDOW_UPDATE
    p.send(FrameType.WINDOW_UPDATE, 0, 1, u32(1));
    await p.ping();
    expect(p.received(FrameType.DATA, 1)).toHaveLength(1);
    p.send(FrameType.WINDOW_UPDATE, 0, 1, u32(1));
    await waitFor(() => p.received(FrameType.DATA, 1).length === 2, WAIT, "DATA");
    expect((p.received(FrameType.DATA, 1)[1] as Frame).payload.length).toBe(1);
  });

  it("6.9.2 treats SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1 as a connection error FLOW_CONTROL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.SETTINGS, 0, 0, setting(SettingsId.INITIAL_WINDOW_SIZE, 0x80000000));
    await expectConnectionError(p, ErrorCode.FLOW_CONTROL_ERROR);
  });

  it("6.10 joins HEADERS and several CONTINUATION frames", async () => {
    await using p = await Peer.handshake();
    const b = block([...get(), ["x-a", "1"], ["x-b", "2"]]);
    p.send(FrameType.HEADERS, Flag.END_STREAM, 1, b.subarray(0, 10));
    p.send(FrameType.CONTINUATION, 0, 1, b.subarray(10, 20));
    p.send(FrameType.CONTINUATION, Flag.END_HEADERS, 1, b.subarray(20));
    expect(await p.status(1)).toBe("200");
  });

  it("6.10 treats a frame other than CONTINUATION inside a header block as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    const b = block(get());
    p.send(FrameType.HEADERS, Flag.END_STREAM, 1, b.subarray(0, 10));
    p.send(FrameType.CONTINUATION, 0, 1, b.subarray(10));
    p.send(FrameType.DATA, 0, 1, Buffer.from("x"));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.10 treats CONTINUATION on stream 0 as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    const b = block(get());
    p.send(FrameType.HEADERS, Flag.END_STREAM, 1, b.subarray(0, 10));
    p.send(FrameType.CONTINUATION, Flag.END_HEADERS, 0, b.subarray(10));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.10 treats CONTINUATION after a HEADERS with END_HEADERS as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(1);
    p.send(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block([["x", "y"]]));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.10 treats CONTINUATION after a CONTINUATION with END_HEADERS as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    const b = block(get());
    p.send(FrameType.HEADERS, Flag.END_STREAM, 1, b.subarray(0, 10));
    p.send(FrameType.CONTINUATION, Flag.END_HEADERS, 1, b.subarray(10));
    p.send(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block([["x", "y"]]));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });

  it("6.10 treats CONTINUATION after DATA as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(1, post(), false);
    p.send(FrameType.DATA, 0, 1, Buffer.from("x"));
    p.send(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block([["x", "y"]]));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });
});

describe("RFC 9113 §7 error codes", () => {
  it("7 treats an unknown error code in GOAWAY as no special condition", async () => {
    await using p = await Peer.handshake();
    p.send(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(0), u32(0xff)]));
    await p.ping();
  });

  it("7 treats an unknown error code in RST_STREAM as no special condition", async () => {
    await using p = await Peer.handshake();
    p.request(1, post(), false);
    p.send(FrameType.RST_STREAM, 0, 1, u32(0xff));
    await p.ping();
    expect(p.received(FrameType.GOAWAY)).toEqual([]);
  });
});

describe("RFC 9113 §8 HTTP message exchanges: malformed requests never reach the backend", () => {
  it("8.1 [7540 8.1] treats a second HEADERS without END_STREAM as malformed", async () => {
    await using p = await Peer.handshake();
    p.request(1, post("/never"), false);
    p.request(1, [["x-trailer", "1"]], false);
    await expectStreamError(p, 1, ErrorCode.PROTOCOL_ERROR);
  });

  it("8.2 [7540 8.1.2] treats an upper-case field name as malformed", async () => {
    await using p = await Peer.handshake();
    p.request(1, [...get("/never"), ["X-Upper", "v"]]);
    await expectMalformed(p, 1);
  });

  it("8.2.1 treats a field value with CR/LF/NUL or surrounding white space as malformed", async () => {
    await using p = await Peer.handshake();
    p.request(1, [...get("/never"), ["x-bad", "a\r\nb"]]);
    await expectMalformed(p, 1);
    p.request(5, [...get("/never"), ["x-bad", " padded"]]);
    await expectStreamError(p, 5, ErrorCode.PROTOCOL_ERROR);
    p.request(7, [...get("/never"), ["x-b@d name", "v"]]);
    await expectStreamError(p, 7, ErrorCode.PROTOCOL_ERROR);
    expect(got).toEqual(["/probe"]);
  });

  it("8.3 [7540 8.1.2.1] treats an unknown pseudo-header as malformed", async () => {
    await using p = await Peer.handshake();
    p.request(1, [[":foo", "bar"], ...get("/never")]);
    await expectMalformed(p, 1);
  });

  it("8.3 [7540 8.1.2.1] treats a response pseudo-header in a request as malformed", async () => {
    await using p = await Peer.handshake();
    p.request(1, [...get("/never"), [":status", "200"]]);
    await expectMalformed(p, 1);
  });

  it("8.3 [7540 8.1.2.1] treats a pseudo-header in trailers as malformed", async () => {
    await using p = await Peer.handshake();
    p.request(1, post("/never"), false);
    p.send(FrameType.DATA, 0, 1, Buffer.from("test"));
    p.request(1, [
      [":method", "POST"],
      ["x-trailer", "1"],
    ]);
    await expectStreamError(p, 1, ErrorCode.PROTOCOL_ERROR);
  });

  it("8.3 [7540 8.1.2.1] treats a pseudo-header after a regular field as malformed", async () => {
    await using p = await Peer.handshake();
    p.request(1, [
      [":method", "GET"],
      [":scheme", "http"],
      ["x-regular", "1"],
      [":path", "/never"],
      [":authority", "127.0.0.1"],
    ]);
    await expectMalformed(p, 1);
  });

  it("8.2.2 [7540 8.1.2.2] treats a connection-specific field as malformed", async () => {
    await using p = await Peer.handshake();
    p.request(1, [...get("/never"), ["connection", "keep-alive"]]);
    await expectMalformed(p, 1);
    for (const [i, name] of [
      "keep-alive",
      "proxy-connection",
      "transfer-encoding",
      "upgrade",
    ].entries()) {
      const id = 5 + 2 * i;
      p.request(id, [...get("/never"), [name, "x"]]);
      await expectStreamError(p, id, ErrorCode.PROTOCOL_ERROR);
    }
    expect(got).toEqual(["/probe"]);
  });

  it("8.2.2 [7540 8.1.2.2] treats TE with a value other than trailers as malformed", async () => {
    await using p = await Peer.handshake();
    p.request(1, [...get("/never"), ["te", "trailers, deflate"]]);
    await expectMalformed(p, 1);
  });

  it("8.3.1 [7540 8.1.2.3] treats an empty :path as malformed", async () => {
    await using p = await Peer.handshake();
    p.request(1, get(""));
    await expectMalformed(p, 1);
  });

  for (const name of [":method", ":scheme", ":path"]) {
    it(`8.3.1 [7540 8.1.2.3] treats a request without ${name} as malformed`, async () => {
      await using p = await Peer.handshake();
      p.request(
        1,
        get("/never").filter((f) => f[0] !== name),
      );
      await expectMalformed(p, 1);
    });

    it(`8.3.1 [7540 8.1.2.3] treats a duplicated ${name} as malformed`, async () => {
      await using p = await Peer.handshake();
      const fields = get("/never");
      const dup = fields.find((f) => f[0] === name) as HeaderField;
      p.request(1, [dup, ...fields]);
      await expectMalformed(p, 1);
    });
  }

  it("8.1.1 [7540 8.1.2.6] treats content-length not equal to the DATA length as malformed", async () => {
    await using p = await Peer.handshake();
    p.request(1, post("/never", [["content-length", "1"]]), false);
    p.send(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from("test"));
    await expectStreamError(p, 1, ErrorCode.PROTOCOL_ERROR);
  });

  it("8.1.1 [7540 8.1.2.6] treats content-length not equal to the sum of DATA lengths as malformed, the upstream stream cancelled", async () => {
    await using p = await Peer.handshake();
    p.request(1, post("/partial", [["content-length", "8"]]), false);
    p.send(FrameType.DATA, 0, 1, Buffer.from("test"));
    // the request was routed (its headers were valid): the backend may see it, then a cancel
    p.send(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from("tes"));
    await expectStreamError(p, 1, ErrorCode.PROTOCOL_ERROR);
    await waitFor(() => relay.streams === 0, WAIT, "the relay stream to end");
    // END_STREAM never reached the backend: its request did not complete, so it never answered
    p.request(3, get("/probe"));
    expect(await p.status(3)).toBe("200");
  });

  it("8.1.1 treats content-length without any DATA (END_STREAM on HEADERS) as malformed", async () => {
    await using p = await Peer.handshake();
    p.request(1, post("/never", [["content-length", "4"]]));
    await expectMalformed(p, 1);
  });

  it("8.1.1 relays a request whose DATA matches its content-length", async () => {
    await using p = await Peer.handshake();
    p.request(1, post("/ok", [["content-length", "8"]]), false);
    p.send(FrameType.DATA, 0, 1, Buffer.from("test"));
    p.send(
      FrameType.DATA,
      Flag.END_STREAM | Flag.PADDED,
      1,
      Buffer.from([3, 0x61, 0x62, 0x63, 0x64, 0, 0, 0]),
    );
    expect(await p.body(1)).toBe(BODY);
    expect(got).toEqual(["/ok"]);
  });

  it("8.4 [7540 8.2] treats a client's PUSH_PROMISE as a connection error PROTOCOL_ERROR", async () => {
    await using p = await Peer.handshake();
    p.request(1, post(), false);
    p.send(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.concat([u32(2), block(get())]));
    await expectConnectionError(p, ErrorCode.PROTOCOL_ERROR);
  });
});

// ---------------------------------------------------------------- RFC 7541

describe("RFC 7541 HPACK", () => {
  /** The request as HPACK bytes: static-table indexes 2 (GET), 6 (http), 4 (/), authority literal. */
  const GET_HPACK = "828684" + "0109" + Buffer.from("127.0.0.1").toString("hex");

  async function expectCompressionError(hex: string): Promise<void> {
    await using p = await Peer.handshake();
    p.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, Buffer.from(hex, "hex"));
    await expectConnectionError(p, ErrorCode.COMPRESSION_ERROR);
    expect(got).toEqual([]);
  }

  it("2.3.3 treats an indexed field with an index past both tables as COMPRESSION_ERROR", async () => {
    await expectCompressionError(`${GET_HPACK}be`);
  });

  it("2.3.3 treats a literal with a name index past both tables as COMPRESSION_ERROR", async () => {
    await expectCompressionError(`${GET_HPACK}7e0161`);
  });

  it("4.2 treats a dynamic table size update at the end of a block as COMPRESSION_ERROR", async () => {
    await expectCompressionError(`${GET_HPACK}20`);
  });

  it("4.2 accepts dynamic table size updates at the beginning of a block", async () => {
    await using p = await Peer.handshake();
    p.send(
      FrameType.HEADERS,
      Flag.END_HEADERS | Flag.END_STREAM,
      1,
      Buffer.from(`203f61${GET_HPACK}`, "hex"),
    );
    expect(await p.status(1)).toBe("200");
  });

  it("5.2 treats Huffman padding longer than 7 bits as COMPRESSION_ERROR", async () => {
    // x-h: "/" Huffman-coded (011000) then 10 bits of padding
    await expectCompressionError(`${GET_HPACK}0003782d688263ff`);
  });

  it("5.2 treats Huffman padding that is not the EOS prefix (zeros) as COMPRESSION_ERROR", async () => {
    await expectCompressionError(`${GET_HPACK}0003782d688160`);
  });

  it("5.2 treats a Huffman string containing EOS as COMPRESSION_ERROR", async () => {
    await expectCompressionError(`${GET_HPACK}0003782d6884ffffffff`);
  });

  it("6.1 treats an indexed field of index 0 as COMPRESSION_ERROR", async () => {
    await expectCompressionError(`${GET_HPACK}80`);
  });

  it("6.3 treats a size update over our SETTINGS_HEADER_TABLE_SIZE (4096) as COMPRESSION_ERROR", async () => {
    await expectCompressionError(`3fe21f${GET_HPACK}`);
  });

  it("2.3 / 6.2 decodes every field representation, Huffman or not, across blocks", async () => {
    await using p = await Peer.handshake();
    // RFC 7541 C.4.1-C.4.3 (Huffman, incremental indexing) then C.3-style literals
    p.send(
      FrameType.HEADERS,
      Flag.END_HEADERS | Flag.END_STREAM,
      1,
      Buffer.from("828684418cf1e3c2e5f23a6ba0ab90f4ff", "hex"),
    );
    expect(await p.status(1)).toBe("200");
    p.send(
      FrameType.HEADERS,
      Flag.END_HEADERS | Flag.END_STREAM,
      3,
      Buffer.from("828684be5886a8eb10649cbf", "hex"),
    );
    expect(await p.status(3)).toBe("200");
    // without indexing / never indexed, indexed and new names, raw strings
    const lit = Buffer.concat([
      Buffer.from("828684bf", "hex"), // 63: :authority www.example.com (62 is now cache-control)
      Buffer.from("0f2b03616263", "hex"), // without indexing, static name 58 (user-agent)
      Buffer.from("1003782d6e03616263", "hex"), // never indexed, new name x-n
      Buffer.from("0003782d7703616263", "hex"), // without indexing, new name x-w
    ]);
    p.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 5, lit);
    expect(await p.status(5)).toBe("200");
    expect(got).toEqual(["/", "/", "/"]);
  });
});
