/**
 * What both ends of a Mux session share: reading frames off a socket within the frame limit,
 * joining fragments, decoding, writing messages, and closing exactly once. A frame over the
 * limit, garbage, or a message that does not decode closes the session (Finagle does the same
 * on a decode failure); the subclasses (`MuxClientSession`, `MuxServerSession`) handle the
 * messages.
 */
import type { Socket } from "node:net";
import { FragmentJoiner, FrameDecoder, MAX_MUX_FRAME_BYTES } from "./mux-framer.js";
import { decodeMessage, encodeMessage, type MuxMessage } from "./mux-message.js";

export interface MuxSessionOptions {
  /** Largest frame or reassembled message accepted (default 16 MiB). */
  readonly maxFrameBytes?: number;
  /** Called once when the session ends: with the cause, or undefined for a clean close. */
  readonly onClose?: (cause: Error | undefined) => void;
}

/** The session ended before an exchange completed. */
export class MuxSessionClosedError extends Error {
  override readonly name = "MuxSessionClosedError";
}

export abstract class MuxSession {
  readonly #decoder: FrameDecoder;
  readonly #joiner: FragmentJoiner;
  readonly #onClose: ((cause: Error | undefined) => void) | undefined;
  #closed = false;
  #cause: Error | undefined;

  constructor(
    readonly socket: Socket,
    opts: MuxSessionOptions,
  ) {
    const max = opts.maxFrameBytes ?? MAX_MUX_FRAME_BYTES;
    this.#decoder = new FrameDecoder(max);
    this.#joiner = new FragmentJoiner(max);
    this.#onClose = opts.onClose;
    socket.on("data", (chunk: Buffer) => this.#receive(chunk));
    socket.on("error", (e) => {
      this.#cause ??= e;
    });
    socket.on("close", () => this.#ended(this.#cause));
  }

  get maxFrameBytes(): number {
    return this.#decoder.maxFrameBytes;
  }

  /** Bytes held waiting for the rest of a frame (bounded by the frame limit). */
  get bufferedBytes(): number {
    return this.#decoder.buffered;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** `host:port` of the peer. */
  get remote(): string {
    const a = this.socket.remoteAddress ?? "?";
    return `${a.includes(":") ? `[${a}]` : a}:${this.socket.remotePort ?? "?"}`;
  }

  #receive(chunk: Buffer): void {
    if (this.#closed) return;
    try {
      for (const frame of this.#decoder.push(chunk)) {
        const whole = this.#joiner.accept(frame);
        if (whole === undefined) continue;
        this.handle(decodeMessage(whole));
        if (this.#closed) return;
      }
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Handles one decoded message from the peer. */
  protected abstract handle(m: MuxMessage): void;

  /** Called once as the session ends, before `onClose`. */
  protected abstract closing(cause: Error | undefined): void;

  /** Forgets the fragments of a discarded exchange. */
  protected dropFragments(tag: number): void {
    this.#joiner.drop(tag);
  }

  /** Writes one message; a no-op once the session is closed. */
  protected send(m: MuxMessage): void {
    if (this.#closed || this.socket.destroyed) return;
    this.socket.write(encodeMessage(m));
  }

  /** Ends the session at once because of `cause` (the socket is destroyed). */
  fail(cause: Error): void {
    if (this.#closed) return;
    this.#cause ??= cause;
    this.socket.destroy();
    this.#ended(this.#cause);
  }

  /** Ends the session after flushing what was written. */
  protected endSocket(): void {
    if (this.socket.destroyed) return;
    this.socket.end();
    // a peer that never reads must not keep the socket (and its buffers) alive
    setTimeout(() => this.socket.destroy(), 1_000).unref();
  }

  #ended(cause: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closing(cause);
    this.#onClose?.(cause);
  }
}
