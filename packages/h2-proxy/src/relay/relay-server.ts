/**
 * The frame-level relay (issue #9; the daemon's default data plane): HTTP/2 on raw sockets, no node:http2 stream
 * objects. Each downstream connection is parsed frame by frame; a request's header block is
 * decoded (full HPACK) into the headers the router reads, and `forward` re-encodes it (literal
 * fields, edits applied) as a new stream on a shared upstream connection per endpoint. DATA
 * frames are passed through with flow-control accounting in both directions: window is given back
 * to a sender only once its bytes were written to the other side, and a receiver's window is
 * never overrun (DATA waits in a per-stream queue). Trailers are forwarded, RST_STREAM is mapped
 * both ways, SETTINGS/PING are answered, GOAWAY stops new streams on a connection.
 *
 * Deadlines (`grpc-timeout`, the router's `deadlineMs`) are enforced and propagated.
 * Unprocessed requests are requeued and the router's retries run on held responses
 * (`relay-stream.ts`, `relay-exchange.ts`); connect backoff per endpoint is in `upstream.ts`.
 * Per-connection limits (streams, windows, header list size), a liveness PING sweep and a
 * graceful close are in `DownConn` / `startRelayServer`; h2c Upgrade in the acceptor shared with
 * the node:http2 plane (`../dataplane/accept-connection.ts`). PRIORITY
 * frames are ignored.
 */
import { createServer, type Server, type Socket } from "node:net";
import {
  ConnectionError,
  DEFAULT_WINDOW,
  ErrorCode,
  Flood,
  FrameConn,
  type FrameHandler,
  type H2Limits,
  type HeaderField,
  headerListSize,
  type LimitName,
  MAX_WINDOW,
  resolveLimits,
  SettingsId,
} from "@l5d/h2";
import { acceptConnection } from "../dataplane/accept-connection.js";
import { GrpcStatus } from "../dataplane/errors.js";
import { type RelayRequest, RelayStream } from "./relay-stream.js";
import { Relay } from "./upstream.js";

export type { RelayRequest } from "./relay-stream.js";

export interface RelayServerOptions {
  readonly host: string;
  readonly port: number;
  readonly onRequest: (req: RelayRequest) => void;
  /**
   * Concurrent streams per client connection, advertised (SETTINGS_MAX_CONCURRENT_STREAMS) and
   * enforced: a stream above it gets RST_STREAM(REFUSED_STREAM), safe for the client to retry.
   * Linkerd 1.5.1+ `maxConcurrentStreamsPerConnection`: 1000.
   */
  readonly maxConcurrentStreams?: number | undefined;
  /** Per-stream receive window advertised to clients (Linkerd `initialStreamWindowBytes`): 65,535. */
  readonly initialWindowSize?: number | undefined;
  /** Connection-level receive window given to clients. Default 1 MiB (as the node:http2 plane). */
  readonly connectionWindowSize?: number | undefined;
  /**
   * SETTINGS_MAX_HEADER_LIST_SIZE advertised and enforced (RFC 7541 size: name + value + 32
   * per field). A request over it is answered locally (gRPC RESOURCE_EXHAUSTED, else HTTP 431);
   * the connection stays up. Trailers count against it too (over it: the stream is failed).
   * Checked while the block is decoded (an HPACK bomb stops at the limit). Also the bound on
   * upstream responses' header lists. Default 64 KiB (no looser than common backends).
   */
  readonly maxHeaderListSize?: number | undefined;
  /**
   * Abuse limits of every connection, client and upstream side alike (`@l5d/h2` `H2Limits`:
   * flood rates, CONTINUATION count, header fields, control-frame queue); unset keys default.
   * `maxHeaderListBytes` is `maxHeaderListSize`.
   */
  readonly limits?:
    | { readonly [K in Exclude<keyof H2Limits, "maxHeaderListBytes">]?: number | undefined }
    | undefined;
  /** A client connection must send its preface and SETTINGS within this, else it is closed. Default 10 s. */
  readonly prefaceTimeoutMs?: number | undefined;
  /** A client connection with no open stream for this long is closed (GOAWAY). Default 180 s; 0: never. */
  readonly idleTimeoutMs?: number | undefined;
  /** A stream with no frames in either direction for this long is reset. Default 0: off. */
  readonly streamIdleTimeoutMs?: number | undefined;
  /** Open client connections at most; a connection over it is closed at accept. Default 10,000. */
  readonly maxConnections?: number | undefined;
  /**
   * A limit fired (once per event: the offending connection was closed, or the stream reset):
   * `side` says whether a client connection or an upstream one crossed it.
   */
  readonly onLimit?: ((name: LimitName, detail: string, side: LimitSide) => void) | undefined;
  /**
   * Interval of the liveness sweep: every client connection is PINGed, and destroyed when the
   * previous sweep's PING is still unanswered. Default 10 s.
   */
  readonly livenessCheckMs?: number | undefined;
  /**
   * Upstream connect timeout: the TCP connect and the server's SETTINGS must arrive within it,
   * else the connect failed (connect backoff; the waiting requests are unprocessed and requeued).
   * Default 3 s, as the node:http2 plane's `UpstreamPool` `connectTimeoutMs`.
   */
  readonly connectTimeoutMs?: number | undefined;
}

