import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type ClientSessionRequestOptions,
  connect,
  type OutgoingHttpHeaders,
} from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { DataplaneError, GrpcStatus } from "./errors.js";

/** A concrete upstream address. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** The `host:port` key of an endpoint (IPv6 hosts bracketed). */
export function endpointKey(ep: Endpoint): string {
  return ep.host.includes(":") ? `[${ep.host}]:${ep.port}` : `${ep.host}:${ep.port}`;
}

/** Options of an {@link UpstreamPool}. */
export interface UpstreamPoolOptions {
  /** Per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE). Linkerd `initialStreamWindowBytes`: 64 KiB (65,535). */
  readonly initialWindowSize?: number | undefined;
  /** Connection-level receive window. Default 1 MiB. */
  readonly connectionWindowSize?: number | undefined;
  /** Time allowed for TCP connect plus the HTTP/2 handshake. Default 3 s. */
  readonly connectTimeoutMs?: number | undefined;
  /** First reconnect delay after a failed connect. Default 100 ms (grpc-js: 1 s). */
  readonly backoffBaseMs?: number | undefined;
  /** Largest reconnect delay. Default 10 s (grpc-js: 120 s). */
  readonly backoffMaxMs?: number | undefined;
  /** Jitter, as a fraction of the delay, applied ±. Default 0.2 (grpc-js's value). */
  readonly backoffJitter?: number | undefined;
  /** node:http2 `maxSessionMemory` in MB per session. Default 64. */
  readonly maxSessionMemory?: number | undefined;
  /** Called whenever an endpoint's state changes (for load balancers and metrics). */
  readonly onStateChange?: ((ep: UpstreamEndpoint, state: UpstreamStateKind) => void) | undefined;
}

/**
 * The connection state of one endpoint, as named states (connect-es's
 * http2-session-manager is the model):
 * - `idle`: no session; the next stream connects lazily.
 * - `connecting`: a session is being established; streams are queued on it by node:http2.
 * - `open`: the session is connected and takes new streams.
 * - `backoff`: the last connect failed; new streams fail fast until `until`, then `idle`.
 * - `closed`: the endpoint was drained or the pool closed; it takes no new streams.
 * Sessions that received GOAWAY, or belong to a drained endpoint, live on in `draining`
 * until their last stream ends; they never take new streams.
 */
export type UpstreamState =
  | { readonly kind: "idle" }
  | { readonly kind: "connecting"; readonly session: ClientHttp2Session }
  | { readonly kind: "open"; readonly session: ClientHttp2Session }
  | {
      readonly kind: "backoff";
      readonly until: number;
      readonly error: Error;
      readonly timer: NodeJS.Timeout;
    }
  | { readonly kind: "closed" };

export type UpstreamStateKind = UpstreamState["kind"];

interface Resolved {
  initialWindowSize: number;
  connectionWindowSize: number;
  connectTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  backoffJitter: number;
  maxSessionMemory: number;
  onStateChange: ((ep: UpstreamEndpoint, state: UpstreamStateKind) => void) | undefined;
}

/** One endpoint's multiplexed HTTP/2 connection, with the counters a load balancer reads. */
export class UpstreamEndpoint {
  readonly key: string;
  /** Streams open to this endpoint (over all its sessions): the balancer's load. */
  inflight = 0;
  /** Consecutive failed connects (reset by a successful one). */
  connectFailures = 0;
  /** All failed connects since the endpoint was created. */
  totalConnectFailures = 0;
  /** Sessions started. */
  connects = 0;
  private st: UpstreamState = { kind: "idle" };
  /** Sessions that take no new streams but still carry some. */
  readonly draining = new Set<ClientHttp2Session>();
  /** The TCP socket under each live session (node:http2 hides it behind a proxy). */
  private readonly sockets = new Map<ClientHttp2Session, Socket>();
  private readonly release = (): void => {
    this.inflight--;
  };

  constructor(
    readonly endpoint: Endpoint,
    private readonly opts: Resolved,
  ) {
    this.key = endpointKey(endpoint);
  }

  get state(): UpstreamState {
    return this.st;
  }

  /** False while in `backoff` or `closed`: a balancer should prefer other endpoints. */
  get available(): boolean {
    return this.st.kind !== "backoff" && this.st.kind !== "closed";
  }

