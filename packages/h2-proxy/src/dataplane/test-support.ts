/**
 * Test helpers for the data plane (not exported from the barrel): loopback gRPC backends with
 * raw-Buffer serializers, static-route proxies and chains of them, a raw HTTP/2 frame client,
 * and `await using` resources that wait for connections to reach zero when disposed.
 */

import * as http2 from "node:http2";
import * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import {
  CLIENT_PREFACE,
  decodeFrames,
  encodeFrame,
  encodeHeaderBlock,
  type Frame,
  FrameType,
} from "@l5d/h2";
import { prng, waitFor } from "@l5d/h2/testing";
import {
  type RelayServer,
  type RelayServerOptions,
  startRelayServer,
} from "../relay/relay-server.js";
import { RelayUpstreams } from "../relay/upstream.js";
import { type Address, addressKey } from "../router/address.js";
import { attemptOnce } from "../router/exchange.js";
import type { ForwardOutcome, HeaderEdits, RoutableRequest } from "../router/routable-request.js";

export { prng, waitFor };

/** An upstream address (the router's `Address`). */
export type Endpoint = Address;

const identity = (b: Buffer): Buffer => b;

function method(
  name: string,
  requestStream: boolean,
  responseStream: boolean,
): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path: `/grpc.testing.TestService/${name}`,
    requestStream,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

/** gRPC's interop `TestService`, with raw Buffer messages. */
export const TestService = {
  EmptyCall: method("EmptyCall", false, false),
  UnaryCall: method("UnaryCall", false, false),
  StreamingOutputCall: method("StreamingOutputCall", false, true),
  StreamingInputCall: method("StreamingInputCall", true, false),
  FullDuplexCall: method("FullDuplexCall", true, true),
  UnimplementedCall: method("UnimplementedCall", false, false),
} satisfies grpc.ServiceDefinition;

