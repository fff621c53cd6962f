/**
 * RFC 9113 / RFC 7541 conformance of the relay's client side (its upstream connections,
 * `UpConn`): what h2specd (summerwind/h2spec's client mode) checks, one test per requirement,
 * named after its section, plus the malformed responses of §8 (which h2specd does not send).
 * On real sockets: a raw frame-speaking upstream (`raw-upstream-rig.ts`) behind a real relay,
 * with a real node:http2 client. Each test asserts what the relay sends upstream (RST_STREAM or
 * GOAWAY and its code, a closed connection) and what the client gets.
 */
import type * as http2 from "node:http2";
import type { Socket } from "node:net";
import {
  ErrorCode,
  encodeFrame,
  encodeHeaderBlock,
  errorCodeName,
  Flag,
  type Frame,
  FrameType,
  MAX_WINDOW,
  SettingsId,
} from "@l5d/h2";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ForwardSummary,
  h2Client,
  relayForward,
  type SimpleResponse,
  waitFor,
} from "../dataplane/test-support.js";
import { type RawUpstream, rawUpstream } from "./raw-upstream-rig.js";
import { retryableStatusCodes, startRelayRouterRig } from "./relay-router-rig.js";
import { startRelayServer } from "./relay-server.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const GET = { ":method": "GET", ":path": "/x", ":authority": "svc" };
const GRPC = {
  ":method": "POST",
  ":path": "/svc.S/M",
  ":authority": "svc",
  "content-type": "application/grpc",
  te: "trailers",
};
const OK: Array<[string, string]> = [[":status", "200"]];
const END_HEADERS = Flag.END_HEADERS;
const END_STREAM = Flag.END_STREAM;

type Fields = ReadonlyArray<readonly [string, string]>;

function headers(id: number, fields: Fields, flags: number = END_HEADERS): Buffer {
  return encodeFrame(FrameType.HEADERS, flags, id, encodeHeaderBlock(fields));
}

function data(id: number, body: string, flags = 0): Buffer {
  return encodeFrame(FrameType.DATA, flags, id, Buffer.from(body));
}

function u32(...vs: number[]): Buffer {
  const b = Buffer.alloc(4 * vs.length);
  for (let i = 0; i < vs.length; i++) b.writeUInt32BE((vs[i] as number) >>> 0, 4 * i);
  return b;
}

function rst(id: number, code: number): Buffer {
  return encodeFrame(FrameType.RST_STREAM, 0, id, u32(code));
}

function windowUpdate(id: number, inc: number): Buffer {
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, id, u32(inc));
}

function settings(...entries: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(6 * entries.length);
  entries.forEach(([k, v], i) => {
    b.writeUInt16BE(k, 6 * i);
    b.writeUInt32BE(v >>> 0, 6 * i + 2);
  });
  return encodeFrame(FrameType.SETTINGS, 0, 0, b);
}

const PING_DATA = Buffer.from("h2specd!");
const ping = (flags = 0): Buffer => encodeFrame(FrameType.PING, flags, 0, PING_DATA);

/**
 * One request and its whole answer (or reset), as `simpleRequest`, but bounded: a request the
 * relay never answers is cancelled after `ms` (its response then has no `:status`).
 */
function request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  ms = 5_000,
): Promise<SimpleResponse> {
  return new Promise((resolve) => {
    const req = session.request(headers, { endStream: true });
    let resHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => req.close(ErrorCode.CANCEL), ms);
    req.on("response", (h) => {
      resHeaders = h;
    });
    req.on("trailers", (t) => {
      trailers = t;
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => {});
    req.on("close", () => {
      clearTimeout(timer);
      resolve({ headers: resHeaders, trailers, body: Buffer.concat(chunks), rstCode: req.rstCode });
    });
  });
}

interface Run {
  readonly up: RawUpstream;
  /** The client's session to the relay. */
  readonly client: http2.ClientHttp2Session;
  readonly res: SimpleResponse;
  /** The forward's result (settles with the request). */
  result(): Promise<ForwardSummary>;
}

/**
 * A relay to a raw upstream that answers each request stream with `respond(id)`'s frames, and
 * one request through it (`req` headers).
 */
async function run(
  respond: (id: number, socket: Socket) => Buffer[],
  req: http2.OutgoingHttpHeaders = GET,
): Promise<Run> {
  const up = await rawUpstream((socket, id) => {
    for (const f of respond(id, socket)) socket.write(f);
  });
  const results: ForwardSummary[] = [];
  const relay = await startRelayServer({
    host: "127.0.0.1",
    port: 0,
    onRequest(r) {
      void relayForward(r, up.endpoint).then((x) => results.push(x));
    },
  });
  const client = h2Client(relay.port);
  cleanup.push(
    () => up.close(),
    () => relay.close(),
    async () => client[Symbol.asyncDispose](),
  );
  const res = await request(client, req);
  return {
    up,
    client,
    res,
    async result() {
      await waitFor(() => results.length > 0, 5_000, "the forward settles");
      return results[0] as ForwardSummary;
    },
  };
}

function framesOf(up: RawUpstream, type: number): Frame[] {
  return up.frames.filter((f) => f.type === type);
}