export interface RelayServer {
  readonly host: string;
  readonly port: number;
  /** Open downstream connections. */
  readonly connections: number;
  /** Open relayed streams. */
  readonly streams: number;
  /**
   * Graceful close (the `ProxyServer.close` contract): stop accepting, GOAWAY (last stream id)
   * on every client connection, let in-flight streams finish for up to `graceMs` (default 10 s),
   * then destroy what is left; upstream connections are closed after.
   */
  close(graceMs?: number): Promise<void>;
}

/** Which side's connection crossed a limit. */
export type LimitSide = "client" | "upstream";

/** Per-server limits every downstream connection shares. */
export interface DownLimits {
  readonly maxStreams: number;
  readonly initialWindow: number;
  readonly connectionWindow: number;
  readonly maxHeaderList: number;
  readonly h2: H2Limits;
}

/** Default `prefaceTimeoutMs`, `idleTimeoutMs`, `maxConnections` (README: config reference). */
export const PREFACE_TIMEOUT_MS = 10_000;
export const IDLE_TIMEOUT_MS = 180_000;
export const MAX_CONNECTIONS = 10_000;

export class DownConn implements FrameHandler {
  readonly streams = new Map<number, RelayStream>();
  readonly conn: FrameConn;
  lastId = 0;
  /** GOAWAY sent (graceful close): new streams are refused. */
  draining = false;
  /** Idle timeout: since when the sweep saw no open stream (0: busy), and the last id it saw. */
  idleSince = 0;
  idleLastId = 0;
  /** Stream idle timeout: per stream, its byte count when last seen moving, and since when. */
  streamMarks: Map<number, { mark: number; since: number }> | undefined;

  constructor(
    readonly relay: Relay,
    socket: Socket,
    readonly limits: DownLimits,
  ) {
    this.conn = new FrameConn(socket, 24);
    this.conn.handler = this;
    this.conn.setLimits(limits.h2);
    this.conn.onLimit = relay.onLimit === undefined ? undefined : this.#onLimit;
    // no push; our stream limit, per-stream window and header list size (RFC 9113 §6.5.2)
    this.conn.settings([
      [SettingsId.ENABLE_PUSH, 0],
      [SettingsId.MAX_CONCURRENT_STREAMS, limits.maxStreams],
      [SettingsId.INITIAL_WINDOW_SIZE, limits.initialWindow],
      [SettingsId.MAX_HEADER_LIST_SIZE, limits.maxHeaderList],
    ]);
    // a compressed block cannot be much bigger than its decoded list: cap the buffered block
    this.conn.maxBlockBytes = limits.maxHeaderList + 16_384;
    if (limits.connectionWindow > DEFAULT_WINDOW) {
      this.conn.windowUpdate(0, limits.connectionWindow - DEFAULT_WINDOW);
    }
  }

