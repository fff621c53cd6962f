/**
 * The frame-level relay (issue #9; the daemon's data plane): HTTP/2 on raw sockets, no node:http2 stream
 * objects. Each downstream connection is parsed frame by frame; a request's header block is
 * decoded (full HPACK) into the header list the router reads, and each attempt of its exchange
 * re-encodes it (edits applied) as a new stream on a shared upstream connection per endpoint. DATA
 * frames are passed through with flow-control accounting in both directions: window is given back
 * to a sender only once its bytes were written to the other side, and a receiver's window is
 * never overrun (DATA waits in a per-stream queue). Trailers are forwarded, RST_STREAM is mapped
 * both ways, SETTINGS/PING are answered, GOAWAY stops new streams on a connection.
 *
 * Deadlines (`grpc-timeout`, the router's `deadlineMs`) are enforced and propagated. The
 * router's loop requeues unprocessed attempts and retries held responses (`relay-stream.ts`,
 * `relay-exchange.ts`); connect backoff per endpoint and the draining of connections to
 * departed endpoints are in `upstream.ts`.
 * Per-connection limits (streams, windows, header list size), a liveness PING sweep and a
 * graceful close are in `DownConn` / `startRelayServer`; h2c Upgrade in the acceptor
 * (`../dataplane/accept-connection.ts`). PRIORITY frames are ignored.
 */
import { createServer, type Server, type Socket } from "node:net";
import { acceptConnection } from "../dataplane/accept-connection.js";
import { GrpcStatus } from "../dataplane/errors.js";
import {
  ConnectionError,
  DEFAULT_WINDOW,
  ErrorCode,
  FrameConn,
  type FrameHandler,
  MAX_WINDOW,
} from "./frame-conn.js";
import type { HeaderField } from "./hpack.js";
import { CANCEL, type RelayRequest, RelayStream } from "./relay-stream.js";
import { Relay, RelayUpstreams } from "./upstream.js";

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
  /** Connection-level receive window given to clients. Default 1 MiB. */
  readonly connectionWindowSize?: number | undefined;
  /**
   * SETTINGS_MAX_HEADER_LIST_SIZE advertised and enforced (RFC 7541 size: name + value + 32
   * per field). A request over it is answered locally (gRPC RESOURCE_EXHAUSTED, else HTTP 431);
   * the connection stays up. Default 256 KiB.
   */
  readonly maxHeaderListSize?: number | undefined;
  /**
   * Interval of the liveness sweep: every client connection is PINGed, and destroyed when the
   * previous sweep's PING is still unanswered. Default 10 s.
   */
  readonly livenessCheckMs?: number | undefined;
  /**
   * Upstream connect timeout: the TCP connect and the server's SETTINGS must arrive within it,
   * else the connect failed (connect backoff; the waiting requests are unprocessed and requeued).
   * Default 3 s (`CONNECT_TIMEOUT_MS`). Ignored when `upstreams` is given (it has its own).
   */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * The upstream connections, shared by a router's servers and steered by the router
   * (`RelayUpstreams`, the router's `Upstreams`); the caller closes it. Default: the server's
   * own, closed with it.
   */
  readonly upstreams?: RelayUpstreams | undefined;
}

export interface RelayServer {
  readonly host: string;
  readonly port: number;
  /** Open downstream connections. */
  readonly connections: number;
  /** Open relayed streams. */
  readonly streams: number;
  /**
   * Graceful close: stop accepting, GOAWAY (last stream id)
   * on every client connection, let in-flight streams finish for up to `graceMs` (default 10 s),
   * then destroy what is left; its own upstream connections are closed after (shared
   * `upstreams` are the caller's to close).
   */
  close(graceMs?: number): Promise<void>;
}

/** Per-server limits every downstream connection shares. */
export interface DownLimits {
  readonly maxStreams: number;
  readonly initialWindow: number;
  readonly connectionWindow: number;
  readonly maxHeaderList: number;
}

const REFUSED_STREAM = 7;

export class DownConn implements FrameHandler {
  readonly streams = new Map<number, RelayStream>();
  readonly conn: FrameConn;
  lastId = 0;
  /** GOAWAY sent (graceful close): new streams are refused. */
  draining = false;

  constructor(
    readonly relay: Relay,
    socket: Socket,
    readonly limits: DownLimits,
  ) {
    this.conn = new FrameConn(socket, 24);
    this.conn.handler = this;
    // no push; our stream limit, per-stream window and header list size (RFC 9113 §6.5.2)
    this.conn.settings([
      [2, 0],
      [3, limits.maxStreams],
      [4, limits.initialWindow],
      [6, limits.maxHeaderList],
    ]);
    // a compressed block cannot be much bigger than its decoded list: cap the buffered block
    this.conn.maxBlockBytes = limits.maxHeaderList + 16_384;
    if (limits.connectionWindow > DEFAULT_WINDOW) {
      this.conn.windowUpdate(0, limits.connectionWindow - DEFAULT_WINDOW);
    }
  }

  onHeaders(id: number, fields: HeaderField[], endStream: boolean): void {
    const s = this.streams.get(id);
    if (s !== undefined) {
      s.onReqTrailers(fields);
      return;
    }
    if (id % 2 === 0)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on even stream ${id}`);
    if (id <= this.lastId) return; // trailers of a finished stream
    this.lastId = id;
    this.conn.lastPeerStream = id;
    if (this.draining || this.streams.size >= this.limits.maxStreams) {
      this.conn.rstStream(id, REFUSED_STREAM);
      return;
    }
    const st = new RelayStream(this, id, fields, endStream);
    this.streams.set(id, st);
    this.relay.streams++;
    let size = 0;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as HeaderField;
      size += f[0].length + f[1].length + 32;
    }
    if (size > this.limits.maxHeaderList) {
      st.fail(
        GrpcStatus.RESOURCE_EXHAUSTED,
        431,
        `request header list of ${size} bytes is over maxHeaderListSize (${this.limits.maxHeaderList})`,
      );
      return;
    }
    try {
      this.relay.onRequest(st);
    } catch (e) {
      st.fail(GrpcStatus.INTERNAL, 500, `router failed: ${(e as Error).message}`);
    }
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
    for (const s of [...this.streams.values()]) s.onDownReset(CANCEL);
  }
}

/** Starts the frame-level relay server: h2c with prior knowledge or HTTP/1.1 `Upgrade: h2c`. */
export async function startRelayServer(opts: RelayServerOptions): Promise<RelayServer> {
  const owned = opts.upstreams === undefined;
  const relay = new Relay(
    opts.onRequest,
    opts.upstreams ?? new RelayUpstreams(opts.connectTimeoutMs),
  );
  const limits: DownLimits = {
    maxStreams: opts.maxConcurrentStreams ?? 1000,
    initialWindow: opts.initialWindowSize ?? DEFAULT_WINDOW,
    connectionWindow: opts.connectionWindowSize ?? 1 << 20,
    maxHeaderList: opts.maxHeaderListSize ?? 256 * 1024,
  };
  const sockets = new Set<Socket>();
  let closing: Promise<void> | undefined;
  // HTTP/2 starts here: at once (prior knowledge), or after an HTTP/1.1 `Upgrade: h2c`
  const toH2 = (socket: Socket): void => {
    if (closing !== undefined || socket.destroyed) {
      socket.destroy();
      return;
    }
    relay.conns.add(new DownConn(relay, socket, limits));
    socket.resume();
  };
  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", noop);
    acceptConnection(socket, toH2);
  });
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
        if (owned) relay.upstreams.close();
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { DEFAULT_WINDOW };
