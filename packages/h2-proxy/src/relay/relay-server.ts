/**
 * The frame-level relay (issue #9 prototype): HTTP/2 on raw sockets, no node:http2 stream
 * objects. Each downstream connection is parsed frame by frame; a request's header block is
 * decoded (full HPACK) into the headers the router reads, and `forward` re-encodes it (literal
 * fields, edits applied) as a new stream on a shared upstream connection per endpoint. DATA
 * frames are passed through with flow-control accounting in both directions: window is given back
 * to a sender only once its bytes were written to the other side, and a receiver's window is
 * never overrun (DATA waits in a per-stream queue). Trailers are forwarded, RST_STREAM is mapped
 * both ways, SETTINGS/PING are answered, GOAWAY stops new streams on a connection.
 *
 * Deadlines (`grpc-timeout`, the router's `deadlineMs`) are enforced and propagated.
 * Prototype limits (documented in docs/performance.md): no replay of refused streams, no h2c
 * Upgrade, no stream limit, no graceful close, no PRIORITY.
 */
import type { IncomingHttpHeaders } from "node:http2";
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { GrpcStatus, grpcStatusForRstCode } from "../dataplane/errors.js";
import type { ForwardResult } from "../dataplane/forward.js";
import { encodeGrpcTimeout, parseGrpcTimeout } from "../dataplane/grpc-timeout.js";
import { type HeaderEdits, isGrpcContentType, isHopByHop } from "../dataplane/headers.js";
import { encodeGrpcMessage, type LocalError } from "../dataplane/respond-error.js";
import { type Endpoint, endpointKey } from "../dataplane/upstream-pool.js";
import { DEFAULT_WINDOW, Flag, FrameConn, type FrameHandler, FrameType } from "./frame-conn.js";
import type { HeaderField } from "./hpack.js";

const CANCEL = 8;
const INTERNAL_ERROR = 2;
const REFUSED_STREAM = 7;

const RST_NAMES = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

function rstName(code: number): string {
  return RST_NAMES[code] ?? `code ${code}`;
}

/** One request as the router sees it (the `IncomingProxyRequest` contract, minus `stream`). */
export interface RelayRequest {
  readonly headers: IncomingHttpHeaders;
  readonly isGrpc: boolean;
  readonly aborted: boolean;
  forward(
    endpoint: Endpoint,
    edits?: HeaderEdits,
    opts?: { readonly deadlineMs?: number | undefined },
  ): Promise<ForwardResult>;
  respondError(e: LocalError): void;
}

export interface RelayServerOptions {
  readonly host: string;
  readonly port: number;
  readonly onRequest: (req: RelayRequest) => void;
}

export interface RelayServer {
  readonly host: string;
  readonly port: number;
  /** Open downstream connections. */
  readonly connections: number;
  /** Open relayed streams. */
  readonly streams: number;
  close(): Promise<void>;
}

interface Pending {
  data: Buffer;
  end: boolean;
  flowLen: number;
}

/** A stream's outbound half towards one peer: send window and a queue of DATA waiting for it. */
class Half {
  window: number;
  queue: Pending[] = [];
  /** Trailers waiting behind queued DATA (encoded when sent: HPACK state follows wire order). */
  tail: HeaderField[] | undefined;
  ended = false;
  constructor(initial: number) {
    this.window = initial;
  }
}

class RelayStream implements RelayRequest {
  readonly headers: IncomingHttpHeaders;
  readonly isGrpc: boolean;
  readonly startedAt = performance.now();
  up: UpConn | undefined;
  upId = 0;
  toUp: Half | undefined;
  readonly toDown: Half;
  /** Request DATA received before `forward` (held: its window is not given back yet). */
  early: Pending[] = [];
  earlyTrailers: HeaderField[] | undefined;
  reqEnded: boolean;
  responded = false;
  done = false;
  status = 0;
  grpcStatus: number | undefined;
  error: Error | undefined;
  reset: number | undefined;
  bytesIn = 0;
  bytesOut = 0;
  endpoint = "";
  deadlineMs = 0;
  timer: NodeJS.Timeout | undefined;
  resolve: ((r: ForwardResult) => void) | undefined;

