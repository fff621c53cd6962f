/**
 * The relay's upstream side: one shared HTTP/2 connection per endpoint (`UpConn`, client side,
 * odd stream ids), the registry of them with the connect backoff (`RelayUpstreams`, the
 * router's `Upstreams` handle: `retain` closes the connections to departed endpoints), and a
 * server's own state (`Relay`).
 */
import { connect as netConnect, type Socket } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import {
  CLIENT_PREFACE,
  ConnectionError,
  DEFAULT_LIMITS,
  ErrorCode,
  errorCodeName,
  type FrameHandler,
  FrameType,
  type H2Limits,
  type HeaderField,
  headerListSize,
  type LimitName,
  MAX_WINDOW,
  SettingsId,
  StreamTable,
  Verdict,
} from "@l5d/h2";
import { DataplaneError, GrpcStatus } from "../dataplane/errors.js";
import { type Address, addressKey } from "../router/address.js";
import type { Upstreams } from "../router/routable-request.js";
import type { DownConn, LimitSide } from "./relay-server.js";
import type { RelayRequest, RelayStream } from "./relay-stream.js";
import { flushUp } from "./request-side.js";
import { onRespData, onRespHeaders, onUpLost, onUpReset } from "./response-side.js";
import { UpFrameConn } from "./up-streams.js";

/**
 * After a GOAWAY with an error code, the time the streams at or below its last-stream-id get to
 * finish before they fail and the connection is destroyed: a server that sends GOAWAY(error)
 * and never closes its socket (node:http2 after a header block over its limit) would otherwise
 * leave them waiting for ever.
 */
export const GOAWAY_ERROR_DRAIN_MS = 2_000;

/** The connection receive window granted to an upstream (2^31-1, as nghttpx's backend side). */
export const UPSTREAM_CONNECTION_WINDOW = MAX_WINDOW;

export class UpConn implements FrameHandler {
  /** The relayed request on each upstream stream (the streams' wire states: `conn.streams`). */
  readonly streams = new StreamTable<RelayStream>();
  readonly conn: UpFrameConn;
  nextId = 1;
  /** No new streams here (a GOAWAY, or stream ids running out): closed once its streams are done. */
  goingAway = false;
  /** The lowest last-stream-id of the GOAWAYs received (a later one may lower it, RFC 9113 §6.8). */
  goawayLastId = 0x7fffffff;
  /** Why the connection is going away after a GOAWAY with an error code (named in `l5d-err`). */
  goawayError: string | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  /** The TCP connect succeeded (the handshake may still be pending). */
  tcpConnected = false;
  /**
   * The HTTP/2 handshake completed: the server's preface (a SETTINGS frame) arrived. Before it,
   * a lost connection is a failed connect (connect backoff) and its streams were unprocessed.
   */
  connected = false;
  lastError: Error | undefined;
  /** The attempt's one timer: TCP connect + server SETTINGS within `relay.connectTimeoutMs`. */
  #timer: NodeJS.Timeout | undefined;
  /** Bytes of the server's first frame header seen so far (its type is byte 3). */
  #prefaceBytes = 0;
  /** The connect timeout: the endpoint's client's, else the registry's default. */
  readonly #timeoutMs: number;

  /** The endpoint left every replica set: no new streams; closed once the last one is over. */
  draining = false;

