/**
 * A ThriftMux client of namerd's `Namer` service: one Mux session (plain TCP, or TLS checked
 * against `commonName`) to the address `dst` binds to, dialled on demand and again after it
 * breaks or the server drains it; `dst` is bound again on every dial, so a namerd that moves
 * is followed. `call` sends one thrift call and reads its reply, telling a transport failure
 * (thrown) from namerd's answer (an IDL failure or a TApplicationException, returned).
 *
 * Long-polls that lost the connection wait in `waitForReconnect`: while any wait, the client
 * itself probes namerd (1 s doubling to 30 s, never slower than the caller's own backoff), and
 * the first session that comes up wakes them all, so updates resume as soon as namerd is back
 * rather than after a long per-poll backoff.
 */
import { connect as netConnect, type Socket } from "node:net";
import { checkServerIdentity, connect as tlsConnect } from "node:tls";
import type { Path } from "@l5d/dtab";
import { resolveNamerd } from "../namerd-dst.js";
import { MuxClientSession, MuxRemoteError } from "./mux-client-session.js";
import {
  decodeReply,
  encodeCall,
  type NamerMethod,
  type Reply,
  TApplicationError,
  TApplicationExceptionType,
} from "./namer-idl.js";

const { INTERNAL_ERROR, PROTOCOL_ERROR } = TApplicationExceptionType;

export interface NamerClientTls {
  /** The name namerd's certificate must carry (also sent as SNI unless it is an IP). */
  readonly commonName: string;
  /** PEM CA certificates to trust instead of the system's. */
  readonly ca?: Buffer;
}

export interface ThriftNamerClientOptions {
  readonly dst: Path;
  readonly tls?: NamerClientTls;
  /** Mux pings (Linkerd's `failureThreshold`): every minPeriodMs, unanswered after closeTimeoutMs. */
  readonly pingIntervalMs?: number;
  readonly pingTimeoutMs?: number;
  /** TCP connect (+ TLS + Mux handshake) timeout; default 10 s. */
  readonly connectTimeoutMs?: number;
  readonly maxFrameBytes?: number;
  /** A session came up, went down, or could not be set up (`up: false` with the cause). */
  readonly onSession?: (event: { up: boolean; address: string; cause?: Error }) => void;
}

const PROBE_MIN_MS = 1_000;
const PROBE_MAX_MS = 30_000;

export class ThriftNamerClient {
  /** `host:port` last dialled. */
  address: string | undefined;
  #session: MuxClientSession | undefined;
  #dialling: Promise<MuxClientSession> | undefined;
  #closed = false;
  #seq = 0;
  readonly #sessions = new Set<MuxClientSession>();
  readonly #waiters = new Set<() => void>();
  #probeTimer: NodeJS.Timeout | undefined;
  #probeDelay = PROBE_MIN_MS;

  constructor(readonly opts: ThriftNamerClientOptions) {}

  /** `close()` was called: no call will succeed again. */
  get closed(): boolean {
    return this.#closed;
  }

  get connected(): boolean {
    return this.#session !== undefined && !this.#session.closed;
  }