  constructor(
    readonly down: DownConn,
    readonly id: number,
    readonly fields: HeaderField[],
    endStream: boolean,
  ) {
    const h: Record<string, string | string[]> = {};
    for (const [n, v] of fields) {
      const prev = h[n];
      if (prev === undefined) h[n] = v;
      else if (Array.isArray(prev)) prev.push(v);
      else h[n] = [prev, v];
    }
    this.headers = h as IncomingHttpHeaders;
    this.isGrpc = isGrpcContentType(h["content-type"] as string | undefined);
    this.reqEnded = endStream;
    this.toDown = new Half(down.conn.peerInitialWindow);
  }

  get aborted(): boolean {
    return this.done;
  }

  forward(
    endpoint: Endpoint,
    edits?: HeaderEdits,
    opts?: { readonly deadlineMs?: number | undefined },
  ): Promise<ForwardResult> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      if (this.done) {
        this.finish();
        return;
      }
      this.endpoint = endpointKey(endpoint);
      const up = this.down.relay.upstream(endpoint);
      if (up === undefined) {
        this.fail(GrpcStatus.UNAVAILABLE, 502, `${this.endpoint} is unavailable`);
        return;
      }
      const out: HeaderField[] = [];
      const set = edits?.set;
      const remove = edits?.remove;
      let authority = false;
      for (const f of this.fields) {
        const n = f[0];
        if (n === ":authority") authority = true;
        if (isHopByHop(n, f[1]) || remove?.includes(n) || (set !== undefined && n in set)) {
          continue;
        }
        out.push(f);
      }
      if (!authority && typeof this.headers.host === "string") {
        out.unshift([":authority", this.headers.host]);
      }
      if (set !== undefined) for (const n in set) out.push([n, set[n] as string]);
      // deadline: grpc-timeout and the router's, the earlier wins; enforced and propagated
      const grpcTimeout = parseGrpcTimeout(this.headers["grpc-timeout"] as string | undefined);
      const routerMs = opts?.deadlineMs;
      const budget =
        grpcTimeout === undefined
          ? routerMs
          : routerMs === undefined
            ? grpcTimeout
            : Math.min(grpcTimeout, routerMs);
      if (budget !== undefined) {
        const remaining = budget - (performance.now() - this.startedAt);
        if (this.isGrpc || grpcTimeout !== undefined) {
          for (let i = 0; i < out.length; i++) {
            if ((out[i] as HeaderField)[0] === "grpc-timeout") out.splice(i--, 1);
          }
          out.push(["grpc-timeout", encodeGrpcTimeout(remaining)]);
        }
        this.deadlineMs = Math.round(budget);
        this.timer = setTimeout(onDeadline, Math.max(0, remaining), this);
      }
      this.up = up;
      this.upId = up.open(this);
      this.toUp = new Half(up.conn.peerInitialWindow);
      const endStream = this.reqEnded && this.early.length === 0 && !this.earlyTrailers;
      up.conn.headers(this.upId, out, endStream);
      if (endStream) this.toUp.ended = true;
      const early = this.early;
      this.early = [];
      for (const p of early) this.queueUp(p);
      if (this.earlyTrailers) this.queueUpTrailers(this.earlyTrailers);
    });
  }

  respondError(e: LocalError): void {
    if (this.done || this.responded) return;
    this.fail(e.grpcStatus, e.httpStatus, e.message);
  }

  /** Answers locally: trailers-only gRPC error, or an HTTP error status (no body). */
  fail(grpcStatus: number, httpStatus: number, message: string): void {
    this.responded = true;
    const fields: HeaderField[] = this.isGrpc
      ? [
          [":status", "200"],
          ["content-type", "application/grpc"],
          ["grpc-status", String(grpcStatus)],
          ["grpc-message", encodeGrpcMessage(message)],
          ["l5d-err", encodeURIComponent(message)],
        ]
      : [
          [":status", String(httpStatus)],
          ["content-type", "text/plain; charset=utf-8"],
          ["l5d-err", encodeURIComponent(message)],
        ];
    this.status = this.isGrpc ? 200 : httpStatus;
    if (this.isGrpc) this.grpcStatus = grpcStatus;
    this.error ??= new Error(message);
    if (this.isGrpc) {
      this.down.conn.headers(this.id, fields, true);
      this.toDown.ended = true;
    } else {
      // the message as a text body, within the client's windows (a few hundred bytes)
      this.down.conn.headers(this.id, fields, false);
      this.toDown.queue = [{ data: Buffer.from(`${message}\n`), end: true, flowLen: 0 }];
      this.toDown.tail = undefined;
      flush(this.toDown, this.down.conn, this.id, this.down.conn, 0);
      this.toDown.ended = true;
    }
    if (this.upId !== 0 && this.up !== undefined) this.up.conn.rstStream(this.upId, CANCEL);
    if (!this.reqEnded) this.down.conn.rstStream(this.id, 0);
    this.finish();
  }

  toUpDone(): boolean {
    return this.toUp === undefined || this.toUp.ended;
  }

  // ---- request direction ----

  onReqData(data: Buffer, end: boolean, flowLen: number): void {
    this.bytesIn += data.length;
    if (end) this.reqEnded = true;
    const p = { data, end, flowLen };
    if (this.up === undefined) this.early.push(p);
    else this.queueUp(p);
  }

  onReqTrailers(fields: HeaderField[]): void {
    this.reqEnded = true;
    if (this.up === undefined) this.earlyTrailers = fields;
    else this.queueUpTrailers(fields);
  }

  queueUp(p: Pending): void {
    (this.toUp as Half).queue.push(p);
    this.flushUp();
  }

  queueUpTrailers(fields: HeaderField[]): void {
    const out = fields.filter((f) => !isHopByHop(f[0], f[1]));
    (this.toUp as Half).tail = out;
    this.flushUp();
  }

  flushUp(): void {
    const half = this.toUp;
    const up = this.up;
    if (half === undefined || up === undefined || half.ended) return;
    flush(half, up.conn, this.upId, this.down.conn, this.id);
    if (half.ended) this.maybeDone();
  }

  // ---- response direction ----

  onRespHeaders(fields: HeaderField[], end: boolean): void {
    if (this.done) return;
    const out = fields.filter((f) => !isHopByHop(f[0], f[1]));
    if (!this.responded) {
      for (const [n, v] of fields) if (n === ":status") this.status = Number(v);
      if (this.status >= 100 && this.status < 200) {
        this.down.conn.headers(this.id, out, false);
        return;
      }
      this.responded = true;
      if (end) this.readGrpcStatus(fields);
      if (end) this.toDown.ended = true;
      this.down.conn.headers(this.id, out, end);
      if (end) this.maybeDone();
      return;
    }
    this.readGrpcStatus(fields);
    this.toDown.tail = out;
    this.flushDown();
  }

  readGrpcStatus(fields: HeaderField[]): void {
    for (const [n, v] of fields) if (n === "grpc-status") this.grpcStatus = Number(v);
  }

  onRespData(data: Buffer, end: boolean, flowLen: number): void {
    this.bytesOut += data.length;
    this.toDown.queue.push({ data, end, flowLen });
    this.flushDown();
  }

  flushDown(): void {
    const half = this.toDown;
    const up = this.up;
    if (half.ended || up === undefined) return;
    flush(half, this.down.conn, this.id, up.conn, this.upId);
    if (half.ended) this.maybeDone();
  }

  // ---- endings ----

  maybeDone(): void {
    if (this.toDown.ended && this.toUpDone()) this.finish();
  }

  onDownReset(code: number): void {
    if (this.done) return;
    this.reset = code;
    if (this.up !== undefined && this.upId !== 0) this.up.conn.rstStream(this.upId, CANCEL);
    this.finish();
  }

  onUpReset(code: number): void {
    if (this.done) return;
    if (this.toDown.ended) {
      // the response is complete: the upstream stops the request (NO_ERROR); tell the client so
      if (!this.toUpDone()) this.down.conn.rstStream(this.id, code);
      this.finish();
      return;
    }
    if (!this.responded) {
      this.fail(
        grpcStatusForRstCode(code),
        code === REFUSED_STREAM ? 503 : 502,
        `${this.endpoint} reset the stream (${rstName(code)})`,
      );
      return;
    }
    this.error = new Error(`${this.endpoint} reset the stream (${rstName(code)})`);
    this.reset = code === 0 ? INTERNAL_ERROR : code;
    this.down.conn.rstStream(this.id, this.reset);
    this.finish();
  }

  onUpLost(): void {
    if (this.done) return;
    if (!this.responded) {
      this.fail(GrpcStatus.UNAVAILABLE, 502, `${this.endpoint}: connection lost`);
      return;
    }
    this.error = new Error(`${this.endpoint}: connection lost`);
    this.reset = INTERNAL_ERROR;
    this.down.conn.rstStream(this.id, INTERNAL_ERROR);
    this.finish();
  }

  /** The deadline expired: cancel upstream; DEADLINE_EXCEEDED to the client (in trailers if the response started). */
  onDeadline(): void {
    this.timer = undefined;
    if (this.done) return;
    const message = `deadline exceeded after ${this.deadlineMs} ms waiting for ${this.endpoint}`;
    if (!this.responded) {
      this.fail(GrpcStatus.DEADLINE_EXCEEDED, 504, message);
      return;
    }
    this.error = new Error(message);
    if (this.up !== undefined && this.upId !== 0) this.up.conn.rstStream(this.upId, CANCEL);
    this.up?.streams.delete(this.upId);
    if (this.isGrpc && !this.toDown.ended) {
      // what was received goes out, then trailers with grpc-status 4
      this.grpcStatus = GrpcStatus.DEADLINE_EXCEEDED;
      for (const p of this.toDown.queue) p.end = false;
      this.toDown.tail = [
        ["grpc-status", String(GrpcStatus.DEADLINE_EXCEEDED)],
        ["grpc-message", encodeGrpcMessage(message)],
      ];
      this.flushDown();
      if (!this.toDown.ended) return; // the trailers wait for window; maybeDone() follows them
      if (!this.toUpDone()) this.down.conn.rstStream(this.id, 0);
      this.finish();
      return;
    }
    this.reset = CANCEL;
    this.down.conn.rstStream(this.id, CANCEL);
    this.finish();
  }

  finish(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.done) {
      this.done = true;
      this.down.streams.delete(this.id);
      this.up?.streams.delete(this.upId);
      this.down.relay.streams--;
    }
    const resolve = this.resolve;
    if (resolve === undefined) return;
    this.resolve = undefined;
    resolve({
      status: this.status,
      grpcStatus: this.grpcStatus,
      error: this.error,
      reset: this.reset,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      durationMs: performance.now() - this.startedAt,
      endpoint: this.endpoint,
      retried: false,
    });
  }
}

