/**
 * The frame-level relay (issue #9; the daemon's data plane): HTTP/2 on raw sockets, no node:http2 stream
 * objects. Each downstream connection is parsed frame by frame; a request's header block is
 * decoded (full HPACK) into the header list the router reads, and each attempt of its exchange
 * re-encodes it (edits applied) as a new stream on a shared upstream connection per endpoint. DATA
 * frames are passed through with flow-control accounting in both directions (`flow-half.ts`): a
 * sender gets its connection window back once DATA is queued, its stream window once the bytes
 * were written to the other side, and a receiver's window is never overrun (DATA waits in a
 * per-stream queue). Trailers are forwarded, RST_STREAM is mapped
 * both ways, SETTINGS/PING are answered, GOAWAY stops new streams on a connection.
 *
 * Deadlines (`grpc-timeout`, the router's `deadlineMs`) are enforced and propagated. The
 * router's loop requeues unprocessed attempts and retries held responses (`relay-stream.ts`,
 * `relay-exchange.ts`); connect backoff per endpoint and the draining of connections to
 * departed endpoints are in `upstream.ts`.
 * Per-connection limits (streams, windows, header list size), a liveness PING sweep and a
 * graceful close are in `DownConn` / `startRelayServer`; h2c Upgrade in the acceptor
 * (`../dataplane/accept-connection.ts`). RFC 9113 conformance of what clients send: stream
 * states (§5.1, `@l5d/h2` `stream-state.ts`), malformed requests (§8.1.1,
 * `header-validation.ts`: RST_STREAM(PROTOCOL_ERROR), never routed), content-length against
 * DATA. PRIORITY frames are validated (in `FrameConn`), then ignored.
 */