  readonly #onLimit = (name: LimitName, detail: string): void => {
    const a = this.conn.socket;
    this.relay.onLimit?.(name, `${detail} (client ${a.remoteAddress}:${a.remotePort})`, "client");
  };

  onHeaders(id: number, fields: HeaderField[], endStream: boolean): void {
    const s = this.streams.get(id);
    if (s !== undefined) {
      if (this.#overLimit(fields)) {
        // trailers count against the header list limit too
        const size = headerListSize(fields);
        const msg = `request trailers of ${fields.length} fields, ${size} bytes are over maxHeaderListSize (${this.limits.maxHeaderList})`;
        this.#onLimit("header_list", msg);
        if (!s.responded) s.fail(GrpcStatus.RESOURCE_EXHAUSTED, 431, msg);
        else {
          s.error ??= new Error(msg);
          this.conn.rstStream(id, ErrorCode.CANCEL);
          s.onDownReset(ErrorCode.CANCEL);
        }
        return;
      }
      s.onReqTrailers(fields);
      return;
    }
    if (id % 2 === 0)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on even stream ${id}`);
    if (id <= this.lastId) return; // trailers of a finished stream
    this.lastId = id;
    this.conn.lastPeerStream = id;
    if (this.draining || this.streams.size >= this.limits.maxStreams) {
      // refused streams count with the client's resets (rapid reset, CVE-2023-44487)
      this.conn.guard.count(Flood.RESETS);
      this.conn.rstStream(id, ErrorCode.REFUSED_STREAM);
      return;
    }
    const st = new RelayStream(this, id, fields, endStream);
    this.streams.set(id, st);
    this.relay.streams++;
    if (this.#overLimit(fields)) {
      const size = headerListSize(fields);
      st.fail(
        GrpcStatus.RESOURCE_EXHAUSTED,
        431,
        fields.length > this.limits.h2.maxHeaderFields
          ? `request header list of over ${this.limits.h2.maxHeaderFields} fields is over maxHeaderFields`
          : `request header list of ${size} bytes is over maxHeaderListSize (${this.limits.maxHeaderList})`,
      );
      return;
    }
    // routed once the rest of this read is parsed: a stream the client resets in the same read
    // (rapid reset, CVE-2023-44487) never reaches an upstream (whose own reset limits would
    // otherwise close the connection every client shares)
    this.#toRoute.push(st);
    if (this.#toRoute.length === 1) queueMicrotask(this.#route);
  }

  readonly #toRoute: RelayStream[] = [];
  readonly #route = (): void => {
    const list = this.#toRoute;
    // bounded: the streams of one read (at most maxConcurrentStreams)
    for (let i = 0; i < list.length; i++) {
      const st = list[i] as RelayStream;
      if (st.done) continue;
      try {
        this.relay.onRequest(st);
      } catch (e) {
        st.fail(GrpcStatus.INTERNAL, 500, `router failed: ${(e as Error).message}`);
      }
    }
    list.length = 0;
  };

  #overLimit(fields: HeaderField[]): boolean {
    return (
      fields.length > this.limits.h2.maxHeaderFields ||
      headerListSize(fields) > this.limits.maxHeaderList
    );
  }

  onData(id: number, data: Buffer, endStream: boolean, flowLen: number): void {
    const s = this.streams.get(id);
    if (s === undefined) {
      // RFC 9113 §5.1: DATA on an idle stream is a connection error; on a closed one, dropped
      if (id > this.lastId || id % 2 === 0)
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      this.conn.consumed(flowLen);
      return;
    }
    s.onReqData(data, endStream, flowLen);
  }

  onRstStream(id: number, code: number): void {
    if (id > this.lastId || id % 2 === 0)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
    this.streams.get(id)?.onDownReset(code);
  }

  onWindow(id: number, delta: number): void {
    if (id !== 0) {
      const s = this.streams.get(id);
      if (s === undefined) return;
      if (s.toDown.window + delta > MAX_WINDOW) {
        // a stream error (RFC 9113 §6.9.1): that stream is reset, the connection goes on
        this.conn.guard.count(Flood.STREAM_ERRORS);
        this.conn.rstStream(id, ErrorCode.FLOW_CONTROL_ERROR);
        s.onDownReset(ErrorCode.FLOW_CONTROL_ERROR);
        return;
      }
      s.toDown.window += delta;
      s.flushDown();
      return;
    }
    // a new SETTINGS_INITIAL_WINDOW_SIZE: a window it takes past 2^31-1 is a connection error
    if (delta > 0) {
      for (const s of this.streams.values()) {
        if (s.toDown.window + delta > MAX_WINDOW) {
          throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "stream window over 2^31-1");
        }
      }
    }
    for (const s of this.streams.values()) {
      s.toDown.window += delta;
      s.flushDown();
    }
  }

  onGoaway(): void {
    // the client will open no new streams; existing ones finish
  }

  /** Graceful close, first step: GOAWAY(NO_ERROR) naming the last stream we will serve. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.conn.goaway(this.lastId, 0);
  }

  onClose(): void {
    this.relay.conns.delete(this);
    for (const s of [...this.streams.values()]) s.onDownReset(ErrorCode.CANCEL);
  }
}

/** Starts the frame-level relay server: h2c with prior knowledge or HTTP/1.1 `Upgrade: h2c`. */
export async function startRelayServer(opts: RelayServerOptions): Promise<RelayServer> {
  const relay = new Relay(opts.onRequest, opts.connectTimeoutMs);
  const maxHeaderList = opts.maxHeaderListSize ?? 64 * 1024;
  const h2 = resolveLimits({ ...opts.limits, maxHeaderListBytes: maxHeaderList });
  const limits: DownLimits = {
    maxStreams: opts.maxConcurrentStreams ?? 1000,
    initialWindow: opts.initialWindowSize ?? DEFAULT_WINDOW,
    connectionWindow: opts.connectionWindowSize ?? 1 << 20,
    maxHeaderList,
    h2,
  };
  relay.h2Limits = h2;
  relay.onLimit = opts.onLimit;
  const onLimit = opts.onLimit ?? noop;
  const prefaceMs = opts.prefaceTimeoutMs ?? PREFACE_TIMEOUT_MS;
  const idleMs = opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  const streamIdleMs = opts.streamIdleTimeoutMs ?? 0;
  const maxConnections = opts.maxConnections ?? MAX_CONNECTIONS;
  const sockets = new Set<Socket>();
  /** The HTTP/2 connection a socket became (for the preface timeout). */
  const h2Of = new WeakMap<Socket, DownConn>();
  let closing: Promise<void> | undefined;
  // HTTP/2 starts here: at once (prior knowledge), or after an HTTP/1.1 `Upgrade: h2c`
  const toH2 = (socket: Socket): void => {
    if (closing !== undefined || socket.destroyed) {
      socket.destroy();
      return;
    }
    const c = new DownConn(relay, socket, limits);
    h2Of.set(socket, c);
    relay.conns.add(c);
    socket.resume();
  };
  // a socket that has not sent its preface and SETTINGS in time is closed
  const prefaceExpired = (socket: Socket): void => {
    const c = h2Of.get(socket);
    if (socket.destroyed || c?.conn.settingsReceived === true) return;
    onLimit(
      "preface_timeout",
      `no HTTP/2 preface and SETTINGS within ${prefaceMs} ms (client ${socket.remoteAddress}:${socket.remotePort})`,
      "client",
    );
    if (c === undefined) socket.destroy();
    else {
      c.conn.goaway(0, ErrorCode.PROTOCOL_ERROR);
      c.conn.end(new Error("preface timeout"));
    }
  };
  const server: Server = createServer((socket) => {
    socket.on("error", noop);
    if (sockets.size >= maxConnections) {
      // refused at accept: nothing is read, nothing allocated for it
      onLimit(
        "connections",
        `maxConnections (${maxConnections}) reached: refused ${socket.remoteAddress}:${socket.remotePort}`,
        "client",
      );
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    sockets.add(socket);
    const timer = setTimeout(prefaceExpired, prefaceMs, socket);
    timer.unref();
    socket.once("close", () => {
      clearTimeout(timer);
      sockets.delete(socket);
    });
    acceptConnection(socket, toH2);
  });
  // idle connections and idle streams: checked by one sweep, at a quarter of the shorter timeout
  const tick = Math.max(50, Math.min(1_000, Math.min(idleMs || 4e3, streamIdleMs || 4e3) / 4));
  const timeouts =
    idleMs > 0 || streamIdleMs > 0
      ? setInterval(() => sweepTimeouts(relay, idleMs, streamIdleMs, onLimit), tick)
      : undefined;
  timeouts?.unref();
  // liveness: a client that does not answer a PING within one interval is gone
  const sweep = setInterval(() => {
    for (const c of relay.conns) {
      if (c.conn.closed) continue;
      if (c.conn.pingOutstanding) c.conn.destroy(new Error("liveness PING unanswered"));
      else c.conn.ping();
    }
  }, opts.livenessCheckMs ?? 10_000);
  sweep.unref();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
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
    close(graceMs = 10_000) {
      closing ??= (async () => {
        const closed = new Promise<void>((r) => server.close(() => r()));
        clearInterval(sweep);
        clearInterval(timeouts);
        // sockets not yet speaking HTTP/2 (classifying, upgrading) have nothing in flight
        const h2 = new Set<Socket>();
        for (const c of relay.conns) h2.add(c.conn.socket);
        for (const s of sockets) if (!h2.has(s)) s.destroy();
        for (const c of relay.conns) c.drain();
        // bounded: at most graceMs / 10 rounds
        const deadline = Date.now() + graceMs;
        for (;;) {
          // a drained connection with nothing in flight is done: end it (its GOAWAY flushed)
          for (const c of relay.conns) if (c.streams.size === 0) c.conn.end();
          if (relay.conns.size === 0 || Date.now() >= deadline) break;
          await sleep(10);
        }
        for (const c of relay.conns) c.conn.destroy();
        for (const u of relay.ups.values()) u.conn.destroy();
        // ended sockets close when the client answers our FIN; a little time for that, bounded
        for (let i = 0; i < 20 && sockets.size > 0; i++) await sleep(5);
        for (const s of sockets) s.destroy();
        await closed;
        // 'close' of a destroyed socket comes a tick later: `connections` reads 0 when we return
        for (let i = 0; i < 200 && sockets.size > 0; i++) await sleep(5);
      })();
      return closing;
    },
  };
}

function noop(): void {}

/**
 * The idle timeouts, once per sweep: a connection with no open stream and no new one since the
 * last sweep for `idleMs` gets GOAWAY and is closed; a stream whose byte counts did not move for
 * `streamIdleMs` is reset (Linkerd issue #2320).
 */
function sweepTimeouts(
  relay: Relay,
  idleMs: number,
  streamIdleMs: number,
  onLimit: (name: LimitName, detail: string, side: LimitSide) => void,
): void {
  const now = performance.now();
  for (const c of relay.conns) {
    if (c.conn.closed) continue;
    if (idleMs > 0) {
      if (c.streams.size > 0 || c.lastId !== c.idleLastId) {
        c.idleSince = 0;
        c.idleLastId = c.lastId;
      } else if (c.idleSince === 0) c.idleSince = now;
      else if (now - c.idleSince >= idleMs) {
        const a = c.conn.socket;
        onLimit(
          "idle_timeout",
          `no open stream for ${idleMs} ms (client ${a.remoteAddress}:${a.remotePort})`,
          "client",
        );
        c.drain();
        c.conn.end();
        continue;
      }
    }
    if (streamIdleMs > 0 && c.streams.size > 0) sweepStreams(c, now, streamIdleMs, onLimit);
    else c.streamMarks = undefined;
  }
}

function sweepStreams(
  c: DownConn,
  now: number,
  streamIdleMs: number,
  onLimit: (name: LimitName, detail: string, side: LimitSide) => void,
): void {
  let marks = c.streamMarks;
  if (marks === undefined) {
    marks = new Map();
    c.streamMarks = marks;
  }
  for (const id of marks.keys()) if (!c.streams.has(id)) marks.delete(id);
  for (const [id, s] of c.streams) {
    const mark = s.bytesIn + s.bytesOut;
    const m = marks.get(id);
    if (m === undefined || m.mark !== mark) {
      if (m === undefined) marks.set(id, { mark, since: now });
      else {
        m.mark = mark;
        m.since = now;
      }
      continue;
    }
    if (now - m.since < streamIdleMs) continue;
    marks.delete(id);
    const msg = `stream idle for ${streamIdleMs} ms (no frames either way)`;
    const a = c.conn.socket;
    onLimit(
      "stream_idle_timeout",
      `${msg} (client ${a.remoteAddress}:${a.remotePort}, stream ${id})`,
      "client",
    );
    if (!s.responded) s.fail(GrpcStatus.DEADLINE_EXCEEDED, 504, msg);
    else {
      s.error ??= new Error(msg);
      c.conn.rstStream(id, ErrorCode.CANCEL);
      s.onDownReset(ErrorCode.CANCEL);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { DEFAULT_WINDOW };