function onDeadline(s: RelayStream): void {
  s.onDeadline();
}

/**
 * Sends a half's queued DATA (and then its trailers) as far as the receiver's stream and
 * connection windows allow; the bytes sent are given back to the sender as window.
 */
function flush(half: Half, to: FrameConn, toId: number, from: FrameConn, fromId: number): void {
  const q = half.queue;
  while (q.length > 0) {
    const p = q[0] as Pending;
    const allowed = Math.min(half.window, to.sendWindow, to.peerMaxFrame);
    if (p.data.length > allowed) {
      if (allowed <= 0) return;
      // split: send what fits now
      const head = p.data.subarray(0, allowed);
      p.data = p.data.subarray(allowed);
      half.window -= allowed;
      to.sendWindow -= allowed;
      to.frame(FrameType.DATA, 0, toId, head);
      continue;
    }
    q.shift();
    half.window -= p.data.length;
    to.sendWindow -= p.data.length;
    const end = p.end && half.tail === undefined;
    if (p.data.length > 0 || end) to.frame(FrameType.DATA, end ? Flag.END_STREAM : 0, toId, p.data);
    // the sender's window: its bytes are now written to the other side
    if (p.flowLen > 0) {
      from.consumed(p.flowLen);
      if (!p.end) from.windowUpdate(fromId, p.flowLen);
    }
    if (end) {
      half.ended = true;
      return;
    }
  }
  if (half.tail !== undefined) {
    to.headers(toId, half.tail, true);
    half.tail = undefined;
    half.ended = true;
  }
}