  constructor(
    readonly relay: RelayUpstreams,
    readonly key: string,
    ep: Address,
  ) {
    const tls = ep.tls;
    // TLS (`client.tls`): ALPN h2; the connection counts as made once the handshake is done
    const socket: Socket =
      tls === undefined
        ? netConnect({ host: ep.host, port: ep.port, noDelay: true })
        : tlsConnect({ ...tls.options, host: ep.host, port: ep.port, ALPNProtocols: ["h2"] });
    if (tls !== undefined) socket.setNoDelay(true);
    this.conn = new UpFrameConn(socket, 0);
    this.conn.handler = this;
    // the same abuse limits as the client side: a backend flooding us is closed, too
    const limits = relay.h2Limits;
    this.conn.setLimits(limits);
    this.conn.maxBlockBytes = limits.maxHeaderListBytes + 16_384;
    this.conn.onLimit = (name, detail) => {
      const msg = `${detail} (upstream ${key})`;
      this.lastError = new Error(msg);
      relay.onLimit?.(name, msg, "upstream");
    };
    if (tls === undefined)
      socket.once("connect", () => {
        this.tcpConnected = true;
      });
    else
      socket.once("secureConnect", () => {
        const alpn = (socket as TLSSocket).alpnProtocol;
        if (alpn !== "h2") {
          this.lastError = new Error(
            `TLS: the upstream did not negotiate HTTP/2 (ALPN ${alpn === false ? "none" : alpn})`,
          );
          this.conn.destroy();
          return;
        }
        this.tcpConnected = true;
      });
    socket.once("error", (e: Error) => {
      if (tls === undefined) {
        this.lastError = e;
        return;
      }
      this.lastError = new Error(`TLS (${tls.id}): ${e.message}`);
      if (!this.tcpConnected) relay.onTlsError?.(e.message, `${ep.host}:${ep.port}`);
    });
    // ahead of FrameConn's parser, so that `connected` is set before the frames are handled
    socket.prependListener("data", this.#onPreface);
    // a SYN never answered (a vanished pod IP) would otherwise hang until the kernel gives up
    // (~2 min), and a server that accepts but never speaks HTTP/2 forever
    this.#timeoutMs = ep.connectTimeoutMs ?? relay.connectTimeoutMs;
    this.#timer = setTimeout(this.#onTimeout, this.#timeoutMs);
    this.#timer.unref();
    socket.write(CLIENT_PREFACE);
    // no response DATA on a stream before we grant it window: each stream gets what its client
    // can take, up to 64 KiB (`response-window.ts`)
    this.conn.settings([
      [SettingsId.ENABLE_PUSH, 0],
      [SettingsId.INITIAL_WINDOW_SIZE, 0],
    ]);
    // every client's requests to this endpoint share the connection: a 64 KiB connection
    // window would let one stream's burst (a large response, or a zero-window attacker's streams
    // each filling their window) hold every other stream's DATA behind WINDOW_UPDATE round trips.
    // Per-stream windows still bound what each stream queues (nghttpx's backend default too).
    this.conn.openWindow(UPSTREAM_CONNECTION_WINDOW);
  }

  /** Watches the server's first frame header: SETTINGS completes the handshake, else it fails. */
  readonly #onPreface = (chunk: Buffer): void => {
    const at = 3 - this.#prefaceBytes;
    if (at >= chunk.length) {
      this.#prefaceBytes += chunk.length;
      return;
    }
    this.conn.socket.off("data", this.#onPreface);
    if (chunk[at] !== FrameType.SETTINGS) {
      // RFC 9113 §3.4: the server preface is a SETTINGS frame (an HTTP/1.1 server answers text)
      this.lastError = new Error("the upstream did not speak HTTP/2 (no SETTINGS preface)");
      this.conn.destroy();
      return;
    }
    this.connected = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.relay.backoff.delete(this.key);
  };

  readonly #onTimeout = (): void => {
    this.#timer = undefined;
    if (this.connected || this.conn.closed) return;
    const ms = this.#timeoutMs;
    this.lastError = new Error(
      this.tcpConnected
        ? `HTTP/2 handshake timed out after ${ms} ms (no SETTINGS from the server)`
        : `connect timed out after ${ms} ms`,
    );
    this.conn.destroy();
  };

