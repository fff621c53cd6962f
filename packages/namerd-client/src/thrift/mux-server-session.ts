/**
 * The server end of a Mux session, as Finagle's MuxServerNegotiator and MuxServerSession
 * behave:
 *
 * - handshake: a first message that is the marker `Rerr(1, "tinit check")` is echoed; a Tinit
 *   (version 1) that follows is answered with Rinit carrying our headers (`mux-framer`: our
 *   frame limit, `tls`: `off`). A client that sends anything else first (it skips Tinit) gets
 *   a version-1 session with no headers, and that first message is handled normally;
 * - Tdispatch (and the legacy Treq) runs the handler and answers Rdispatch (Rreq) with the
 *   same tag: OK with its body, ERROR with the message of a handler that threw;
 * - Tdiscarded aborts the handler's signal and answers Rdiscarded; the handler's late answer
 *   is dropped;
 * - Tping is answered with Rping at once; Tlease and unexpected replies are ignored;
 * - `drain()` sends Tdrain, answers new dispatches with a NACK, and ends the session when the
 *   outstanding ones finish (or when `close()` aborts them).
 *
 * At most `maxOutstanding` dispatches run at once per session; more are NACKed.
 */
import type { Socket } from "node:net";
import {
  CAN_TINIT_MSG,
  CONTROL_TAG,
  type Headers,
  headerValue,
  MUX_FRAMER_KEY,
  MUX_VERSION,
  type MuxMessage,
  MuxProtocolError,
  ReplyStatus,
  TLS_KEY,
} from "./mux-message.js";
import { MuxSession, type MuxSessionOptions } from "./mux-session.js";

export interface MuxRequest {
  readonly body: Buffer;
  readonly contexts: Headers;
  readonly dst: string;
  readonly dtab: ReadonlyArray<readonly [string, string]>;
}

/** Answers one request; `signal` aborts when the client discards it or the session ends. */
export type MuxHandler = (req: MuxRequest, signal: AbortSignal) => Promise<Buffer>;

export interface MuxServerSessionOptions extends MuxSessionOptions {
  /** Dispatches outstanding at once per session before new ones are NACKed (default 10,000). */
  readonly maxOutstanding?: number;
}

export const DEFAULT_MAX_OUTSTANDING = 10_000;

type Phase = "start" | "awaitTinit" | "ready";

export class MuxServerSession extends MuxSession {
  readonly #handler: MuxHandler;
  readonly #maxOutstanding: number;
  readonly #outstanding = new Map<number, AbortController>();
  #phase: Phase = "start";
  #draining = false;
  /** The client's Tinit headers, when it sent a Tinit. */
  peerHeaders: Headers | undefined;

  constructor(socket: Socket, handler: MuxHandler, opts: MuxServerSessionOptions = {}) {
    super(socket, opts);
    this.#handler = handler;
    this.#maxOutstanding = opts.maxOutstanding ?? DEFAULT_MAX_OUTSTANDING;
  }

  /** Dispatches running now. */
  get outstanding(): number {
    return this.#outstanding.size;
  }

  protected handle(m: MuxMessage): void {
    if (this.#phase === "start") {
      if (m.type === "Rerr" && m.tag === CONTROL_TAG && m.why === CAN_TINIT_MSG) {
        this.#phase = "awaitTinit";
        this.send({ type: "Rerr", tag: CONTROL_TAG, why: CAN_TINIT_MSG });
        return;
      }
      this.#phase = "ready";
    } else if (this.#phase === "awaitTinit") {
      this.#phase = "ready";
      if (m.type === "Tinit") {
        this.#init(m.tag, m.version, m.headers);
        return;
      }
    }
    this.#ready(m);
  }