class DownConn implements FrameHandler {
  readonly streams = new Map<number, RelayStream>();
  readonly conn: FrameConn;
  lastId = 0;

  constructor(
    readonly relay: Relay,
    socket: Socket,
  ) {
    this.conn = new FrameConn(socket, 24);
    this.conn.handler = this;
    this.conn.settings([[2, 0]]);
  }

  onHeaders(id: number, fields: HeaderField[], endStream: boolean): void {
    const s = this.streams.get(id);
    if (s !== undefined) {
      s.onReqTrailers(fields);
      return;
    }
    if (id <= this.lastId || id % 2 === 0) return; // trailers of a finished stream, or bogus
    this.lastId = id;
    const st = new RelayStream(this, id, fields, endStream);
    this.streams.set(id, st);
    this.relay.streams++;
    try {
      this.relay.onRequest(st);
    } catch (e) {
      st.fail(GrpcStatus.INTERNAL, 500, `router failed: ${(e as Error).message}`);
    }
  }

  onData(id: number, data: Buffer, endStream: boolean, flowLen: number): void {
    const s = this.streams.get(id);
    if (s === undefined) {
      this.conn.consumed(flowLen);
      return;
    }
    s.onReqData(data, endStream, flowLen);
  }

  onRstStream(id: number, code: number): void {
    this.streams.get(id)?.onDownReset(code);
  }