  /** Sends one call; rejects on a transport failure, returns namerd's answer otherwise. */
  async call<Req, Rep, Fail>(
    m: NamerMethod<Req, Rep, Fail>,
    req: Req,
    signal?: AbortSignal,
  ): Promise<Reply<Rep, Fail>> {
    const s = await this.session();
    this.#seq = (this.#seq + 1) | 0;
    let body: Buffer;
    try {
      body = await s.dispatch(encodeCall(m, this.#seq, req), signal);
    } catch (e) {
      // the server took the request and failed it: an answer, not an outage
      if (e instanceof MuxRemoteError)
        return { kind: "exception", error: new TApplicationError(e.message, INTERNAL_ERROR) };
      throw e;
    }
    try {
      return decodeReply(m, body);
    } catch (e) {
      return {
        kind: "exception",
        error: new TApplicationError(`malformed reply: ${(e as Error).message}`, PROTOCOL_ERROR),
      };
    }
  }

  /** The live session, dialling one if needed. */
  session(): Promise<MuxClientSession> {
    if (this.#closed) return Promise.reject(new Error("the namerd client is closed"));
    const s = this.#session;
    if (s && !s.closed && !s.draining) return Promise.resolve(s);
    this.#dialling ??= this.#dial()
      .catch((e: Error) => {
        this.opts.onSession?.({ up: false, address: this.address ?? "", cause: e });
        throw e;
      })
      .finally(() => {
        this.#dialling = undefined;
      });
    return this.#dialling;
  }

  async #dial(): Promise<MuxClientSession> {
    const { host, port } = await resolveNamerd(this.opts.dst);
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    this.address = address;
    if (this.#closed) throw new Error("the namerd client is closed");
    const socket = await this.#connect(host, port);
    if (this.#closed) {
      socket.destroy();
      throw new Error("the namerd client is closed");
    }
    const session: MuxClientSession = new MuxClientSession(socket, {
      ...(this.opts.maxFrameBytes !== undefined ? { maxFrameBytes: this.opts.maxFrameBytes } : {}),
      handshakeTimeoutMs: this.opts.connectTimeoutMs ?? 10_000,
      pingIntervalMs: this.opts.pingIntervalMs ?? 5_000,
      pingTimeoutMs: this.opts.pingTimeoutMs ?? 4_000,
      onDrain: () => {
        // new calls go to a new session; this one ends when the server closes it
        if (this.#session !== session) return;
        this.#session = undefined;
        this.opts.onSession?.({
          up: false,
          address,
          cause: new Error("namerd drained the session"),
        });
      },
      onClose: (cause) => {
        this.#sessions.delete(session);
        if (this.#session === session) {
          this.#session = undefined;
          this.opts.onSession?.({ up: false, address, ...(cause ? { cause } : {}) });
        }
      },
    });
    this.#sessions.add(session);
    await session.handshake();
    this.#session = session;
    this.opts.onSession?.({ up: true, address });
    this.#wakeAll();
    return session;
  }

  #connect(host: string, port: number): Promise<Socket> {
    const timeoutMs = this.opts.connectTimeoutMs ?? 10_000;
    const tls = this.opts.tls;
    return new Promise<Socket>((resolve, reject) => {
      const socket: Socket = tls
        ? tlsConnect({
            host,
            port,
            ...(tls.ca ? { ca: tls.ca } : {}),
            ...(isIpLiteral(tls.commonName) ? {} : { servername: tls.commonName }),
            checkServerIdentity: (_host, cert) => checkServerIdentity(tls.commonName, cert),
          })
        : netConnect({ host, port });
      const ready = tls ? "secureConnect" : "connect";
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (e: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      };
      socket.once("error", onError);
      socket.once(ready, () => {
        clearTimeout(timer);
        socket.off("error", onError);
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000);
        resolve(socket);
      });
    });
  }

  /**
   * Resolves after `ms`, or as soon as a session comes up, or when `signal` aborts; meanwhile
   * namerd is probed so the wake-up does not wait for someone else's timer.
   */
  waitForReconnect(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
      this.#probe(ms);
    });
  }

  #probe(callerMs: number): void {
    if (this.#probeTimer || this.#closed || this.#waiters.size === 0) return;
    const delay = Math.min(this.#probeDelay, callerMs);
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = undefined;
      if (this.#closed || this.#waiters.size === 0) return;
      this.session().then(
        () => {
          this.#probeDelay = PROBE_MIN_MS;
        },
        () => {
          this.#probeDelay = Math.min(this.#probeDelay * 2, PROBE_MAX_MS);
          this.#probe(PROBE_MAX_MS);
        },
      );
    }, delay);
    this.#probeTimer.unref();
  }

  #wakeAll(): void {
    this.#probeDelay = PROBE_MIN_MS;
    for (const w of [...this.#waiters]) w();
  }

  /** Closes every session; calls in flight fail. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#probeTimer);
    for (const w of [...this.#waiters]) w();
    for (const s of [...this.#sessions]) s.close();
    this.#session = undefined;
  }
}

function isIpLiteral(s: string): boolean {
  return /^[\d.]+$/.test(s) || s.includes(":");
}