import { createServer, type Server, type Socket } from "node:net";
import {
  createServer as createTlsServer,
  type TLSSocket,
  type TlsOptions,
  type Server as TlsServer,
} from "node:tls";
import {
  ConnectionError,
  checkRequestHeaders,
  checkTrailers,
  DEFAULT_WINDOW,
  ErrorCode,
  Flood,
  FrameConn,
  type FrameHandler,
  FrameType,
  type H2Limits,
  type HeaderField,
  headerListSize,
  isConnectionError,
  LimitError,
  type LimitName,
  MAX_WINDOW,
  type MessageInfo,
  PeerStreams,
  resolveLimits,
  SettingsId,
  StreamState,
  StreamTable,
  streamStateName,
  Verdict,
  verdict,
  verdictCode,
} from "@l5d/h2";
import { acceptConnection } from "../dataplane/accept-connection.js";
import { DataplaneError, GrpcStatus } from "../dataplane/errors.js";
import type { QueueMeter } from "./flow-half.js";
import { type RelayRequest, RelayStream } from "./relay-stream.js";
import { onReqData, onReqTrailers } from "./request-side.js";
import { widenNarrowed, widenResponseWindow } from "./response-window.js";
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
   * Default 3 s (`CONNECT_TIMEOUT_MS`). Ignored when `upstreams` is given (it has its own).
   */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * TLS on this server (node `tls` options: `cert`, `key`, `ca`, `requestCert`...): ALPN `h2`,
   * HTTP/2 over the TLS socket exactly as over TCP. A client that offers ALPN without `h2` fails
   * the handshake (`no_application_protocol`); one that offers no ALPN is spoken HTTP/2 to (prior
   * knowledge). Plaintext h2c when unset.
   */
  readonly tls?: TlsOptions | undefined;
  /** A TLS handshake failed (`peer`: its address): the daemon counts and logs it. */
  readonly onTlsError?: ((message: string, peer: string) => void) | undefined;
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
  /** DATA bytes queued in the relayed streams (waiting for a receiver's window), both directions. */
  readonly bufferedBytes: number;
  /**
   * New TLS credentials (rotation): new handshakes use them, established connections keep
   * theirs. A no-op on a plaintext server.
   */
  setTls(tls: TlsOptions): void;
  /**
   * Graceful close: stop accepting, GOAWAY (last stream id)
   * on every client connection, let in-flight streams finish for up to `graceMs` (default 10 s),
   * then destroy what is left; its own upstream connections are closed after (shared
   * `upstreams` are the caller's to close).
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
  readonly streams = new StreamTable<RelayStream>();
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
  /** Idle timeout: since when the sweep saw no open stream (0: busy), and the last id it saw. */
  idleSince = 0;
  idleLastId = 0;
  /**
   * Response DATA its streams hold for this client (waiting for its windows, or held for a
   * retry decision): past `maxQueuedDataBytes` the connection is closed (`overQueued`).
   */
  readonly queued: QueueMeter = { queued: 0 };
  /**
   * The windows given to the upstream streams of this client's responses in progress, and
   * whether some stream was given less than its client's stream window allowed
   * (`response-window.ts`).
   */
  promised = 0;
  narrowed = false;
  /** Stream idle timeout: per stream, its byte count when last seen moving, and since when. */
  streamMarks: StreamTable<{ mark: number; since: number }> | undefined;

  constructor(
    readonly relay: Relay,
    socket: Socket,
    readonly limits: DownLimits,
  ) {
    this.conn = new FrameConn(socket, 24);
    this.conn.handler = this;
    this.conn.peerStreams = this.peer;
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

  /** The RFC 9113 §5.1 state of an open stream as its receiving side sees it. */
  static stateOf(s: RelayStream): StreamState {
    return s.reqEnded ? StreamState.HalfClosedRemote : StreamState.Open;
  }
  readonly #onLimit = (name: LimitName, detail: string): void => {
    const a = this.conn.socket;
    this.relay.onLimit?.(name, `${detail} (client ${a.remoteAddress}:${a.remotePort})`, "client");
  };

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
      // refused streams count with the client's resets (rapid reset, CVE-2023-44487)
      this.conn.guard.count(Flood.RESETS);
      this.conn.rstStream(id, ErrorCode.REFUSED_STREAM);
      return;
    }
    // RFC 9113 §8.1.1: a malformed request is a stream error and never reaches the router
    const info = this.#info;
    const why = this.conn.fieldProblem ?? checkRequestHeaders(fields, info, true);
    if (why !== undefined || (endStream && info.contentLength > 0)) {
      this.#malformed(id, undefined, why ?? "content-length without DATA");
      return;
    }
    const st = new RelayStream(this, id, fields, endStream);
    st.contentLength = info.contentLength;
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
    if (this.#overLimit(fields)) {
      // trailers count against the header list limit too
      const size = headerListSize(fields);
      const msg = `request trailers of ${fields.length} fields, ${size} bytes are over maxHeaderListSize (${this.limits.maxHeaderList})`;
      this.#onLimit("header_list", msg);
      if (!s.responded) s.fail(GrpcStatus.RESOURCE_EXHAUSTED, 431, msg);
      else {
        s.error ??= new Error(msg);
        this.conn.rstStream(s.id, ErrorCode.CANCEL);
        s.onDownReset(ErrorCode.CANCEL);
      }
      return;
    }
    // trailers end the stream (§8.1); a second HEADERS without END_STREAM is malformed
    const why = endStream
      ? (this.conn.fieldProblem ?? checkTrailers(fields, true))
      : "HEADERS without END_STREAM after the request headers";
    if (why !== undefined) {
      this.#malformed(s.id, s, why);
      return;
    }
    if (s.contentLength >= 0 && s.bytesIn !== s.contentLength) {
      this.#malformed(s.id, s, `content-length ${s.contentLength} but ${s.bytesIn} bytes of DATA`);
      return;
    }
    onReqTrailers(s, fields);
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
    // the client's doing: never counted against the endpoint (router/accrual-verdict.ts)
    s.error ??= new DataplaneError(
      "REQUEST_MALFORMED",
      `malformed request: ${why}`,
      GrpcStatus.INTERNAL,
      400,
      ErrorCode.PROTOCOL_ERROR,
    );
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
        // a router that threw after answering (e.g. a telemeter's callback): one answer only
        if (!st.done && !st.responded)
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
    onReqData(s, data, endStream, flowLen);
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
        this.conn.guard.count(Flood.STREAM_ERRORS);
        this.conn.rstStream(id, ErrorCode.FLOW_CONTROL_ERROR);
        s.onDownReset(ErrorCode.FLOW_CONTROL_ERROR);
        return;
      }
      s.toDown.window += delta;
      // before the flush uses the new window: the upstream's grows by what the client gave
      widenResponseWindow(s, delta);
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
      if (delta > 0) widenResponseWindow(s, delta);
      s.flushDown();
    }
    // the connection's window opened (delta 0) or the streams' did: room for narrowed streams
    widenNarrowed(this);
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

  /**
   * The client's streams hold more response DATA than `maxQueuedDataBytes` (it does not give
   * window: zero-window buffering, CVE-2019-9517): the connection is closed on the next turn
   * with GOAWAY(ENHANCE_YOUR_CALM), its streams' queues dropped with them.
   */
  overQueued(): void {
    const max = this.limits.h2.maxQueuedDataBytes;
    this.conn.trip(
      new LimitError(
        "queued_data",
        ErrorCode.ENHANCE_YOUR_CALM,
        `queued_data: over ${max} bytes of response DATA waiting for the client's windows`,
      ),
    );
  }

  onClose(): void {
    this.relay.conns.delete(this);
    for (const s of [...this.streams.values()]) s.onDownReset(ErrorCode.CANCEL);
  }
}