  onWindow(id: number, delta: number): void {
    if (id !== 0) {
      const s = this.streams.get(id);
      if (s === undefined) return;
      s.toDown.window += delta;
      s.flushDown();
      return;
    }
    for (const s of this.streams.values()) {
      s.toDown.window += delta;
      s.flushDown();
    }
  }

  onGoaway(): void {
    // the client will open no new streams; existing ones finish
  }

  onClose(): void {
    this.relay.conns.delete(this);
    for (const s of [...this.streams.values()]) s.onDownReset(CANCEL);
  }
}

class UpConn implements FrameHandler {
  readonly streams = new Map<number, RelayStream>();
  readonly conn: FrameConn;
  nextId = 1;
  goingAway = false;

  constructor(
    readonly relay: Relay,
    readonly key: string,
    ep: Endpoint,
  ) {
    const socket = netConnect({ host: ep.host, port: ep.port, noDelay: true });
    this.conn = new FrameConn(socket, 0);
    this.conn.handler = this;
    socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    this.conn.settings([[2, 0]]);
  }

  open(s: RelayStream): number {
    const id = this.nextId;
    this.nextId += 2;
    this.streams.set(id, s);
    if (this.nextId > 0x7fff0000) this.goingAway = true;
    return id;
  }

  onHeaders(id: number, fields: HeaderField[], endStream: boolean): void {
    this.streams.get(id)?.onRespHeaders(fields, endStream);
  }

  onData(id: number, data: Buffer, endStream: boolean, flowLen: number): void {
    const s = this.streams.get(id);
    if (s === undefined) {
      this.conn.consumed(flowLen);
      return;
    }
    s.onRespData(data, endStream, flowLen);
  }

  onRstStream(id: number, code: number): void {
    this.streams.get(id)?.onUpReset(code);
  }

  onWindow(id: number, delta: number): void {
    if (id !== 0) {
      const s = this.streams.get(id);
      if (s?.toUp === undefined) return;
      s.toUp.window += delta;
      s.flushUp();
      return;
    }
    for (const s of this.streams.values()) {
      if (s.toUp === undefined) continue;
      s.toUp.window += delta;
      s.flushUp();
    }
  }

  onGoaway(lastStreamId: number): void {
    this.goingAway = true;
    if (this.relay.ups.get(this.key) === this) this.relay.ups.delete(this.key);
    for (const [id, s] of [...this.streams]) if (id > lastStreamId) s.onUpReset(REFUSED_STREAM);
    if (this.streams.size === 0) this.conn.destroy();
  }

  onClose(): void {
    if (this.relay.ups.get(this.key) === this) this.relay.ups.delete(this.key);
    for (const s of [...this.streams.values()]) s.onUpLost();
  }
}

class Relay {
  readonly conns = new Set<DownConn>();
  readonly ups = new Map<string, UpConn>();
  streams = 0;
  constructor(readonly onRequest: (req: RelayRequest) => void) {}

  upstream(ep: Endpoint): UpConn | undefined {
    const key = endpointKey(ep);
    let up = this.ups.get(key);
    if (up === undefined || up.goingAway || up.conn.closed) {
      up = new UpConn(this, key, ep);
      this.ups.set(key, up);
    }
    return up;
  }
}

/** Starts the frame-level relay server (h2c prior knowledge only). */
export async function startRelayServer(opts: RelayServerOptions): Promise<RelayServer> {
  const relay = new Relay(opts.onRequest);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    relay.conns.add(new DownConn(relay, socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  return {
    host: opts.host,
    port: typeof addr === "object" && addr !== null ? addr.port : opts.port,
    get connections() {
      return sockets.size;
    },
    get streams() {
      return relay.streams;
    },
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const c of relay.conns) c.conn.destroy();
        for (const u of relay.ups.values()) u.conn.destroy();
        for (const s of sockets) s.destroy();
      });
    },
  };
}

export { DEFAULT_WINDOW };
