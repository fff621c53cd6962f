/**
 * The client end of a Mux session, as Finagle's MuxClientNegotiatingSession and ClientSession
 * behave:
 *
 * - `handshake()` sends the marker `Rerr(1, "tinit check")`; a server that echoes it gets a
 *   Tinit (version 1, `mux-framer`: our frame limit, `tls`: `off`) and must answer Rinit; a
 *   server that answers anything else does not negotiate, and the session runs at version 1;
 * - `dispatch(body)` sends Tdispatch on the smallest free tag (2 and up; tag 1 is for pings
 *   and the handshake) and resolves with the Rdispatch body; an ERROR status, a NACK or an
 *   Rerr rejects. Aborting its signal sends Tdiscarded; the tag is reused only after the
 *   server's Rdiscarded (or late answer) frees it;
 * - pings: every `pingIntervalMs` a Tping on tag 1; no Rping within `pingTimeoutMs` closes
 *   the session (Linkerd's threshold failure detector, `failureThreshold`);
 * - Tdrain is acknowledged with Rdrain, and no new dispatch is sent (`draining`); the owner
 *   opens a new session for new calls. A Tping from the server is answered.
 */
import type { Socket } from "node:net";
import {
  CAN_TINIT_MSG,
  CONTROL_TAG,
  type Headers,
  MAX_TAG,
  MIN_TAG,
  MUX_FRAMER_KEY,
  MUX_VERSION,
  type MuxMessage,
  MuxProtocolError,
  ReplyStatus,
  TLS_KEY,
} from "./mux-message.js";
import { MuxSession, MuxSessionClosedError, type MuxSessionOptions } from "./mux-session.js";

export interface MuxClientSessionOptions extends MuxSessionOptions {
  /** How long the handshake may take (default 10 s). */
  readonly handshakeTimeoutMs?: number;
  /** Period of liveness pings; 0 turns them off (default 5 s, Linkerd's minPeriodMs). */
  readonly pingIntervalMs?: number;
  /** A ping unanswered this long closes the session (default 4 s, Linkerd's closeTimeoutMs). */
  readonly pingTimeoutMs?: number;
  /** The server sent Tdrain. */
  readonly onDrain?: () => void;
}

/** The server answered a dispatch with an error (Rdispatch ERROR or Rerr). */
export class MuxRemoteError extends Error {
  override readonly name = "MuxRemoteError";
}

/** The server refused the dispatch without processing it (NACK) or is draining. */
export class MuxNackError extends Error {
  override readonly name = "MuxNackError";
}

interface Pending {
  resolve(body: Buffer): void;
  reject(e: Error): void;
}

type Phase = "new" | "awaitMarker" | "awaitRinit" | "ready";

export class MuxClientSession extends MuxSession {
  readonly #opts: MuxClientSessionOptions;
  readonly #pending = new Map<number, Pending>();
  /** Tags discarded by us and not yet released by the server. */
  readonly #discarded = new Set<number>();
  readonly #freeTags: number[] = [];
  #nextTag = MIN_TAG;
  #phase: Phase = "new";
  #handshake: { resolve(): void; reject(e: Error): void; timer: NodeJS.Timeout } | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #pingDeadline: NodeJS.Timeout | undefined;
  #draining = false;
  /** The server's Rinit headers, when it negotiated. */
  peerHeaders: Headers | undefined;

  constructor(socket: Socket, opts: MuxClientSessionOptions = {}) {
    super(socket, opts);
    this.#opts = opts;
  }

  /** The server asked us to stop sending (Tdrain). */
  get draining(): boolean {
    return this.#draining;
  }

  /** Dispatches awaiting an answer. */
  get outstanding(): number {
    return this.#pending.size;
  }

  /** Negotiates as Finagle does; resolves once dispatches may be sent. */
  handshake(): Promise<void> {
    if (this.#phase !== "new") return Promise.reject(new Error("handshake already started"));
    if (this.closed) return Promise.reject(new MuxSessionClosedError("the session is closed"));
    this.#phase = "awaitMarker";
    return new Promise<void>((resolve, reject) => {
      const ms = this.#opts.handshakeTimeoutMs ?? 10_000;
      const timer = setTimeout(
        () => this.fail(new Error(`no Mux handshake answer within ${ms} ms`)),
        ms,
      );
      timer.unref();
      this.#handshake = { resolve, reject, timer };
      this.send({ type: "Rerr", tag: CONTROL_TAG, why: CAN_TINIT_MSG });
    });
  }

  #handshakeDone(e?: Error): void {
    const h = this.#handshake;
    this.#handshake = undefined;
    if (!h) return;
    clearTimeout(h.timer);
    if (e) {
      h.reject(e);
      return;
    }
    this.#phase = "ready";
    this.#startPings();
    h.resolve();
  }