/** Starts the frame-level relay server: h2c with prior knowledge or HTTP/1.1 `Upgrade: h2c`. */
export async function startRelayServer(opts: RelayServerOptions): Promise<RelayServer> {
  const owned = opts.upstreams === undefined;
  const upstreams = opts.upstreams ?? new RelayUpstreams(opts.connectTimeoutMs);
  const relay = new Relay(opts.onRequest, upstreams);
  const maxHeaderList = opts.maxHeaderListSize ?? 64 * 1024;
  const h2 = resolveLimits({ ...opts.limits, maxHeaderListBytes: maxHeaderList });
  const limits: DownLimits = {
    maxStreams: opts.maxConcurrentStreams ?? 1000,
    initialWindow: opts.initialWindowSize ?? DEFAULT_WINDOW,
    connectionWindow: opts.connectionWindowSize ?? 1 << 20,
    maxHeaderList,
    h2,
  };
  relay.onLimit = opts.onLimit;
  // the upstream connections' limits: this server's (the first server's, when the router's
  // servers share one `RelayUpstreams`)
  if (owned || upstreams.onLimit === undefined) {
    upstreams.h2Limits = h2;
    upstreams.onLimit = opts.onLimit;
  }
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
  const accept = (socket: Socket, tlsSocket: boolean): void => {
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
    // over TLS, ALPN chose HTTP/2 (or the client offered none: prior knowledge)
    if (tlsSocket) toH2(socket);
    else acceptConnection(socket, toH2);
  };
  const tlsOpts = opts.tls;
  const server: Server =
    tlsOpts === undefined
      ? createServer((socket) => accept(socket, false))
      : createTlsServer(
          { ...tlsOpts, ALPNProtocols: ["h2"], handshakeTimeout: prefaceMs },
          (socket: TLSSocket) => accept(socket, true),
        );
  // a failed handshake (no h2 in the client's ALPN, a missing or untrusted client certificate)
  if (tlsOpts !== undefined)
    server.on("tlsClientError", (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      // a connection closed before its ClientHello (a TCP probe, a port scan) is no handshake
      if (err.code !== "ECONNRESET")
        opts.onTlsError?.(err.message, `${socket.remoteAddress}:${socket.remotePort}`);
      socket.destroy();
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
    get bufferedBytes() {
      return relay.bufferedBytes();
    },
    setTls(tls: TlsOptions) {
      if (tlsOpts !== undefined) (server as TlsServer).setSecureContext(tls);
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
    marks = new StreamTable();
    c.streamMarks = marks;
  }
  for (const id of marks.ids()) if (!c.streams.has(id)) marks.delete(id);
  for (const s of c.streams.values()) {
    const id = s.id;
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