  /** The session new streams go to, connecting lazily. Throws a {@link DataplaneError} in `backoff`/`closed`. */
  session(): ClientHttp2Session {
    const st = this.st;
    switch (st.kind) {
      case "open":
      case "connecting":
        return st.session;
      case "idle":
        return this.connect();
      case "backoff":
        throw new DataplaneError(
          "UPSTREAM_UNAVAILABLE",
          `${this.key} is unavailable (${st.error.message}); reconnecting in ${Math.max(0, st.until - Date.now())} ms`,
          GrpcStatus.UNAVAILABLE,
          503,
        );
      case "closed":
        throw new DataplaneError(
          "POOL_CLOSED",
          `${this.key} was removed`,
          GrpcStatus.UNAVAILABLE,
          503,
        );
    }
  }

  /** Opens a stream on the current session. Throws a {@link DataplaneError} when unavailable. */
  request(headers: OutgoingHttpHeaders, options?: ClientSessionRequestOptions): ClientHttp2Stream {
    let session = this.session();
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(headers, options);
    } catch (err) {
      // The session closed under us (GOAWAY just arrived): one fresh session, once.
      if (this.currentSession() === session) this.set({ kind: "idle" });
      session = this.session();
      try {
        stream = session.request(headers, options);
      } catch (err2) {
        throw new DataplaneError(
          "UPSTREAM_UNAVAILABLE",
          `${this.key}: ${(err2 as Error).message}`,
          GrpcStatus.UNAVAILABLE,
          503,
          undefined,
          { cause: err },
        );
      }
    }
    this.inflight++;
    // 'close' is emitted once per stream: `on` spares the per-request once-wrapper
    stream.on("close", this.release);
    return stream;
  }

  /** Stops new streams; sessions close once their last stream ends. */
  drain(): void {
    const current = this.currentSession();
    if (this.st.kind === "backoff") clearTimeout(this.st.timer);
    this.set({ kind: "closed" });
    if (current !== undefined) {
      this.draining.add(current);
      current.close();
    }
  }

  /** Destroys every session and its socket now (a gracefully closed session may otherwise wait for the peer's FIN). */
  destroy(): void {
    this.drain();
    for (const [session, socket] of this.sockets) {
      session.destroy();
      socket.destroy();
    }
  }

  /** Sessions not yet closed (current and draining). */
  get liveSessions(): number {
    return this.sockets.size;
  }

  /** Resolves once every session of this endpoint has closed. */
  async closed(): Promise<void> {
    await Promise.all(
      [...this.sockets.keys()].map((s) => new Promise<void>((r) => s.once("close", () => r()))),
    );
  }

  private currentSession(): ClientHttp2Session | undefined {
    const st = this.st;
    return st.kind === "open" || st.kind === "connecting" ? st.session : undefined;
  }

  private set(st: UpstreamState): void {
    this.st = st;
    this.opts.onStateChange?.(this, st.kind);
  }

  private connect(): ClientHttp2Session {
    const { host, port } = this.endpoint;
    const authority = host.includes(":") ? `http://[${host}]:${port}` : `http://${host}:${port}`;
    this.connects++;
    let socket: Socket | undefined;
    const session = connect(authority, {
      settings: {
        enablePush: false,
        initialWindowSize: this.opts.initialWindowSize,
        maxHeaderListSize: 256 * 1024,
      },
      maxHeaderListPairs: 4096,
      maxSessionMemory: this.opts.maxSessionMemory,
      createConnection: () => {
        socket = netConnect({ host, port, noDelay: true });
        return socket;
      },
    });
    if (socket !== undefined) this.sockets.set(session, socket);
    let connected = false;
    let lastError: Error | undefined;
    const connectTimer = setTimeout(() => {
      lastError = new Error(`connect timed out after ${this.opts.connectTimeoutMs} ms`);
      session.destroy();
    }, this.opts.connectTimeoutMs);
    connectTimer.unref();
    session.on("error", (err: Error) => {
      lastError = err;
    });
    session.once("connect", () => {
      connected = true;
      clearTimeout(connectTimer);
      if (this.opts.connectionWindowSize > 65_535) {
        try {
          session.setLocalWindowSize(this.opts.connectionWindowSize);
        } catch {
          // closed meanwhile
        }
      }
      if (this.currentSession() === session) {
        this.connectFailures = 0;
        this.set({ kind: "open", session });
      }
    });
    session.on("goaway", () => {
      // node:http2 closes (NO_ERROR) or destroys the session itself; streams above the
      // peer's last-stream-id are closed with REFUSED_STREAM and may be retried.
      if (this.currentSession() === session) this.set({ kind: "idle" });
      this.draining.add(session);
    });
    session.once("close", () => {
      clearTimeout(connectTimer);
      this.draining.delete(session);
      this.sockets.delete(session);
      if (this.currentSession() !== session) return;
      if (connected) {
        this.set({ kind: "idle" });
        return;
      }
      this.connectFailures++;
      this.totalConnectFailures++;
      const delay = this.backoffDelay();
      const timer = setTimeout(() => {
        if (this.st.kind === "backoff" && this.st.timer === timer) this.set({ kind: "idle" });
      }, delay);
      timer.unref();
      this.set({
        kind: "backoff",
        until: Date.now() + delay,
        error: lastError ?? new Error("connection closed before the HTTP/2 handshake"),
        timer,
      });
    });
    session.unref();
    this.set({ kind: "connecting", session });
    return session;
  }

  private backoffDelay(): number {
    const { backoffBaseMs, backoffMaxMs, backoffJitter } = this.opts;
    const exp = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(30, this.connectFailures - 1));
    return Math.max(1, Math.round(exp * (1 - backoffJitter + 2 * backoffJitter * Math.random())));
  }
}