  /**
   * Graceful close (the endpoint left the replica sets): no new streams go here; the in-flight
   * ones finish, then GOAWAY(NO_ERROR) and the connection is closed.
   */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.goingAway = true;
    this.closeIfDone();
  }

  /** Draining from the start (a departed endpoint): closed after the streams about to open. */
  drainAfterUse(): void {
    this.draining = true;
    this.goingAway = true;
  }

  open(s: RelayStream): number {
    const id = this.nextId;
    this.nextId += 2;
    this.streams.set(id, s);
    this.conn.streams.opened(id);
    if (this.nextId > 0x7fff0000) this.goingAway = true;
    return id;
  }

  // Frames the upstream sends on a stream are checked against the stream's state first
  // (`UpStreams`: idle and closed streams, RFC 9113 §5.1); connection errors are thrown (FrameConn
  // answers them with GOAWAY), stream errors reset the stream here.

  onHeaders(id: number, fields: HeaderField[], endStream: boolean): void {
    const r = this.conn.streams.onMessageFrame(id, "HEADERS", endStream);
    if (r === Verdict.StreamClosed) {
      this.#streamClosed(id, "HEADERS");
      return;
    }
    const s = r === Verdict.Accept ? this.streams.get(id) : undefined;
    if (s === undefined) return;
    const limits = this.relay.h2Limits;
    if (
      fields.length > limits.maxHeaderFields ||
      headerListSize(fields) > limits.maxHeaderListBytes
    ) {
      // response headers or trailers over the limit: that stream fails cleanly, the connection stays
      const msg = `${this.key}: response header list over maxHeaderListSize (${limits.maxHeaderListBytes} bytes, ${limits.maxHeaderFields} fields)`;
      this.relay.onLimit?.("header_list", msg, "upstream");
      s.cancelUp();
      s.upFailed(
        new DataplaneError(
          "UPSTREAM_PROTOCOL_ERROR",
          msg,
          GrpcStatus.RESOURCE_EXHAUSTED,
          502,
          ErrorCode.CANCEL,
        ),
        false,
        ErrorCode.INTERNAL_ERROR,
      );
      return;
    }
    onRespHeaders(s, fields, endStream, this.conn.fieldProblem);
  }

  onData(id: number, data: Buffer, endStream: boolean, flowLen: number): void {
    const r = this.conn.streams.onMessageFrame(id, "DATA", endStream);
    const s = r === Verdict.Accept ? this.streams.get(id) : undefined;
    if (s === undefined) {
      // not relayed: its connection window goes back at once
      this.conn.consumed(flowLen);
      if (r === Verdict.StreamClosed) this.#streamClosed(id, "DATA");
      return;
    }
    onRespData(s, data, endStream, flowLen);
  }

  onRstStream(id: number, code: number): void {
    const r = this.conn.streams.onReset(id);
    const s = this.streams.get(id);
    // also a reset FrameConn made (a stream WINDOW_UPDATE of 0), which the relay did not see
    if (s !== undefined && (r === Verdict.Accept || !s.upClosed)) onUpReset(s, code);
  }

  onWindow(id: number, delta: number): void {
    if (id !== 0) {
      const r = this.conn.streams.onWindowUpdate(id);
      if (r === Verdict.StreamClosed) this.#streamClosed(id, "WINDOW_UPDATE");
      if (r !== Verdict.Accept) return;
      const s = this.streams.get(id);
      if (s?.toUp === undefined) return;
      if (s.toUp.window + delta > MAX_WINDOW) {
        // RFC 9113 §6.9.1: a stream error FLOW_CONTROL_ERROR, the connection goes on
        this.conn.rstStream(id, ErrorCode.FLOW_CONTROL_ERROR);
        s.onUpStreamError(
          ErrorCode.FLOW_CONTROL_ERROR,
          "WINDOW_UPDATE took the stream's send window past 2^31-1",
        );
        return;
      }
      s.toUp.window += delta;
      flushUp(s);
      return;
    }
    // a new SETTINGS_INITIAL_WINDOW_SIZE: a window it takes past 2^31-1 is a connection error
    // (RFC 9113 §6.9.2)
    if (delta > 0) {
      for (const s of this.streams.values()) {
        if (s.toUp !== undefined && s.toUp.window + delta > MAX_WINDOW) {
          throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "stream window over 2^31-1");
        }
      }
    }
    for (const s of this.streams.values()) {
      if (s.toUp === undefined) continue;
      s.toUp.window += delta;
      flushUp(s);
    }
  }

  /**
   * A stream error FrameConn found and answered with RST_STREAM(`code`) already: a PRIORITY of
   * the wrong size or depending on itself, a HEADERS depending on itself (dropped).
   */
  onStreamError(id: number, code: number, type: number): void {
    const what = type === FrameType.HEADERS ? "HEADERS" : "PRIORITY";
    // a HEADERS on a stream we did not open is a connection error still (§5.1.1)
    if (type === FrameType.HEADERS) this.conn.streams.onMessageFrame(id, "HEADERS", false);
    this.streams
      .get(id)
      ?.onUpStreamError(code, `stream error ${errorCodeName(code)} on a ${what} frame`);
  }

  /** A frame on a stream closed for it: a stream error STREAM_CLOSED (RFC 9113 §5.1). */
  #streamClosed(id: number, what: string): void {
    this.conn.rstStream(id, ErrorCode.STREAM_CLOSED);
    this.streams
      .get(id)
      ?.onUpStreamError(ErrorCode.STREAM_CLOSED, `${what} on stream ${id} after it was closed`);
  }

  /**
   * The upstream goes away: new requests go to a new connection at once; the streams above
   * `lastStreamId` were not processed and are refused (requeued); those at or below it finish,
   * then the connection is closed. After an error code they get `GOAWAY_ERROR_DRAIN_MS` (the
   * sender may never close its socket nor answer them), then fail and the connection is
   * destroyed. A graceful two-step shutdown (2^31-1 first, then the real last stream id) is two
   * calls: the second refuses what the first let through.
   */
  onGoaway(lastStreamId: number, code: number): void {
    this.goingAway = true;
    if (this.relay.ups.get(this.key) === this) this.relay.ups.delete(this.key);
    if (lastStreamId < this.goawayLastId) this.goawayLastId = lastStreamId;
    const last = this.goawayLastId;
    for (const id of this.streams.ids()) {
      const s = this.streams.get(id);
      if (id > last && s !== undefined) onUpReset(s, ErrorCode.REFUSED_STREAM);
    }
    if (code !== ErrorCode.NO_ERROR && this.#drainTimer === undefined) {
      this.goawayError = `GOAWAY ${errorCodeName(code)}, last stream ${last}`;
      this.#drainTimer = setTimeout(this.#onDrainTimeout, GOAWAY_ERROR_DRAIN_MS);
      this.#drainTimer.unref();
    }
    this.closeIfDone();
  }

  readonly #onDrainTimeout = (): void => {
    this.#drainTimer = undefined;
    if (this.conn.closed) return;
    this.goawayError = `${this.goawayError}: not finished within ${GOAWAY_ERROR_DRAIN_MS} ms`;
    // the streams left fail as lost (they may have been processed: no requeue)
    this.conn.destroy();
  };

  /**
   * A stream is over on this connection: forgets it (its late frames are dropped), and closes a
   * going-away or drained connection after its last stream.
   */
  release(id: number): void {
    if (this.streams.delete(id) && this.goingAway) this.closeIfDone();
  }

  /**
   * A going-away connection (an upstream GOAWAY, a departed endpoint) whose streams are all done
   * is closed: GOAWAY(NO_ERROR) then FIN (what we wrote leaves first); before the handshake, at once.
   */
  closeIfDone(): void {
    if (!this.goingAway || this.streams.size > 0 || this.conn.closed) return;
    if (!this.connected) {
      this.conn.destroy();
      return;
    }
    this.conn.goaway(0, ErrorCode.NO_ERROR);
    this.conn.end();
  }

  onClose(err: Error | undefined): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#drainTimer !== undefined) {
      clearTimeout(this.#drainTimer);
      this.#drainTimer = undefined;
    }
    if (this.relay.ups.get(this.key) === this) this.relay.ups.delete(this.key);
    this.relay.draining.delete(this);
    this.lastError ??= err;
    if (!this.connected && !this.draining) this.relay.connectFailed(this.key, this.lastError);
    for (const s of [...this.streams.values()]) onUpLost(s);
  }
}

