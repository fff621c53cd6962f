/**
 * The relay's upstream side: one shared HTTP/2 connection per endpoint (`UpConn`, client side,
 * odd stream ids), the registry of them with the connect backoff (`RelayUpstreams`, the
 * router's `Upstreams` handle: `retain` closes the connections to departed endpoints), and a
 * server's own state (`Relay`).
 */
import { connect as netConnect } from "node:net";
import { type Address, addressKey } from "../router/address.js";
import type { Upstreams } from "../router/routable-request.js";
import { FrameConn, type FrameHandler, FrameType } from "./frame-conn.js";
import type { HeaderField } from "./hpack.js";
import type { DownConn } from "./relay-server.js";
import { REFUSED_STREAM, type RelayRequest, type RelayStream } from "./relay-stream.js";

export class UpConn implements FrameHandler {
  readonly streams = new Map<number, RelayStream>();
  readonly conn: FrameConn;
  nextId = 1;
  goingAway = false;
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
    const socket = netConnect({ host: ep.host, port: ep.port, noDelay: true });
    this.conn = new FrameConn(socket, 0);
    this.conn.handler = this;
    socket.once("connect", () => {
      this.tcpConnected = true;
    });
    socket.once("error", (e: Error) => {
      this.lastError = e;
    });
    // ahead of FrameConn's parser, so that `connected` is set before the frames are handled
    socket.prependListener("data", this.#onPreface);
    // a SYN never answered (a vanished pod IP) would otherwise hang until the kernel gives up
    // (~2 min), and a server that accepts but never speaks HTTP/2 forever
    this.#timeoutMs = ep.connectTimeoutMs ?? relay.connectTimeoutMs;
    this.#timer = setTimeout(this.#onTimeout, this.#timeoutMs);
    this.#timer.unref();
    socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    this.conn.settings([[2, 0]]);
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
    if (this.streams.size === 0) this.#closeDrained();
  }

  /** Draining from the start (a departed endpoint): closed after the streams about to open. */
  drainAfterUse(): void {
    this.draining = true;
    this.goingAway = true;
  }

  /** A stream is over on this connection: forgets it (closing a drained connection after its last). */
  release(id: number): void {
    if (this.streams.delete(id) && this.draining && this.streams.size === 0) this.#closeDrained();
  }

  #closeDrained(): void {
    if (this.conn.closed) return;
    if (!this.connected) {
      this.conn.destroy();
      return;
    }
    this.conn.goaway(0, 0);
    this.conn.end();
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

  onClose(err: Error | undefined): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.relay.ups.get(this.key) === this) this.relay.ups.delete(this.key);
    this.relay.draining.delete(this);
    this.lastError ??= err;
    if (!this.connected && !this.draining) this.relay.connectFailed(this.key, this.lastError);
    for (const s of [...this.streams.values()]) s.onUpLost();
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
}