/** The code of the relay's GOAWAY, once it came, and the connection it closed. */
async function goaway(up: RawUpstream): Promise<string> {
  await waitFor(() => framesOf(up, FrameType.GOAWAY).length > 0, 5_000, "a GOAWAY from the relay");
  await waitFor(() => up.closedByRelay > 0, 5_000, "the relay closing the connection");
  const f = framesOf(up, FrameType.GOAWAY)[0] as Frame;
  expect(f.streamId).toBe(0);
  expect(f.payload.readUInt32BE(0)).toBe(0); // last stream id: the server opened none
  return errorCodeName(f.payload.readUInt32BE(4));
}

/** The code of the relay's RST_STREAM on `id`, once it came. */
async function reset(up: RawUpstream, id: number): Promise<string> {
  const on = () => framesOf(up, FrameType.RST_STREAM).filter((f) => f.streamId === id);
  await waitFor(() => on().length > 0, 5_000, `a RST_STREAM on stream ${id}`);
  return errorCodeName((on()[0] as Frame).payload.readUInt32BE(0));
}

/** The relay's PING ACKs of `PING_DATA`. */
function pingAcks(up: RawUpstream): number {
  return framesOf(up, FrameType.PING).filter(
    (f) => (f.flags & Flag.ACK) !== 0 && f.payload.equals(PING_DATA),
  ).length;
}

/** The connection goes on: a PING sent after the frames under test is answered. */
async function stillServing(up: RawUpstream): Promise<void> {
  await waitFor(() => pingAcks(up) > 0, 5_000, "the relay's PING ACK");
  expect(framesOf(up, FrameType.GOAWAY)).toHaveLength(0);
  expect(up.closedByRelay).toBe(0);
}

/** The client got the relay's local error: 502, `l5d-err` naming the upstream and `reason`. */
function badGateway(r: Run, reason: string): void {
  expect(r.res.headers[":status"]).toBe(502);
  const err = decodeURIComponent(String(r.res.headers["l5d-err"]));
  expect(err).toContain(`127.0.0.1:${r.up.endpoint.port}`);
  expect(err).toContain(reason);
}