/** Reconnect backoff after a failed connect: 100 ms doubling to 10 s, ±20 % jitter. */
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 10_000;
const BACKOFF_JITTER = 0.2;
/**
 * Connect timeout: TCP connect and the server's SETTINGS within it, else the connect failed
 * (`client.connectTimeoutMs` in the config).
 */
export const CONNECT_TIMEOUT_MS = 3_000;

/** An endpoint whose last connect failed: new streams fail fast (unprocessed) until `until`. */
interface Backoff {
  failures: number;
  until: number;
  error: string;
}

/**
 * The upstream connection per endpoint and the connect backoff per endpoint: a refused (or
 * timed-out: `connectTimeoutMs`) endpoint is not reconnected to for every request (100 ms
 * doubling to 10 s, ±20 %); meanwhile its requests fail at once as unprocessed, so the router
 * requeues them elsewhere and its failure accrual sees the endpoint failing.
 *
 * The router's `Upstreams` handle: `retain(addresses)` (the endpoints still in some replica
 * set) drains the connections to every other endpoint — no new streams, in-flight ones finish,
 * then the connection is closed — and forgets their backoff. Shared by a router's servers.
 */
export class RelayUpstreams implements Upstreams {
  readonly ups = new Map<string, UpConn>();
  readonly backoff = new Map<string, Backoff>();
  /** Connections to departed endpoints, closing once their streams are over. */
  readonly draining = new Set<UpConn>();
  /** The endpoint keys of the last `retain` (undefined before any: every endpoint is kept). */
  #retained: Set<string> | undefined;
  /** Abuse limits of the upstream connections (`startRelayServer` sets them). */
  h2Limits: H2Limits = DEFAULT_LIMITS;
  /** Told when a limit fires on an upstream connection (`startRelayServer`'s `onLimit`). */
  onLimit: ((name: LimitName, detail: string, side: LimitSide) => void) | undefined;
  /** Told when a TLS handshake with an upstream fails (`peer`: `host:port`); the daemon counts it. */
  onTlsError: ((message: string, peer: string) => void) | undefined;
  constructor(
    /** TCP connect + HTTP/2 handshake bound per connection attempt; a timeout is a failed connect. */
    readonly connectTimeoutMs: number = CONNECT_TIMEOUT_MS,
  ) {}