/** A deterministic payload of `n` bytes (byte i = (i * 31 + seed) & 0xff). */
/** mulberry32: small, fast, seedable; what a test draws from it is a pure function of the seed. */
export function payload(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** A 4-byte big-endian unsigned integer (a WINDOW_UPDATE or RST_STREAM payload, for a raw peer). */
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/** One SETTINGS parameter (id, value): a SETTINGS payload, or a part of one (for a raw peer). */
export function setting(id: number, v: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(id);
  b.writeUInt32BE(v >>> 0, 2);
  return b;
}

/** The HPACK block of a plain `GET <path>` with `:authority svc` (for a raw client). */
export function getBlock(path: string): Buffer {
  return encodeHeaderBlock([
    [":method", "GET"],
    [":scheme", "http"],
    [":path", path],
    [":authority", "svc"],
  ]);
}

/** A 4-byte big-endian size prefix followed by `rest`. */
export function sized(size: number, rest: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(4 + rest.length);
  b.writeUInt32BE(size, 0);
  rest.copy(b, 4);
  return b;
}

function meta1(md: grpc.Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return v === undefined ? undefined : v.toString();
}

function echoMetadata(call: {
  metadata: grpc.Metadata;
  sendMetadata(md: grpc.Metadata): void;
}): grpc.Metadata {
  const initial = new grpc.Metadata();
  const initialValue = call.metadata.get("x-grpc-test-echo-initial")[0];
  if (initialValue !== undefined) initial.set("x-grpc-test-echo-initial", initialValue);
  call.sendMetadata(initial);
  const trailing = new grpc.Metadata();
  const trailingValue = call.metadata.get("x-grpc-test-echo-trailing-bin")[0];
  if (trailingValue !== undefined) trailing.set("x-grpc-test-echo-trailing-bin", trailingValue);
  return trailing;
}

/** A running grpc-js backend implementing {@link TestService}. */
export interface GrpcBackend extends AsyncDisposable {
  readonly port: number;
  readonly endpoint: Endpoint;
  /** Calls the backend saw cancelled by its client (the proxy). */
  readonly cancelled: number;
  /** Calls started. */
  readonly calls: number;
  close(): Promise<void>;
}

/**
 * Starts the interop backend. Behaviour is driven by metadata: `x-response-size` (unary
 * response size), `x-status-code` / `x-status-message-bin` (a failure status),
 * `x-response-sizes` (server-streaming sizes, comma separated), `x-sleep-ms` (delay before each
 * answer). FullDuplexCall answers each message with as many bytes as its 4-byte size prefix says.
 */
export async function startGrpcBackend(port = 0): Promise<GrpcBackend> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 64 << 20,
    "grpc.max_send_message_length": 64 << 20,
  });
  let cancelled = 0;
  let calls = 0;
  const track = (call: { on(ev: "cancelled", f: () => void): unknown }): void => {
    calls++;
    call.on("cancelled", () => {
      cancelled++;
    });
  };
  const failure = (md: grpc.Metadata): grpc.ServiceError | null => {
    const code = meta1(md, "x-status-code");
    if (code === undefined) return null;
    const msg = md.get("x-status-message-bin")[0];
    const err = new Error("status") as grpc.ServiceError;
    err.code = Number(code);
    err.details = msg === undefined ? "" : Buffer.from(msg as Buffer).toString("utf8");
    return err;
  };
  const sleepMs = (md: grpc.Metadata): number => Number(meta1(md, "x-sleep-ms") ?? "0");
  server.addService(TestService, {
    EmptyCall(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      track(call);
      cb(null, Buffer.alloc(0));
    },
    UnaryCall(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      track(call);
      const trailing = echoMetadata(call);
      const fail = failure(call.metadata);
      const size = Number(meta1(call.metadata, "x-response-size") ?? "0");
      setTimeout(() => {
        if (fail !== null) cb(fail, null, trailing);
        else cb(null, payload(size, call.request.length & 0xff), trailing);
      }, sleepMs(call.metadata));
    },
    StreamingOutputCall(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      track(call);
      const sizes = (meta1(call.metadata, "x-response-sizes") ?? "")
        .split(",")
        .filter((s) => s !== "")
        .map(Number);
      const count = Number(meta1(call.metadata, "x-repeat") ?? "1");
      let i = 0;
      const total = sizes.length * count;
      const pump = (): void => {
        while (i < total && !call.cancelled) {
          const msg = payload(sizes[i % sizes.length] as number, i & 0xff);
          i++;
          if (!call.write(msg)) {
            call.once("drain", pump);
            return;
          }
        }
        if (!call.cancelled) call.end();
      };
      pump();
    },
    StreamingInputCall(
      call: grpc.ServerReadableStream<Buffer, Buffer>,
      cb: grpc.sendUnaryData<Buffer>,
    ) {
      track(call);
      let total = 0;
      let ok = true;
      let n = 0;
      call.on("data", (m: Buffer) => {
        // Messages carry payload(size, n): verify byte-exactness.
        if (!m.equals(payload(m.length, n & 0xff))) ok = false;
        n++;
        total += m.length;
      });
      call.on("end", () => {
        if (!ok)
          cb({ code: grpc.status.DATA_LOSS, details: "corrupted message" } as grpc.ServiceError);
        else cb(null, sized(total));
      });
      call.on("error", () => {});
    },
    FullDuplexCall(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      track(call);
      const sleep = sleepMs(call.metadata);
      call.on("data", (m: Buffer) => {
        const size = m.length >= 4 ? m.readUInt32BE(0) : 0;
        const answer = (): void => {
          if (!call.cancelled) call.write(payload(size, m.length & 0xff));
        };
        if (sleep > 0) setTimeout(answer, sleep);
        else answer();
      });
      call.on("end", () => {
        if (!call.cancelled) call.end();
      });
      call.on("error", () => {});
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err === null ? resolve(p) : reject(err),
    ),
  );
  const close = (): Promise<void> =>
    new Promise<void>((resolve) => {
      server.forceShutdown();
      resolve();
    });
  return {
    port: bound,
    endpoint: { host: "127.0.0.1", port: bound },
    get cancelled() {
      return cancelled;
    },
    get calls() {
      return calls;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** What {@link relayForward} resolves to: the final attempt's outcome, where it went, whether requeued. */
export interface ForwardSummary extends ForwardOutcome {
  /** `host:port` of the last attempt. */
  readonly endpoint: string;
  /** The request was requeued (a second attempt). */
  readonly retried: boolean;
}

/**
 * A plain forward for tests of the relay without a router: the router's loop in miniature (one
 * attempt of an exchange whose responses are not held; an unprocessed attempt is requeued once,
 * on `requeue()` or the same endpoint; a failure held for the router is committed, i.e. answered
 * locally). The daemon always goes through `H2Router`, which owns requeue budgets and retries.
 */
export async function relayForward(
  req: RoutableRequest,
  target: Address,
  edits: HeaderEdits = {},
  opts: { deadlineMs?: number | undefined; requeue?: () => Address | undefined } = {},
): Promise<ForwardSummary> {
  const ex = req.exchange({
    holdResponses: false,
    requestBufferBytes: 16_383,
    responseBufferBytes: 16_383,
    classificationTimeoutMs: 100,
    deadlineMs: opts.deadlineMs,
  });
  let endpoint = target;
  let retried = false;
  for (;;) {
    const r = await attemptOnce(ex, endpoint, edits);
    if (r.held && r.unprocessed && !retried && ex.replayable && !ex.done) {
      retried = true;
      ex.discard();
      endpoint = opts.requeue?.() ?? endpoint;
      continue;
    }
    if (r.held) await ex.commit();
    return { ...r.outcome, endpoint: addressKey(endpoint), retried };
  }
}

/** A relay with a static route, disposable; disposal waits for its connections to reach zero. */
export interface StaticProxy extends AsyncDisposable {
  readonly server: RelayServer;
  /** Its upstream connections (closed on dispose). */
  readonly upstreams: RelayUpstreams;
  readonly port: number;
  readonly endpoint: Endpoint;
}

/** Starts a relay forwarding every request to `target` ({@link relayForward}, `l5d-test-hop: 1` set). */
export async function startStaticProxy(
  target: Endpoint,
  opts: Partial<Omit<RelayServerOptions, "onRequest" | "host" | "port">> & {
    delayMs?: number;
    deadlineMs?: number;
  } = {},
): Promise<StaticProxy> {
  const { delayMs, deadlineMs, ...serverOpts } = opts;
  const upstreams = opts.upstreams ?? new RelayUpstreams(opts.connectTimeoutMs);
  const server = await startRelayServer({
    host: "127.0.0.1",
    port: 0,
    ...serverOpts,
    upstreams,
    onRequest(req) {
      const go = (): void => {
        void relayForward(req, target, { set: { "l5d-test-hop": "1" } }, { deadlineMs });
      };
      if (delayMs !== undefined) setTimeout(go, delayMs);
      else go();
    },
  });
  const dispose = async (): Promise<void> => {
    await server.close(1000);
    upstreams.close();
    await waitFor(() => server.connections === 0, 5000, "proxy connections to close");
  };
  return {
    server,
    upstreams,
    port: server.port,
    endpoint: { host: "127.0.0.1", port: server.port },
    [Symbol.asyncDispose]: dispose,
  };
}

/** Upstream streams a relay has open (every upstream connection's). */
export function upstreamStreams(p: StaticProxy): number {
  let n = 0;
  for (const u of p.upstreams.ups.values()) n += u.streams.size;
  for (const u of p.upstreams.draining) n += u.streams.size;
  return n;
}

/** `hops` static proxies in a chain ending at `target`; returns them client-side first. */
export async function startChain(
  target: Endpoint,
  hops: number,
  opts: Parameters<typeof startStaticProxy>[1] = {},
): Promise<StaticProxy[] & AsyncDisposable> {
  const proxies: StaticProxy[] = [];
  let next = target;
  for (let i = 0; i < hops; i++) {
    const p = await startStaticProxy(next, opts);
    proxies.unshift(p);
    next = p.endpoint;
  }
  return Object.assign(proxies, {
    async [Symbol.asyncDispose]() {
      for (const p of proxies) await p[Symbol.asyncDispose]();
    },
  });
}

const TestClient = grpc.makeGenericClientConstructor(TestService, "TestService");

/** A grpc-js client of {@link TestService}, disposable. */
export type TestClient = grpc.Client & {
  [K in keyof typeof TestService]: (...args: unknown[]) => unknown;
} & Disposable;

/** A grpc-js client connected (h2c prior knowledge) to `port`. */
/** The request headers of a gRPC call to `/test.Svc/Call` at authority `svc` (the router rigs' service). */
export const SVC_CALL: Readonly<http2.OutgoingHttpHeaders> = {
  ":method": "POST",
  ":path": "/test.Svc/Call",
  ":authority": "svc",
  "content-type": "application/grpc",
  te: "trailers",
};

/** One `UnaryCall` of the test service with metadata: the answer's bytes, or the call's error. */
export function unaryCall(client: TestClient, body: Buffer, md: grpc.Metadata): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    (
      client.UnaryCall as unknown as (
        r: Buffer,
        m: grpc.Metadata,
        cb: (e: grpc.ServiceError | null, v?: Buffer) => void,
      ) => void
    ).call(client, body, md, (e, v) => (e === null ? resolve(v as Buffer) : reject(e))),
  );
}

export function testClient(
  port: number,
  options: grpc.ClientOptions = {},
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): TestClient {
  const client = new TestClient(`127.0.0.1:${port}`, credentials, {
    "grpc.max_receive_message_length": 64 << 20,
    "grpc.max_send_message_length": 64 << 20,
    ...options,
  }) as unknown as TestClient;
  return Object.assign(client, { [Symbol.dispose]: () => client.close() });
}

/** Polls `cond` every 5 ms until it holds or `timeoutMs` passes (then throws `what`). */
/** A plain node:http2 backend, disposable (destroys its sessions when disposed). */
export interface H2Backend extends AsyncDisposable {
  readonly server: http2.Http2Server;
  readonly port: number;
  readonly endpoint: Endpoint;
  readonly sessions: Set<http2.ServerHttp2Session>;
  /** Raw TCP sockets (destroy them to simulate a lost connection, no GOAWAY). */
  readonly sockets: Set<net.Socket>;
  close(): Promise<void>;
}

/** Starts a node:http2 backend with `handler` for every stream. */
export async function startH2Backend(
  handler: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
  opts: http2.ServerOptions = {},
  port = 0,
): Promise<H2Backend> {
  const server = http2.createServer(opts);
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("session", (s) => {
    sessions.add(s);
    s.on("error", () => {});
    s.once("close", () => sessions.delete(s));
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    handler(stream, headers);
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  const address = server.address() as net.AddressInfo;
  const close = async (): Promise<void> => {
    for (const s of sessions) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return {
    server,
    port: address.port,
    endpoint: { host: "127.0.0.1", port: address.port },
    sessions,
    sockets,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A node:http2 client session, disposable. */
export function h2Client(
  port: number,
  opts: http2.ClientSessionOptions = {},
): http2.ClientHttp2Session & AsyncDisposable {
  const session = http2.connect(`http://127.0.0.1:${port}`, opts);
  session.on("error", () => {});
  return Object.assign(session, {
    [Symbol.asyncDispose]: () =>
      new Promise<void>((r) => {
        if (session.destroyed) return r();
        session.once("close", () => r());
        session.destroy();
      }),
  });
}

/** Result of a simple request through a node:http2 client. */
export interface SimpleResponse {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders | undefined;
  body: Buffer;
  rstCode: number | undefined;
}

/** Sends one request and collects the whole answer (or the reset). */
export function simpleRequest(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer,
): Promise<SimpleResponse> {
  return new Promise((resolve) => {
    const req = session.request(headers, { endStream: body === undefined });
    let resHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    req.on("response", (h) => {
      resHeaders = h;
    });
    req.on("trailers", (t) => {
      trailers = t;
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => {});
    req.on("close", () =>
      resolve({ headers: resHeaders, trailers, body: Buffer.concat(chunks), rstCode: req.rstCode }),
    );
    if (body !== undefined) req.end(body);
  });
}

/** A raw HTTP/2 client speaking frames over a socket (for misbehaving-peer tests). */
export class RawH2Client implements AsyncDisposable {
  readonly frames: Frame[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      const { frames, rest } = decodeFrames(this.buf);
      this.buf = rest;
      for (const f of frames) {
        this.frames.push(f);
        if (f.type === FrameType.SETTINGS && (f.flags & 1) === 0) {
          socket.write(encodeFrame(FrameType.SETTINGS, 1, 0, Buffer.alloc(0)));
        }
      }
    });
    socket.on("error", () => {});
    socket.once("close", () => {
      this.closed = true;
    });
  }

  /** Connects and sends the preface plus an empty SETTINGS frame. */
  static async connect(port: number, preamble?: string): Promise<RawH2Client> {
    const socket = net.connect(port, "127.0.0.1");
    await new Promise<void>((r, j) => {
      socket.once("connect", () => r());
      socket.once("error", j);
    });
    const c = new RawH2Client(socket);
    if (preamble === undefined) {
      socket.write(
        Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0))]),
      );
    } else {
      socket.write(preamble);
    }
    return c;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(type: number, flags: number, streamId: number, p: Buffer = Buffer.alloc(0)): void {
    this.socket.write(encodeFrame(type, flags, streamId, p));
  }

  /** Frames of `type` (optionally on `streamId`) received so far. */
  received(type: number, streamId?: number): Frame[] {
    return this.frames.filter(
      (f) => f.type === type && (streamId === undefined || f.streamId === streamId),
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

/** A grpc frame (5-byte prefix) around `msg`. */
export function grpcFrame(msg: Buffer): Buffer {
  const b = Buffer.alloc(5 + msg.length);
  b.writeUInt32BE(msg.length, 1);
  msg.copy(b, 5);
  return b;
}

function endNothing(this: http2.Http2Stream): http2.Http2Stream {
  return this;
}

/**
 * Sends RST_STREAM(`code`) on a node:http2 test peer's stream *without* ending it first:
 * `stream.close(code)` calls `stream.end()` when the writable side is still open, which
 * flushes an END_STREAM before the RST_STREAM (the peer would see a truncated message, not a
 * reset). Shadowing `end` on the instance makes `close` submit only the RST_STREAM.
 */
export function resetStream(stream: http2.Http2Stream, code: number): void {
  if (stream.destroyed || stream.closed) return;
  if (code !== 0 && !stream.writableEnded) {
    (stream as { end: unknown }).end = endNothing;
  }
  stream.close(code);
}