describe("RFC 9113 conformance of the relay's upstream (client) side", () => {
  describe("3.4 / 3.5 HTTP/2 connection preface", () => {
    it("3.4 the relay's preface is the client preface then SETTINGS (ENABLE_PUSH 0), and it accepts the server's", async () => {
      const r = await run((id) => [headers(id, OK, END_HEADERS | END_STREAM)]);
      expect(r.res.headers[":status"]).toBe(200);
      const first = r.up.frames[0] as Frame;
      expect(first.type).toBe(FrameType.SETTINGS);
      expect(first.flags & Flag.ACK).toBe(0);
      expect(first.payload.readUInt16BE(0)).toBe(SettingsId.ENABLE_PUSH);
      expect(first.payload.readUInt32BE(2)).toBe(0);
      // the server's (empty) SETTINGS is acknowledged
      await waitFor(
        () => framesOf(r.up, FrameType.SETTINGS).some((f) => (f.flags & Flag.ACK) !== 0),
        5_000,
        "the relay's SETTINGS ACK",
      );
    });
  });

  describe("4.1 Frame Format", () => {
    it("4.1 a frame of unknown type is ignored", async () => {
      const r = await run((id) => [
        encodeFrame(0x16, 0, 0, Buffer.alloc(8)),
        encodeFrame(0xff, 0xff, id, Buffer.from("whatever")),
        ping(),
        headers(id, OK, END_HEADERS | END_STREAM),
      ]);
      expect(r.res.headers[":status"]).toBe(200);
      await stillServing(r.up);
    });

    it("4.1 undefined flags are ignored", async () => {
      const r = await run((id) => [
        encodeFrame(FrameType.PING, 0xfe, 0, PING_DATA),
        headers(id, OK, END_HEADERS | END_STREAM | 0x2),
      ]);
      expect(r.res.headers[":status"]).toBe(200);
      await stillServing(r.up);
    });

    it("4.1 the reserved bit of the stream identifier is ignored", async () => {
      const r = await run((id) => {
        const f = encodeFrame(FrameType.PING, 0, 0, PING_DATA);
        f[5] = 0x80;
        const h = headers(id, OK, END_HEADERS | END_STREAM);
        h[5] = (h[5] as number) | 0x80;
        return [f, h];
      });
      expect(r.res.headers[":status"]).toBe(200);
      await stillServing(r.up);
    });
  });

  describe("4.2 Frame Size", () => {
    it("4.2 a DATA frame of 2^14 octets is accepted", async () => {
      const body = "x".repeat(16_384);
      const r = await run((id) => [headers(id, OK), data(id, body, END_STREAM), ping()]);
      expect(r.res.headers[":status"]).toBe(200);
      expect(r.res.body.length).toBe(16_384);
      await stillServing(r.up);
    });

    it("4.2 a DATA frame over SETTINGS_MAX_FRAME_SIZE is an error FRAME_SIZE_ERROR", async () => {
      const r = await run((id) => [headers(id, OK), data(id, "x".repeat(16_385), END_STREAM)]);
      expect(await goaway(r.up)).toBe("FRAME_SIZE_ERROR");
      // the response had started: the client's stream is reset, no truncated body passes as whole
      expect(r.res.rstCode).toBe(ErrorCode.INTERNAL_ERROR);
    });

    it("4.2 a HEADERS frame over SETTINGS_MAX_FRAME_SIZE is a connection error FRAME_SIZE_ERROR", async () => {
      const big: Array<[string, string]> = [...OK, ["x-dummy", "y".repeat(20_000)]];
      const r = await run((id) => [headers(id, big, END_HEADERS | END_STREAM)]);
      expect(await goaway(r.up)).toBe("FRAME_SIZE_ERROR");
      badGateway(r, "connection lost");
    });
  });

  describe("4.3 Header Compression and Decompression (RFC 7541)", () => {
    it("4.3 a header block that fails to decode is a connection error COMPRESSION_ERROR", async () => {
      // a literal with incremental indexing and nothing after it (RFC 7541 §6.2.1)
      const r = await run((id) => [
        encodeFrame(FrameType.HEADERS, END_HEADERS | END_STREAM, id, Buffer.from([0x40])),
      ]);
      expect(await goaway(r.up)).toBe("COMPRESSION_ERROR");
      badGateway(r, "connection lost");
    });

    it("RFC 7541 §2.3.3 an index beyond the tables is a connection error COMPRESSION_ERROR", async () => {
      const r = await run((id) => [
        encodeFrame(FrameType.HEADERS, END_HEADERS | END_STREAM, id, Buffer.from([0xff, 0x30])),
      ]);
      expect(await goaway(r.up)).toBe("COMPRESSION_ERROR");
    });

    it("RFC 7541 §4.2 a table size update above SETTINGS_HEADER_TABLE_SIZE is a connection error COMPRESSION_ERROR", async () => {
      // dynamic table size update to 8192 (> the 4096 default we keep), then :status 200
      const r = await run((id) => [
        encodeFrame(
          FrameType.HEADERS,
          END_HEADERS | END_STREAM,
          id,
          Buffer.from([0x3f, 0xe1, 0x3f, 0x88]),
        ),
      ]);
      expect(await goaway(r.up)).toBe("COMPRESSION_ERROR");
    });
  });

  describe("5.1 Stream States", () => {
    it("5.1 upstream DATA on an idle stream is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [data(2, "test", END_STREAM)]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
      badGateway(r, "connection lost (DATA on idle stream 2)");
    });

    it("5.1 upstream DATA on an odd stream the relay has not opened is a connection error PROTOCOL_ERROR", async () => {
      const r = await run((id) => [data(id + 2, "test", END_STREAM)]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("5.1 upstream RST_STREAM on an idle stream is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [rst(2, ErrorCode.CANCEL)]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
      badGateway(r, "RST_STREAM on idle stream 2");
    });

    it("5.1 upstream WINDOW_UPDATE on an idle stream is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [windowUpdate(2, 100)]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
      badGateway(r, "WINDOW_UPDATE on idle stream 2");
    });

    it("5.1 upstream CONTINUATION on an idle stream is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [
        encodeFrame(FrameType.CONTINUATION, END_HEADERS, 2, encodeHeaderBlock(OK)),
      ]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("5.1 upstream DATA after its RST_STREAM is a stream error STREAM_CLOSED", async () => {
      const r = await run((id) => [
        headers(id, OK),
        rst(id, ErrorCode.CANCEL),
        data(id, "test", END_STREAM),
        ping(),
      ]);
      expect(await reset(r.up, 1)).toBe("STREAM_CLOSED");
      // the client's stream (its response had started) is reset with the upstream's code
      expect(r.res.rstCode).toBe(ErrorCode.CANCEL);
      await stillServing(r.up);
    });

    it("5.1 upstream HEADERS after its RST_STREAM is a stream error STREAM_CLOSED", async () => {
      const r = await run((id) => [
        headers(id, OK),
        rst(id, ErrorCode.CANCEL),
        headers(id, OK, END_HEADERS | END_STREAM),
        ping(),
      ]);
      expect(await reset(r.up, 1)).toBe("STREAM_CLOSED");
      await stillServing(r.up);
    });

    it("5.1 upstream RST_STREAM after its RST_STREAM is ignored (no reset answers a reset)", async () => {
      const r = await run((id) => [
        headers(id, OK),
        rst(id, ErrorCode.CANCEL),
        rst(id, ErrorCode.CANCEL),
        ping(),
      ]);
      await stillServing(r.up);
      expect(framesOf(r.up, FrameType.RST_STREAM)).toHaveLength(0);
      expect(r.res.rstCode).toBe(ErrorCode.CANCEL);
    });

    it("5.1 upstream CONTINUATION after its RST_STREAM is a connection error PROTOCOL_ERROR", async () => {
      const r = await run((id) => [
        headers(id, OK),
        rst(id, ErrorCode.CANCEL),
        encodeFrame(FrameType.CONTINUATION, END_HEADERS, id, encodeHeaderBlock([["x-a", "b"]])),
      ]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("5.1 upstream DATA after its END_STREAM (stream closed) is a connection error STREAM_CLOSED", async () => {
      const r = await run((id) => [
        headers(id, OK, END_HEADERS | END_STREAM),
        data(id, "test", END_STREAM),
      ]);
      expect(await goaway(r.up)).toBe("STREAM_CLOSED");
      // the response was complete before: it stands, without the extra bytes
      expect(r.res.headers[":status"]).toBe(200);
      expect(r.res.body.length).toBe(0);
    });

    it("5.1 upstream HEADERS after its END_STREAM (stream closed) is a connection error STREAM_CLOSED", async () => {
      const r = await run((id) => [
        headers(id, OK, END_HEADERS | END_STREAM),
        headers(id, OK, END_HEADERS | END_STREAM),
      ]);
      expect(await goaway(r.up)).toBe("STREAM_CLOSED");
      expect(r.res.headers[":status"]).toBe(200);
    });

    it("5.1 upstream CONTINUATION after its END_STREAM is a connection error PROTOCOL_ERROR", async () => {
      const r = await run((id) => [
        headers(id, OK, END_HEADERS | END_STREAM),
        encodeFrame(FrameType.CONTINUATION, END_HEADERS, id, encodeHeaderBlock([["x-a", "b"]])),
      ]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("5.1 upstream WINDOW_UPDATE and RST_STREAM after END_STREAM both ways are ignored", async () => {
      const r = await run((id) => [
        headers(id, OK, END_HEADERS | END_STREAM),
        windowUpdate(id, 100),
        rst(id, ErrorCode.NO_ERROR),
        ping(),
      ]);
      expect(r.res.headers[":status"]).toBe(200);
      await stillServing(r.up);
      expect(framesOf(r.up, FrameType.RST_STREAM)).toHaveLength(0);
    });

    it("5.1 upstream DATA on a half-closed (remote) stream is a stream error STREAM_CLOSED; the complete response stands", async () => {
      const up = await rawUpstream((socket, id) => {
        socket.write(headers(id, OK));
        socket.write(data(id, "done", END_STREAM));
        socket.write(data(id, "late", END_STREAM));
        socket.write(ping());
      });
      const relay = await startRelayServer({
        host: "127.0.0.1",
        port: 0,
        onRequest(r) {
          void relayForward(r, up.endpoint);
        },
      });
      const client = h2Client(relay.port);
      cleanup.push(
        () => up.close(),
        () => relay.close(),
        async () => client[Symbol.asyncDispose](),
      );
      // the request's body is not over: the upstream stream is half-closed (remote) only
      const req = client.request({ ...GET, ":method": "POST" }, { endStream: false });
      req.write("part");
      const chunks: Buffer[] = [];
      let status: unknown;
      req.on("response", (h) => {
        status = h[":status"];
      });
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("error", () => {});
      await new Promise((r) => req.on("close", r));
      expect(await reset(up, 1)).toBe("STREAM_CLOSED");
      expect(status).toBe(200);
      expect(Buffer.concat(chunks).toString()).toBe("done");
      await stillServing(up);
    });

    it("5.1 upstream frames after the relay's RST_STREAM are ignored", async () => {
      // a malformed response makes the relay reset the stream; the upstream's late frames follow
      const r = await run((id) => [
        data(id, "early"),
        headers(id, OK),
        data(id, "late", END_STREAM),
        windowUpdate(id, 10),
        ping(),
      ]);
      badGateway(r, "response DATA before its HEADERS");
      expect(await reset(r.up, 1)).toBe("PROTOCOL_ERROR");
      await stillServing(r.up);
      expect(framesOf(r.up, FrameType.RST_STREAM)).toHaveLength(1);
    });
  });

  describe("5.1.1 Stream Identifiers", () => {
    it("5.1.1 upstream HEADERS on a stream the relay did not open is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [headers(101, OK, END_HEADERS | END_STREAM)]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
      badGateway(r, "HEADERS on stream 101");
    });

    it("5.1.1 upstream HEADERS on an even stream (the server opening one) is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [headers(2, OK, END_HEADERS | END_STREAM)]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });
  });

  describe("5.4.1 Connection Error Handling", () => {
    it("5.4.1 a connection error sends GOAWAY, then closes the TCP connection", async () => {
      // the first connection gets a PING on a stream, the next one answers
      let requests = 0;
      const r = await run((id) =>
        ++requests === 1
          ? [encodeFrame(FrameType.PING, 0, 3, PING_DATA)]
          : [headers(id, OK, END_HEADERS | END_STREAM)],
      );
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
      expect(r.up.closedByRelay).toBe(1);
      badGateway(r, "connection lost (PING on a stream)");
      // the next request goes to a new connection
      const next = await request(r.client, GET);
      expect(next.headers[":status"]).toBe(200);
      expect(r.up.connections).toBe(2);
    });
  });

  describe("5.5 Extending HTTP/2", () => {
    it("5.5 an unknown extension frame is ignored", async () => {
      const r = await run((id) => [
        encodeFrame(0x16, 0, 0, Buffer.alloc(8)),
        ping(),
        headers(id, OK, END_HEADERS | END_STREAM),
      ]);
      expect(r.res.headers[":status"]).toBe(200);
      await stillServing(r.up);
    });
  });

  describe("6.1 DATA", () => {
    it("6.1 DATA on stream 0 is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [data(0, "test", END_STREAM)]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.1 DATA with a pad length over its payload is a connection error PROTOCOL_ERROR", async () => {
      const r = await run((id) => [
        headers(id, [...OK, ["content-length", "4"]]),
        encodeFrame(FrameType.DATA, END_STREAM | Flag.PADDED, id, Buffer.from("\x06Test")),
      ]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });
  });

  describe("6.2 HEADERS", () => {
    it("6.2 a HEADERS without END_HEADERS followed by a PRIORITY is a connection error PROTOCOL_ERROR", async () => {
      const r = await run((id) => [
        headers(id, OK, 0),
        encodeFrame(FrameType.PRIORITY, 0, id, Buffer.from([0, 0, 0, 0, 255])),
        encodeFrame(FrameType.CONTINUATION, END_HEADERS, id, encodeHeaderBlock([["x-a", "b"]])),
      ]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.2 HEADERS on stream 0 is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [headers(0, OK, END_HEADERS | END_STREAM)]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.2 HEADERS with a pad length over its payload is an error PROTOCOL_ERROR", async () => {
      const r = await run((id) => [
        encodeFrame(
          FrameType.HEADERS,
          END_HEADERS | Flag.PADDED,
          id,
          Buffer.concat([Buffer.from([0x11]), encodeHeaderBlock(OK)]),
        ),
      ]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });
  });

  describe("6.3 PRIORITY", () => {
    it("6.3 PRIORITY on stream 0 is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [
        encodeFrame(FrameType.PRIORITY, 0, 0, Buffer.from([0, 0, 0, 0, 255])),
      ]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.3 PRIORITY of a length other than 5 is a stream error FRAME_SIZE_ERROR", async () => {
      const r = await run((id) => [
        headers(id, OK, END_HEADERS | END_STREAM),
        encodeFrame(FrameType.PRIORITY, 0, id, Buffer.from([0x80, 0, 0, 1])),
        ping(),
      ]);
      expect(await reset(r.up, 1)).toBe("FRAME_SIZE_ERROR");
      await stillServing(r.up);
    });

    it("6.3 PRIORITY on an idle or a closed stream is accepted", async () => {
      const r = await run((id) => [
        encodeFrame(FrameType.PRIORITY, 0, id + 2, Buffer.from([0, 0, 0, 0, 16])),
        encodeFrame(FrameType.PRIORITY, 0, 4, Buffer.from([0, 0, 0, 0, 16])),
        headers(id, OK, END_HEADERS | END_STREAM),
        encodeFrame(FrameType.PRIORITY, 0, id, Buffer.from([0, 0, 0, 0, 16])),
        ping(),
      ]);
      expect(r.res.headers[":status"]).toBe(200);
      await stillServing(r.up);
    });
  });

  describe("6.4 RST_STREAM", () => {
    it("6.4 RST_STREAM on stream 0 is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [rst(0, ErrorCode.CANCEL)]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.4 RST_STREAM on an idle stream is a connection error PROTOCOL_ERROR", async () => {
      const r = await run((id) => [rst(id + 2, ErrorCode.CANCEL)]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.4 RST_STREAM of a length other than 4 is a connection error FRAME_SIZE_ERROR", async () => {
      const r = await run((id) => [
        headers(id, OK, END_HEADERS | END_STREAM),
        encodeFrame(FrameType.RST_STREAM, 0, id, Buffer.from([0, 0, 0])),
      ]);
      expect(await goaway(r.up)).toBe("FRAME_SIZE_ERROR");
    });

    it("6.4 an upstream RST_STREAM before the response is a clean error to the client", async () => {
      const r = await run((id) => [rst(id, ErrorCode.INTERNAL_ERROR), ping()]);
      badGateway(r, "reset the stream (INTERNAL_ERROR)");
      await stillServing(r.up);
    });
  });

  describe("6.5 SETTINGS", () => {
    it("6.5 SETTINGS with ACK and a payload is a connection error FRAME_SIZE_ERROR", async () => {
      const r = await run(() => [encodeFrame(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(1))]);
      expect(await goaway(r.up)).toBe("FRAME_SIZE_ERROR");
    });

    it("6.5 SETTINGS on a stream is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [
        encodeFrame(FrameType.SETTINGS, 0, 1, Buffer.from([0, 3, 0, 0, 0, 100])),
      ]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.5 SETTINGS of a length not a multiple of 6 is a connection error FRAME_SIZE_ERROR", async () => {
      const r = await run(() => [encodeFrame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 3, 0]))]);
      expect(await goaway(r.up)).toBe("FRAME_SIZE_ERROR");
    });

    it("6.5.2 SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 is a connection error FLOW_CONTROL_ERROR", async () => {
      const r = await run(() => [settings([SettingsId.INITIAL_WINDOW_SIZE, 2 ** 31])]);
      expect(await goaway(r.up)).toBe("FLOW_CONTROL_ERROR");
    });

    it("6.5.2 SETTINGS_MAX_FRAME_SIZE below 2^14 is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [settings([SettingsId.MAX_FRAME_SIZE, 16_383])]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.5.2 SETTINGS_MAX_FRAME_SIZE above 2^24-1 is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [settings([SettingsId.MAX_FRAME_SIZE, 2 ** 24])]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.5.2 an unknown SETTINGS identifier is ignored", async () => {
      const r = await run((id) => [
        settings([0xff, 1]),
        ping(),
        headers(id, OK, END_HEADERS | END_STREAM),
      ]);
      expect(r.res.headers[":status"]).toBe(200);
      await stillServing(r.up);
    });

    it("6.5.3 SETTINGS are acknowledged at once", async () => {
      const r = await run((id) => [
        settings([SettingsId.MAX_CONCURRENT_STREAMS, 100]),
        headers(id, OK, END_HEADERS | END_STREAM),
      ]);
      expect(r.res.headers[":status"]).toBe(200);
      // one ACK for the preface's SETTINGS, one for this one
      await waitFor(
        () =>
          framesOf(r.up, FrameType.SETTINGS).filter((f) => (f.flags & Flag.ACK) !== 0).length === 2,
        5_000,
        "two SETTINGS ACKs",
      );
    });
  });

  describe("6.6 PUSH_PROMISE", () => {
    it("6.6 PUSH_PROMISE while SETTINGS_ENABLE_PUSH is 0 is a connection error PROTOCOL_ERROR", async () => {
      const r = await run((id) => [
        encodeFrame(
          FrameType.PUSH_PROMISE,
          END_HEADERS,
          id,
          Buffer.concat([
            u32(2),
            encodeHeaderBlock([
              [":method", "GET"],
              [":scheme", "http"],
              [":path", "/pushed"],
              [":authority", "svc"],
            ]),
          ]),
        ),
        headers(id, OK, END_HEADERS | END_STREAM),
      ]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
      badGateway(r, "PUSH_PROMISE");
    });
  });

  describe("6.7 PING", () => {
    it("6.7 PING is answered with an ACK of the same payload", async () => {
      const r = await run((id) => [ping(), headers(id, OK, END_HEADERS | END_STREAM)]);
      expect(r.res.headers[":status"]).toBe(200);
      await stillServing(r.up);
    });

    it("6.7 a PING with ACK is not answered", async () => {
      const r = await run((id) => [
        encodeFrame(FrameType.PING, Flag.ACK, 0, Buffer.from("invalid!")),
        ping(),
        headers(id, OK, END_HEADERS | END_STREAM),
      ]);
      await stillServing(r.up);
      const acks = framesOf(r.up, FrameType.PING).filter((f) => (f.flags & Flag.ACK) !== 0);
      expect(acks.map((f) => f.payload.toString())).toEqual([PING_DATA.toString()]);
    });

    it("6.7 PING on a stream is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [encodeFrame(FrameType.PING, 0, 1, PING_DATA)]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.7 PING of a length other than 8 is a connection error FRAME_SIZE_ERROR", async () => {
      const r = await run(() => [encodeFrame(FrameType.PING, 0, 0, Buffer.alloc(6))]);
      expect(await goaway(r.up)).toBe("FRAME_SIZE_ERROR");
    });
  });

  describe("6.8 GOAWAY", () => {
    it("6.8 GOAWAY on a stream is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [encodeFrame(FrameType.GOAWAY, 0, 1, Buffer.alloc(8))]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });
  });

  describe("6.9 WINDOW_UPDATE", () => {
    it("6.9 a connection WINDOW_UPDATE of 0 is a connection error PROTOCOL_ERROR", async () => {
      const r = await run(() => [windowUpdate(0, 0)]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.9 a stream WINDOW_UPDATE of 0 is a stream error PROTOCOL_ERROR", async () => {
      const r = await run((id) => [headers(id, OK), windowUpdate(id, 0), ping()]);
      expect(await reset(r.up, 1)).toBe("PROTOCOL_ERROR");
      expect(r.res.rstCode).toBe(ErrorCode.PROTOCOL_ERROR);
      await stillServing(r.up);
    });

    it("6.9 WINDOW_UPDATE of a length other than 4 is a connection error FRAME_SIZE_ERROR", async () => {
      const r = await run(() => [encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.alloc(3))]);
      expect(await goaway(r.up)).toBe("FRAME_SIZE_ERROR");
    });

    it("6.9.1 a connection window past 2^31-1 is a connection error FLOW_CONTROL_ERROR", async () => {
      const r = await run(() => [windowUpdate(0, MAX_WINDOW), windowUpdate(0, MAX_WINDOW)]);
      expect(await goaway(r.up)).toBe("FLOW_CONTROL_ERROR");
    });

    it("6.9.1 a stream window past 2^31-1 is a stream error FLOW_CONTROL_ERROR", async () => {
      const r = await run((id) => [
        headers(id, OK),
        windowUpdate(id, MAX_WINDOW),
        windowUpdate(id, MAX_WINDOW),
        ping(),
      ]);
      expect(await reset(r.up, 1)).toBe("FLOW_CONTROL_ERROR");
      // the response had started: the client's stream is reset
      expect(r.res.rstCode).toBe(ErrorCode.INTERNAL_ERROR);
      expect((await r.result()).error?.message).toContain("past 2^31-1");
      await stillServing(r.up);
    });

    it("6.9.2 a SETTINGS_INITIAL_WINDOW_SIZE taking a stream window past 2^31-1 is a connection error FLOW_CONTROL_ERROR", async () => {
      const r = await run((id) => [
        windowUpdate(id, MAX_WINDOW - 65_535),
        settings([SettingsId.INITIAL_WINDOW_SIZE, 65_536]),
      ]);
      expect(await goaway(r.up)).toBe("FLOW_CONTROL_ERROR");
    });
  });

  describe("6.10 CONTINUATION", () => {
    const more: Fields = [["x-dummy0", "d".repeat(100)]];

    it("6.10 CONTINUATION frames after a HEADERS without END_HEADERS are accepted", async () => {
      const r = await run((id) => [
        headers(id, OK, END_STREAM),
        encodeFrame(FrameType.CONTINUATION, 0, id, encodeHeaderBlock(more)),
        encodeFrame(FrameType.CONTINUATION, END_HEADERS, id, encodeHeaderBlock([["x-b", "c"]])),
        ping(),
      ]);
      expect(r.res.headers[":status"]).toBe(200);
      expect(r.res.headers["x-dummy0"]).toBe("d".repeat(100));
      expect(r.res.headers["x-b"]).toBe("c");
      await stillServing(r.up);
    });

    it("6.10 a header block interrupted by another frame is a connection error PROTOCOL_ERROR", async () => {
      const r = await run((id) => [
        headers(id, OK, 0),
        encodeFrame(FrameType.CONTINUATION, 0, id, encodeHeaderBlock(more)),
        data(id, "test", END_STREAM),
      ]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.10 CONTINUATION on stream 0 is a connection error PROTOCOL_ERROR", async () => {
      const r = await run((id) => [
        headers(id, OK, END_STREAM),
        encodeFrame(FrameType.CONTINUATION, END_HEADERS, 0, encodeHeaderBlock(more)),
      ]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.10 CONTINUATION after a HEADERS with END_HEADERS is a connection error PROTOCOL_ERROR", async () => {
      const r = await run((id) => [
        headers(id, OK, END_HEADERS | END_STREAM),
        encodeFrame(FrameType.CONTINUATION, END_HEADERS, id, encodeHeaderBlock(more)),
      ]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.10 CONTINUATION after a CONTINUATION with END_HEADERS is a connection error PROTOCOL_ERROR", async () => {
      const r = await run((id) => [
        headers(id, OK, END_STREAM),
        encodeFrame(FrameType.CONTINUATION, END_HEADERS, id, encodeHeaderBlock(more)),
        encodeFrame(FrameType.CONTINUATION, END_HEADERS, id, encodeHeaderBlock(more)),
      ]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });

    it("6.10 CONTINUATION after DATA is a connection error PROTOCOL_ERROR", async () => {
      const r = await run((id) => [
        headers(id, OK),
        data(id, "test", END_STREAM),
        encodeFrame(FrameType.CONTINUATION, 0, id, encodeHeaderBlock(more)),
      ]);
      expect(await goaway(r.up)).toBe("PROTOCOL_ERROR");
    });
  });

  describe("8 malformed responses: RST_STREAM(PROTOCOL_ERROR) upstream, a clean error downstream", () => {
    /**
     * A malformed response (RFC 9113 §8.1.1) before anything went downstream: the upstream stream
     * is reset with PROTOCOL_ERROR, the client gets a 502 naming the upstream and the reason, and
     * the upstream connection goes on.
     */
    async function rejected(respond: (id: number) => Buffer[], reason: string): Promise<Run> {
      const r = await run((id) => [...respond(id), ping()]);
      badGateway(r, `malformed response: ${reason}`);
      expect(await reset(r.up, 1)).toBe("PROTOCOL_ERROR");
      await stillServing(r.up);
      return r;
    }

    /** Malformed after the response started: the client's stream is reset instead. */
    async function cutShort(respond: (id: number) => Buffer[], reason: string): Promise<Run> {
      const r = await run((id) => [...respond(id), ping()]);
      expect(r.res.headers[":status"]).toBe(200);
      expect(r.res.rstCode).toBe(ErrorCode.INTERNAL_ERROR);
      expect(await reset(r.up, 1)).toBe("PROTOCOL_ERROR");
      expect((await r.result()).error?.message).toContain(`malformed response: ${reason}`);
      await stillServing(r.up);
      return r;
    }

    it("8.2 an upper-case field name makes the response malformed", async () => {
      await rejected(
        (id) => [headers(id, [...OK, ["X-Upper", "1"]], END_HEADERS | END_STREAM)],
        'upper-case header field name "X-Upper"',
      );
    });

    it("8.2.1 a field value with CR, LF or NUL makes the response malformed", async () => {
      await rejected(
        (id) => [headers(id, [...OK, ["x-a", "b\r\nx-injected: 1"]], END_HEADERS | END_STREAM)],
        "NUL, CR or LF in the value of x-a",
      );
    });

    it("8.2.2 a connection-specific field makes the response malformed", async () => {
      await rejected(
        (id) => [headers(id, [...OK, ["connection", "keep-alive"]], END_HEADERS | END_STREAM)],
        "connection-specific header field connection",
      );
    });

    it("8.2.2 transfer-encoding makes the response malformed", async () => {
      await rejected(
        (id) => [headers(id, [...OK, ["transfer-encoding", "chunked"]]), data(id, "x", END_STREAM)],
        "connection-specific header field transfer-encoding",
      );
    });

    it("8.3 an unknown pseudo-header makes the response malformed", async () => {
      await rejected(
        (id) => [headers(id, [...OK, [":foo", "bar"]], END_HEADERS | END_STREAM)],
        "unknown pseudo-header :foo",
      );
    });

    it("8.3 a request pseudo-header in a response makes it malformed", async () => {
      await rejected(
        (id) => [headers(id, [...OK, [":path", "/"]], END_HEADERS | END_STREAM)],
        "request pseudo-header :path in a response",
      );
    });

    it("8.3 a pseudo-header after a regular field makes the response malformed", async () => {
      await rejected(
        (id) => [headers(id, [["x-a", "b"], ...OK], END_HEADERS | END_STREAM)],
        "pseudo-header :status after a regular field",
      );
    });

    it("8.3.2 a response without :status is malformed", async () => {
      await rejected(
        (id) => [headers(id, [["x-a", "b"]], END_HEADERS | END_STREAM)],
        "missing :status",
      );
    });

    it("8.3.2 a response with two :status is malformed", async () => {
      await rejected(
        (id) => [headers(id, [...OK, [":status", "204"]], END_HEADERS | END_STREAM)],
        "duplicated :status",
      );
    });

    it("8.6 status 101 (Switching Protocols) makes the response malformed", async () => {
      await rejected(
        (id) => [headers(id, [[":status", "101"]]), headers(id, OK, END_HEADERS | END_STREAM)],
        "status 101",
      );
    });

    it("8.1 an informational response with END_STREAM is malformed", async () => {
      await rejected(
        (id) => [headers(id, [[":status", "103"]], END_HEADERS | END_STREAM)],
        "informational status 103 with END_STREAM",
      );
    });

    it("8.1 an informational response then the final one is well-formed", async () => {
      const r = await run((id) => [
        headers(id, [
          [":status", "103"],
          ["link", "</a>; rel=preload"],
        ]),
        headers(id, [...OK, ["content-length", "2"]]),
        data(id, "ok", END_STREAM),
      ]);
      expect(r.res.headers[":status"]).toBe(200);
      expect(r.res.body.toString()).toBe("ok");
      expect(framesOf(r.up, FrameType.RST_STREAM)).toHaveLength(0);
    });

    it("8.1 a pseudo-header in trailers makes the response malformed", async () => {
      await cutShort(
        (id) => [headers(id, OK), data(id, "body"), headers(id, OK, END_HEADERS | END_STREAM)],
        "pseudo-header :status in trailers",
      );
    });

    it("8.1 trailers without END_STREAM make the response malformed", async () => {
      await cutShort(
        (id) => [headers(id, OK), data(id, "body"), headers(id, [["x-t", "1"]])],
        "a header block after the response's without END_STREAM",
      );
    });

    it("8.1.1 a content-length above the DATA received makes the response malformed", async () => {
      await cutShort(
        (id) => [headers(id, [...OK, ["content-length", "10"]]), data(id, "abcd", END_STREAM)],
        "content-length 10 but 4 bytes of DATA",
      );
    });

    it("8.1.1 DATA beyond the content-length makes the response malformed (and is not relayed)", async () => {
      const r = await cutShort(
        (id) => [
          headers(id, [...OK, ["content-length", "2"]]),
          data(id, "ab"),
          data(id, "cd", END_STREAM),
        ],
        "more DATA than its content-length 2 (4 bytes)",
      );
      expect(r.res.body.toString()).toBe("ab");
    });

    it("8.1.1 a content-length with no DATA at all (END_STREAM on the HEADERS) is malformed", async () => {
      await rejected(
        (id) => [headers(id, [...OK, ["content-length", "5"]], END_HEADERS | END_STREAM)],
        "content-length 5 but 0 bytes of DATA",
      );
    });

    it("8.1.1 a content-length is not checked against a response to HEAD (no content)", async () => {
      const r = await run(
        (id) => [headers(id, [...OK, ["content-length", "5"]], END_HEADERS | END_STREAM)],
        { ...GET, ":method": "HEAD" },
      );
      expect(r.res.headers[":status"]).toBe(200);
      expect(r.res.headers["content-length"]).toBe("5");
      expect(framesOf(r.up, FrameType.RST_STREAM)).toHaveLength(0);
    });

    it("8.1.1 a gRPC client gets INTERNAL with l5d-err for a malformed response", async () => {
      const r = await run(
        (id) => [headers(id, [...OK, ["Content-Type", "application/grpc"]]), ping()],
        GRPC,
      );
      expect(r.res.headers[":status"]).toBe(200);
      expect(r.res.headers["grpc-status"]).toBe("13");
      const err = decodeURIComponent(String(r.res.headers["l5d-err"]));
      expect(err).toContain(`127.0.0.1:${r.up.endpoint.port}`);
      expect(err).toContain('malformed response: upper-case header field name "Content-Type"');
      expect(await reset(r.up, 1)).toBe("PROTOCOL_ERROR");
      await stillServing(r.up);
    });

    it("8.1.1 through the router (held responses): a malformed response or trailers fail the attempt, never reach the client", async () => {
      // the first request's response has bad headers, the second's bad trailers (held until
      // complete, so even its good headers and DATA never go downstream)
      const up = await rawUpstream((socket, id) => {
        if (id === 1) {
          socket.write(headers(id, [...OK, ["content-type", "application/grpc"], [":path", "/"]]));
          return;
        }
        socket.write(headers(id, [...OK, ["content-type", "application/grpc"]]));
        socket.write(data(id, "\0\0\0\0\0"));
        socket.write(
          headers(
            id,
            [
              ["grpc-status", "0"],
              [":status", "200"],
            ],
            END_HEADERS | END_STREAM,
          ),
        );
      });
      const rig = await startRelayRouterRig([up.endpoint.port], {
        classifier: retryableStatusCodes([14]),
      });
      cleanup.push(
        () => up.close(),
        () => rig.close(),
      );
      for (const reason of [
        "pseudo-header :path after a regular field",
        "pseudo-header :status in trailers",
      ]) {
        const res = await request(rig.session, GRPC);
        expect(res.headers[":status"]).toBe(200);
        expect(res.headers["grpc-status"]).toBe("13");
        expect(decodeURIComponent(String(res.headers["l5d-err"]))).toContain(
          `malformed response: ${reason}`,
        );
        expect(res.body.length).toBe(0);
      }
      expect(framesOf(up, FrameType.RST_STREAM).map((f) => f.streamId)).toEqual([1, 3]);
      expect(framesOf(up, FrameType.GOAWAY)).toHaveLength(0);
    });
  });
});