  /** The connection new streams to `ep` go to (connecting lazily); undefined in connect backoff. */
  upstream(ep: Address, key: string = addressKey(ep)): UpConn | undefined {
    let up = this.ups.get(key);
    if (up === undefined || up.goingAway || up.conn.closed) {
      const b = this.backoff.get(key);
      if (b !== undefined && performance.now() < b.until) return undefined;
      up = new UpConn(this, key, ep);
      if (this.#retained !== undefined && !this.#retained.has(key)) {
        // an attempt to an endpoint that already left (a requeue racing an update): this
        // connection serves it and closes after, it is not kept for others
        this.draining.add(up);
        up.drainAfterUse();
        return up;
      }
      this.ups.set(key, up);
    }
    return up;
  }

  connectFailed(key: string, err: Error | undefined): void {
    let b = this.backoff.get(key);
    if (b === undefined) {
      b = { failures: 0, until: 0, error: "" };
      this.backoff.set(key, b);
    }
    b.failures++;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(b.failures - 1, 20));
    const delay = base * (1 + BACKOFF_JITTER * (2 * Math.random() - 1));
    b.until = performance.now() + delay;
    b.error = err?.message ?? "connect failed";
  }

  unavailableMessage(key: string): string {
    const b = this.backoff.get(key);
    const ms = b === undefined ? 0 : Math.max(0, Math.round(b.until - performance.now()));
    return `${key} is unavailable (${b?.error ?? "connect failed"}); reconnecting in ${ms} ms`;
  }

  retain(addresses: Iterable<Address>): void {
    const keep = new Set<string>();
    for (const a of addresses) keep.add(addressKey(a));
    this.#retained = keep;
    for (const [key, up] of this.ups) {
      if (keep.has(key)) continue;
      this.ups.delete(key);
      if (up.conn.closed) continue;
      this.draining.add(up);
      up.drain();
    }
    for (const key of this.backoff.keys()) if (!keep.has(key)) this.backoff.delete(key);
  }

  /** Destroys every upstream connection (the servers are closed: nothing is in flight). */
  close(): void {
    for (const up of [...this.ups.values(), ...this.draining]) up.conn.destroy();
    this.ups.clear();
    this.draining.clear();
  }
}

/** A relay server's state: its downstream connections and open streams, and its upstreams. */
export class Relay {
  readonly conns = new Set<DownConn>();
  streams = 0;
  /** Told when a limit fires on a client connection (`startRelayServer`'s `onLimit`). */
  onLimit: ((name: LimitName, detail: string, side: LimitSide) => void) | undefined;
  constructor(
    readonly onRequest: (req: RelayRequest) => void,
    readonly upstreams: RelayUpstreams,
  ) {}

  /** The connection new streams to `ep` go to; undefined in connect backoff. */
  upstream(ep: Address, key: string): UpConn | undefined {
    return this.upstreams.upstream(ep, key);
  }

  unavailableMessage(key: string): string {
    return this.upstreams.unavailableMessage(key);
  }

  /** DATA bytes the relayed streams hold in their queues, both directions (a diagnostic: the halves' counters). */
  bufferedBytes(): number {
    let n = 0;
    for (const c of this.conns) {
      // the response direction as the connection's meter counts it (`maxQueuedDataBytes`)
      n += c.queued.queued;
      for (const s of c.streams.values()) {
        if (s.toUp !== undefined) n += s.toUp.bytes;
        if (s.early !== undefined) for (const p of s.early) n += p.data.length;
      }
    }
    return n;
  }
}