/**
 * One multiplexed h2c (prior knowledge) session per endpoint, reused, lazily connected,
 * reconnected with jittered exponential backoff, GOAWAY honoured, removed endpoints drained.
 * Linkerd's h2 clients likewise use a single connection per endpoint.
 */
export class UpstreamPool {
  private readonly endpoints = new Map<string, UpstreamEndpoint>();
  /** The entry last returned for an endpoint object (the router's endpoints are long-lived): no key string per request. */
  private byObject = new WeakMap<Endpoint, UpstreamEndpoint>();
  private readonly opts: Resolved;
  private closed = false;

  constructor(opts: UpstreamPoolOptions = {}) {
    this.opts = {
      initialWindowSize: opts.initialWindowSize ?? 65_535,
      connectionWindowSize: opts.connectionWindowSize ?? 1 << 20,
      connectTimeoutMs: opts.connectTimeoutMs ?? 3_000,
      backoffBaseMs: opts.backoffBaseMs ?? 100,
      backoffMaxMs: opts.backoffMaxMs ?? 10_000,
      backoffJitter: opts.backoffJitter ?? 0.2,
      maxSessionMemory: opts.maxSessionMemory ?? 64,
      onStateChange: opts.onStateChange,
    };
  }

  /** The endpoint's entry, created on first use (no connection is made until a stream needs one). */
  get(ep: Endpoint): UpstreamEndpoint {
    const cached = this.byObject.get(ep);
    if (
      cached !== undefined &&
      cached.endpoint.host === ep.host &&
      cached.endpoint.port === ep.port &&
      this.endpoints.get(cached.key) === cached
    ) {
      return cached;
    }
    const key = endpointKey(ep);
    let entry = this.endpoints.get(key);
    if (entry === undefined) {
      entry = new UpstreamEndpoint({ host: ep.host, port: ep.port }, this.opts);
      if (this.closed) entry.drain();
      else this.endpoints.set(key, entry);
    }
    if (!this.closed) this.byObject.set(ep, entry);
    return entry;
  }

  /** The session new streams to `ep` use (connecting lazily). Throws a {@link DataplaneError} in backoff. */
  session(ep: Endpoint): ClientHttp2Session {
    return this.get(ep).session();
  }

  /** Opens a stream to `ep`. Throws a {@link DataplaneError} when the endpoint is unavailable. */
  request(
    ep: Endpoint,
    headers: OutgoingHttpHeaders,
    options?: ClientSessionRequestOptions,
  ): ClientHttp2Stream {
    return this.get(ep).request(headers, options);
  }

  /** Entries currently known to the pool. */
  list(): UpstreamEndpoint[] {
    return [...this.endpoints.values()];
  }

  /** Drains every endpoint not in `keep` (endpoint removal: no new streams, closed when idle). */
  retain(keep: Iterable<Endpoint>): void {
    const keys = new Set<string>();
    for (const ep of keep) keys.add(endpointKey(ep));
    for (const [key, entry] of this.endpoints) {
      if (!keys.has(key)) {
        this.endpoints.delete(key);
        entry.drain();
      }
    }
  }

  /** Drains one endpoint: no new streams; its connection closes when its last stream ends. */
  drain(ep: Endpoint): void {
    const key = endpointKey(ep);
    const entry = this.endpoints.get(key);
    if (entry === undefined) return;
    this.endpoints.delete(key);
    entry.drain();
  }

  /** Closes every connection: gracefully for up to `graceMs` (default 0), then destroyed. */
  async close(graceMs = 0): Promise<void> {
    this.closed = true;
    const entries = [...this.endpoints.values()];
    this.endpoints.clear();
    for (const e of entries) e.drain();
    const deadline = Date.now() + graceMs;
    while (entries.some((e) => e.inflight > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const waits = entries.map((e) => e.closed());
    for (const e of entries) e.destroy();
    await Promise.all(waits);
  }
}