  protected handle(m: MuxMessage): void {
    switch (this.#phase) {
      case "new":
        // nothing is expected before we speak; a server message then is a protocol error
        this.fail(new MuxProtocolError(`unexpected ${m.type} before the handshake`));
        return;
      case "awaitMarker":
        if (m.type === "Rerr" && m.tag === CONTROL_TAG && m.why === CAN_TINIT_MSG) {
          this.#phase = "awaitRinit";
          const size = Buffer.allocUnsafe(4);
          size.writeUInt32BE(this.maxFrameBytes, 0);
          this.send({
            type: "Tinit",
            tag: CONTROL_TAG,
            version: MUX_VERSION,
            headers: [
              [Buffer.from(MUX_FRAMER_KEY), size],
              [Buffer.from(TLS_KEY), Buffer.from("off")],
            ],
          });
        } else {
          // a server that cannot negotiate: version 1 without headers (the answer is dropped)
          this.#handshakeDone();
        }
        return;
      case "awaitRinit":
        if (m.type === "Rinit" && m.version === MUX_VERSION) {
          this.peerHeaders = m.headers;
          this.#handshakeDone();
        } else {
          const why = m.type === "Rerr" ? m.why : `invalid Tinit answer ${m.type}`;
          this.fail(new MuxProtocolError(`Mux handshake refused: ${why}`));
        }
        return;
      case "ready":
        this.#ready(m);
        return;
    }
  }

  #ready(m: MuxMessage): void {
    switch (m.type) {
      case "Rdispatch":
      case "Rreq": {
        const p = this.#settle(m.tag);
        if (!p) return;
        if (m.status === ReplyStatus.OK) p.resolve(m.body);
        else if (m.status === ReplyStatus.NACK)
          p.reject(new MuxNackError("the server refused the request (NACK)"));
        else p.reject(new MuxRemoteError(m.body.toString("utf8")));
        return;
      }
      case "Rerr": {
        this.#settle(m.tag)?.reject(new MuxRemoteError(m.why));
        return;
      }
      case "Rdiscarded":
        this.#settle(m.tag);
        return;
      case "Rping":
        clearTimeout(this.#pingDeadline);
        this.#pingDeadline = undefined;
        return;
      case "Tping":
        this.send({ type: "Rping", tag: m.tag });
        return;
      case "Tdrain":
        this.send({ type: "Rdrain", tag: m.tag });
        if (!this.#draining) {
          this.#draining = true;
          this.#opts.onDrain?.();
        }
        return;
      case "Tdispatch":
      case "Treq":
        this.send({ type: "Rerr", tag: m.tag, why: "this client serves no requests" });
        return;
      case "Tinit":
        this.send({ type: "Rerr", tag: m.tag, why: "Tinit after the session started" });
        return;
      default:
        // Tlease (advisory), Tdiscarded of nothing, stray Rinit/Rdrain: nothing to do
        return;
    }
  }

  /** Frees `tag`; returns its waiter unless it had been discarded. */
  #settle(tag: number): Pending | undefined {
    if (this.#discarded.delete(tag)) {
      this.#freeTags.push(tag);
      return undefined;
    }
    const p = this.#pending.get(tag);
    if (!p) return undefined;
    this.#pending.delete(tag);
    this.#freeTags.push(tag);
    return p;
  }

  #allocTag(): number | undefined {
    const t = this.#freeTags.pop();
    if (t !== undefined) return t;
    if (this.#nextTag > MAX_TAG) return undefined;
    return this.#nextTag++;
  }

  /** Sends `body` in a Tdispatch; resolves with the Rdispatch body. */
  dispatch(body: Buffer, signal?: AbortSignal): Promise<Buffer> {
    if (this.closed) return Promise.reject(new MuxSessionClosedError("the session is closed"));
    if (this.#phase !== "ready")
      return Promise.reject(new Error("dispatch before the handshake completed"));
    if (this.#draining) return Promise.reject(new MuxNackError("the server is draining"));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const tag = this.#allocTag();
    if (tag === undefined) return Promise.reject(new Error("no free Mux tag"));
    return new Promise<Buffer>((resolve, reject) => {
      const onAbort = () => {
        if (this.#pending.get(tag) !== entry) return;
        this.#pending.delete(tag);
        this.#discarded.add(tag);
        this.send({ type: "Tdiscarded", tag: 0, which: tag, why: "the request was released" });
        reject(abortError(signal!));
      };
      const entry: Pending = {
        resolve: (b) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(b);
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      this.#pending.set(tag, entry);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.send({ type: "Tdispatch", tag, contexts: [], dst: "", dtab: [], body });
    });
  }

  #startPings(): void {
    const every = this.#opts.pingIntervalMs ?? 5_000;
    if (every <= 0) return;
    const timeout = this.#opts.pingTimeoutMs ?? 4_000;
    this.#pingTimer = setInterval(() => {
      if (this.#pingDeadline) return;
      this.send({ type: "Tping", tag: CONTROL_TAG });
      this.#pingDeadline = setTimeout(
        () => this.fail(new Error(`no answer to a Mux ping within ${timeout} ms`)),
        timeout,
      );
      this.#pingDeadline.unref();
    }, every);
    this.#pingTimer.unref();
  }

  /** Ends the session: outstanding dispatches fail. */
  close(): void {
    this.fail(new MuxSessionClosedError("the session was closed"));
  }

  protected closing(cause: Error | undefined): void {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pingDeadline);
    const e = new MuxSessionClosedError(
      cause ? `the Mux session ended: ${cause.message}` : "the server closed the Mux session",
    );
    this.#handshakeDone(e);
    const waiting = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of waiting) p.reject(e);
  }
}

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  const e = new Error(r instanceof Error ? r.message : "aborted");
  e.name = "AbortError";
  return e;
}