  #init(tag: number, version: number, headers: Headers): void {
    if (version !== MUX_VERSION) {
      this.send({ type: "Rerr", tag, why: `Unsupported Mux version: ${version}` });
      this.endSocket();
      return;
    }
    const tls = headerValue(headers, TLS_KEY)?.toString("utf8");
    if (tls === "required" && !("encrypted" in this.socket)) {
      this.send({
        type: "Rerr",
        tag,
        why: "opportunistic TLS is not supported: configure TLS on the interface instead",
      });
      this.endSocket();
      return;
    }
    this.peerHeaders = headers;
    const size = Buffer.allocUnsafe(4);
    size.writeUInt32BE(this.maxFrameBytes, 0);
    this.send({
      type: "Rinit",
      tag,
      version: MUX_VERSION,
      headers: [
        [Buffer.from(MUX_FRAMER_KEY), size],
        [Buffer.from(TLS_KEY), Buffer.from("off")],
      ],
    });
  }

  #ready(m: MuxMessage): void {
    switch (m.type) {
      case "Tdispatch":
        this.#dispatch(
          m.tag,
          { body: m.body, contexts: m.contexts, dst: m.dst, dtab: m.dtab },
          false,
        );
        return;
      case "Treq":
        this.#dispatch(m.tag, { body: m.body, contexts: [], dst: "", dtab: [] }, true);
        return;
      case "Tping":
        this.send({ type: "Rping", tag: m.tag });
        return;
      case "Tdiscarded":
        this.#discarded(m.which, m.why);
        return;
      case "Tdrain":
        this.send({ type: "Rdrain", tag: m.tag });
        return;
      case "Tinit":
        this.send({ type: "Rerr", tag: m.tag, why: "Tinit after the session started" });
        return;
      case "Tlease":
      case "Rdrain":
      case "Rping":
      case "Rerr":
      case "Rinit":
      case "Rdispatch":
      case "Rreq":
      case "Rdiscarded":
        // replies to nothing we sent (or our drain's acknowledgement): nothing to do
        return;
      case "fragment":
        // the joiner never lets one through
        return;
    }
  }

  #dispatch(tag: number, req: MuxRequest, legacy: boolean): void {
    const reply = (status: number, body: Buffer) =>
      this.send(
        legacy
          ? { type: "Rreq", tag, status, body }
          : { type: "Rdispatch", tag, status, contexts: [], body },
      );
    if (tag === 0) {
      this.fail(new MuxProtocolError("a dispatch on the marker tag 0"));
      return;
    }
    if (this.#outstanding.has(tag)) {
      this.fail(new MuxProtocolError(`tag ${tag} is already in use`));
      return;
    }
    if (this.#draining || this.#outstanding.size >= this.#maxOutstanding) {
      reply(ReplyStatus.NACK, Buffer.alloc(0));
      return;
    }
    const ac = new AbortController();
    this.#outstanding.set(tag, ac);
    let answer: Promise<Buffer>;
    try {
      answer = this.#handler(req, ac.signal);
    } catch (e) {
      answer = Promise.reject(e);
    }
    answer.then(
      (body) => {
        if (this.#outstanding.get(tag) !== ac) return;
        this.#outstanding.delete(tag);
        reply(ReplyStatus.OK, body);
        this.#maybeDrained();
      },
      (e: unknown) => {
        if (this.#outstanding.get(tag) !== ac) return;
        this.#outstanding.delete(tag);
        reply(ReplyStatus.ERROR, Buffer.from(e instanceof Error ? e.message : String(e), "utf8"));
        this.#maybeDrained();
      },
    );
  }

  #discarded(which: number, why: string): void {
    this.dropFragments(which);
    const ac = this.#outstanding.get(which);
    if (!ac) return;
    this.#outstanding.delete(which);
    ac.abort(new Error(`discarded by the client: ${why}`));
    this.send({ type: "Rdiscarded", tag: which });
    this.#maybeDrained();
  }

  /** Asks the client to stop sending (Tdrain); the session ends once nothing is outstanding. */
  drain(): void {
    if (this.#draining || this.closed) return;
    this.#draining = true;
    this.send({ type: "Tdrain", tag: CONTROL_TAG });
    this.#maybeDrained();
  }

  /** Drains, aborts what is outstanding (those requests get no answer) and ends the session. */
  close(): void {
    this.drain();
    for (const ac of this.#outstanding.values()) ac.abort(new Error("namerd is shutting down"));
    this.#outstanding.clear();
    this.endSocket();
  }

  #maybeDrained(): void {
    if (this.#draining && this.#outstanding.size === 0) this.endSocket();
  }

  protected closing(cause: Error | undefined): void {
    for (const ac of this.#outstanding.values())
      ac.abort(cause ?? new Error("the client closed the session"));
    this.#outstanding.clear();
  }
}
