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
 * the node:http2 plane (`../dataplane/accept-connection.ts`). RFC 9113 conformance of what
 * clients send: stream states (§5.1, `@l5d/h2` `stream-state.ts`), malformed requests (§8.1.1,
 * `header-validation.ts`: RST_STREAM(PROTOCOL_ERROR), never routed), content-length against
 * DATA. PRIORITY frames are validated (in `FrameConn`), then ignored.
 */
import { createServer, type Server, type Socket } from "node:net";
import {
  ConnectionError,
  checkRequestHeaders,
  checkTrailers,
  DEFAULT_WINDOW,
  ErrorCode,
  FrameConn,
  type FrameHandler,
  FrameType,
  type HeaderField,
  isConnectionError,
  MAX_WINDOW,
  type MessageInfo,
  PeerStreams,
  SettingsId,
  StreamState,
  streamStateName,
  Verdict,
  verdict,
  verdictCode,
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

/** Per-server limits every downstream connection shares. */
export interface DownLimits {
  readonly maxStreams: number;
  readonly initialWindow: number;
  readonly connectionWindow: number;
  readonly maxHeaderList: number;
}

export class DownConn implements FrameHandler {
  readonly streams = new Map<number, RelayStream>();
  readonly conn: FrameConn;
  /**
   * The client's streams beyond the open ones (RFC 9113 §5.1): the highest id opened (above:
   * idle), ids skipped, and how recent streams closed (`FrameConn` notes our RST_STREAMs).
   */
  readonly peer = new PeerStreams();
  lastId = 0;
  /** GOAWAY sent (graceful close): new streams are refused. */
  draining = false;
  /** What the request check learned (content-length); reused for every request. */
  readonly #info: MessageInfo = { contentLength: -1 };

  constructor(
    readonly relay: Relay,
    socket: Socket,
    readonly limits: DownLimits,
  ) {
    this.conn = new FrameConn(socket, 24);
    this.conn.handler = this;
    this.conn.peerStreams = this.peer;
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

  /** The RFC 9113 §5.1 state of an open stream as its receiving side sees it. */
  static stateOf(s: RelayStream): StreamState {
    return s.reqEnded ? StreamState.HalfClosedRemote : StreamState.Open;
  }

  onHeaders(id: number, fields: HeaderField[], endStream: boolean): void {
    const s = this.streams.get(id);
    if (s !== undefined) {
      this.#onTrailers(s, fields, endStream);
      return;
    }
    if (id % 2 === 0)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on even stream ${id}`);
    const closed = this.peer.open(id);
    if (closed !== undefined) {
      // a stream that is over (§5.1 closed), or an id below one already used (§5.1.1)
      this.#onNotOpen(id, closed, true);
      return;
    }
    this.#opened(id);
    if (this.draining || this.streams.size >= this.limits.maxStreams) {
      this.conn.rstStream(id, ErrorCode.REFUSED_STREAM);
      return;
    }
    // RFC 9113 §8.1.1: a malformed request is a stream error and never reaches the router
    const info = this.#info;
    const why = checkRequestHeaders(fields, info);
    if (why !== undefined || (endStream && info.contentLength > 0)) {
      this.#malformed(id, undefined, why ?? "content-length without DATA");
      return;
    }
    const st = new RelayStream(this, id, fields, endStream);
    st.contentLength = info.contentLength;
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

  /** Stream `id` is the client's newest (GOAWAY's last stream id). */
  #opened(id: number): void {
    this.lastId = id;
    this.conn.lastPeerStream = id;
  }

  /** A HEADERS on an open stream: the request's trailers (§8.1), the request's end. */
  #onTrailers(s: RelayStream, fields: HeaderField[], endStream: boolean): void {
    const v = verdict(DownConn.stateOf(s), true);
    if (v !== Verdict.Accept) {
      // half-closed (remote): a stream error STREAM_CLOSED (§5.1)
      this.#resetStream(s, verdictCode(v));
      return;
    }
    // trailers end the stream (§8.1); a second HEADERS without END_STREAM is malformed
    const why = endStream
      ? checkTrailers(fields)
      : "HEADERS without END_STREAM after the request headers";
    if (why !== undefined) {
      this.#malformed(s.id, s, why);
      return;
    }
    if (s.contentLength >= 0 && s.bytesIn !== s.contentLength) {
      this.#malformed(s.id, s, `content-length ${s.contentLength} but ${s.bytesIn} bytes of DATA`);
      return;
    }
    s.onReqTrailers(fields);
  }

  /**
   * A frame (HEADERS, else DATA) on a stream that is not open: what §5.1 says for its state.
   * Throws for a connection error; else resets or ignores.
   */
  #onNotOpen(id: number, state: StreamState, headers: boolean): void {
    const v = verdict(state, headers);
    if (isConnectionError(v)) {
      throw new ConnectionError(
        verdictCode(v),
        `${headers ? "HEADERS" : "DATA"} on ${streamStateName(state)} stream ${id}`,
      );
    }
    if (v === Verdict.StreamClosed) this.conn.rstStream(id, ErrorCode.STREAM_CLOSED);
  }

  /**
   * A malformed request (RFC 9113 §8.1.1): RST_STREAM(PROTOCOL_ERROR) to the client; its relay
   * stream, if any, is ended (the upstream stream cancelled). The router never sees it.
   */
  #malformed(id: number, s: RelayStream | undefined, why: string): void {
    if (s === undefined) {
      this.conn.rstStream(id, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    s.error ??= new Error(`malformed request: ${why}`);
    this.#resetStream(s, ErrorCode.PROTOCOL_ERROR);
  }

  /** A stream error on an open stream: RST_STREAM(`code`) and the relay stream ended. */
  #resetStream(s: RelayStream, code: number): void {
    this.conn.rstStream(s.id, code);
    s.onDownReset(code);
  }

  /** The relay stream is over (`RelayStream.finish`): its close is recorded for late frames. */
  forget(s: RelayStream): void {
    this.streams.delete(s.id);
    // a reset (either way) was recorded when it happened and wins over this record
    if (s.reqEnded) this.peer.closed(s.id, StreamState.ClosedEndStream);
  }

  onData(id: number, data: Buffer, endStream: boolean, flowLen: number): void {
    const s = this.streams.get(id);
    if (s === undefined) {
      if (id % 2 === 0)
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      // RFC 9113 §5.1: idle: a connection error; closed: by how it closed. Not relayed: its
      // connection window goes back at once
      this.#onNotOpen(id, this.peer.stateOf(id), false);
      this.conn.consumed(flowLen);
      return;
    }
    const v = verdict(DownConn.stateOf(s), false);
    if (v !== Verdict.Accept) {
      this.conn.consumed(flowLen);
      this.#resetStream(s, verdictCode(v));
      return;
    }
    const cl = s.contentLength;
    if (cl >= 0) {
      // §8.1.1: the DATA must add up to content-length, never past it
      const total = s.bytesIn + data.length;
      if (total > cl || (endStream && total !== cl)) {
        this.conn.consumed(flowLen);
        this.#malformed(id, s, `content-length ${cl} but ${total} bytes of DATA`);
        return;
      }
    }
    s.onReqData(data, endStream, flowLen);
  }

  onRstStream(id: number, code: number): void {
    if (id > this.lastId || id % 2 === 0)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
    const s = this.streams.get(id);
    if (s === undefined) return;
    this.peer.closed(id, StreamState.ClosedResetByPeer);
    s.onDownReset(code);
  }

  onStreamError(id: number, code: number, type: number): void {
    const s = this.streams.get(id);
    if (s !== undefined) {
      s.onDownReset(code);
      return;
    }
    // a HEADERS we reset (self-dependent) used its id: the stream opened and closed at once
    if (type === FrameType.HEADERS && id % 2 === 1 && this.peer.open(id) === undefined) {
      this.#opened(id);
    }
  }

  onWindow(id: number, delta: number): void {
    if (id !== 0) {
      const s = this.streams.get(id);
      if (s === undefined) {
        // RFC 9113 §5.1: WINDOW_UPDATE on an idle stream is a connection error; closed: ignored
        if (id > this.lastId || id % 2 === 0)
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
        return;
      }
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
    for (const s of [...this.streams.values()]) s.onDownReset(ErrorCode.CANCEL);
  }
}

/** Starts the frame-level relay server: h2c with prior knowledge or HTTP/1.1 `Upgrade: h2c`. */
export async function startRelayServer(opts: RelayServerOptions): Promise<RelayServer> {
  const relay = new Relay(opts.onRequest, opts.connectTimeoutMs);
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { DEFAULT_WINDOW };
