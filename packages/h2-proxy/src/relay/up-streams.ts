/**
 * The states of the streams on one upstream connection, seen from the client side (RFC 9113
 * §5.1), and the rules that follow for frames the upstream (the server) sends on them. The relay
 * opens odd streams only and never lets the server open any (SETTINGS_ENABLE_PUSH = 0), so:
 *
 * - idle: an even id, or an odd one we have not opened yet. HEADERS there is an unexpected stream
 *   identifier (§5.1.1), DATA / RST_STREAM / WINDOW_UPDATE a frame on an idle stream (§5.1,
 *   §6.4): connection errors PROTOCOL_ERROR. PRIORITY is allowed on any stream.
 * - open / half-closed (local): everything is delivered (END_STREAM sent moves open to
 *   half-closed (local)).
 * - half-closed (remote) (END_STREAM received, ours not sent): DATA or HEADERS is a stream error
 *   STREAM_CLOSED (§5.1); WINDOW_UPDATE and RST_STREAM are delivered.
 * - closed after END_STREAM both ways: DATA or HEADERS is a connection error STREAM_CLOSED
 *   (§5.1); WINDOW_UPDATE and RST_STREAM may still arrive for a short while (ignored).
 * - closed by a RST_STREAM we received: any frame but PRIORITY is a stream error STREAM_CLOSED
 *   (§5.1); a RST_STREAM is ignored (§5.4.2: never a RST_STREAM in answer to one).
 * - closed by a RST_STREAM we sent: frames are ignored (§5.1: the peer may have sent them
 *   before it saw ours), DATA still counted against the connection window (§6.9).
 *
 * Closed streams are remembered (their way of closing) for the last {@link CLOSED_KEPT}; an
 * older one is treated as reset by us (its frames ignored). `UpFrameConn` keeps the table current
 * as frames are sent: END_STREAM and RST_STREAM on the way out, whoever sends them.
 */
import { ConnectionError, ErrorCode, Flag, FrameConn, FrameType, type HeaderField } from "@l5d/h2";

/** Bits of a stream's state: what was sent and received on it. */
const LOCAL_END = 1;
const REMOTE_END = 2;
const RESET_SENT = 4;
const RESET_RECEIVED = 8;
const BOTH_ENDS = LOCAL_END | REMOTE_END;
const RESET = RESET_SENT | RESET_RECEIVED;

/** How many closed streams keep their way of closing (older ones: treated as reset by us). */
export const CLOSED_KEPT = 1024;

/** What to do with a frame the upstream sent on a stream (connection errors are thrown). */
export const Receive = {
  /** Hand it to the stream. */
  DELIVER: 0,
  /** Drop it (its DATA still gives back connection window). */
  IGNORE: 1,
  /** A stream error STREAM_CLOSED: reset the stream with it (once; later frames are ignored). */
  STREAM_CLOSED: 2,
} as const;
export type Receive = (typeof Receive)[keyof typeof Receive];

/** RFC 9113 §5.1 state names, for messages and tests. */
export type StreamStateName =
  | "idle"
  | "open"
  | "half-closed (local)"
  | "half-closed (remote)"
  | "closed";

export class UpStreams {
  /** Streams opened and not yet closed: their state bits. */
  readonly #open = new Map<number, number>();
  /** Recently closed streams: how they closed (insertion order: the oldest is evicted first). */
  readonly #closed = new Map<number, number>();
  /** The next stream id the client opens: odd ids from here on are idle. */
  #next = 1;

  /** We opened stream `id` (the ids are increasing: RFC 9113 §5.1.1). */
  opened(id: number): void {
    this.#open.set(id, 0);
    this.#next = id + 2;
  }

  /** Open streams (not closed both ways or reset). */
  get openCount(): number {
    return this.#open.size;
  }

  stateName(id: number): StreamStateName {
    const st = this.#open.get(id);
    if (st === undefined) return this.#isIdle(id) ? "idle" : "closed";
    if (st & LOCAL_END) return "half-closed (local)";
    if (st & REMOTE_END) return "half-closed (remote)";
    return "open";
  }

  /** We sent END_STREAM on `id`. */
  sentEnd(id: number): void {
    this.#set(id, LOCAL_END);
  }

  /**
   * We are about to send RST_STREAM on `id`: false when there is nothing to reset (we did
   * already, or the stream is idle or forgotten: §6.4, no RST_STREAM on an idle stream).
   */
  sendingReset(id: number): boolean {
    const st = this.#open.get(id) ?? this.#closed.get(id);
    if (st === undefined) return false;
    if (st & RESET_SENT) return false;
    this.#set(id, RESET_SENT);
    return true;
  }

  /** A WINDOW_UPDATE for `id` is worth sending (the stream is not closed). */
  receiving(id: number): boolean {
    return this.#open.has(id);
  }

  /** The upstream sent HEADERS or DATA on `id` (`end`: with END_STREAM). */
  onMessageFrame(id: number, what: "HEADERS" | "DATA", end: boolean): Receive {
    const st = this.#open.get(id);
    if (st !== undefined && (st & REMOTE_END) === 0) {
      if (end) this.#set(id, REMOTE_END);
      return Receive.DELIVER;
    }
    if (st !== undefined) return Receive.STREAM_CLOSED; // half-closed (remote)
    const closed = this.#closedState(id, what);
    if (closed & RESET_SENT) return Receive.IGNORE;
    if (closed & RESET_RECEIVED) return Receive.STREAM_CLOSED;
    throw new ConnectionError(
      ErrorCode.STREAM_CLOSED,
      `${what} on stream ${id} after its END_STREAM (closed)`,
    );
  }

  /** The upstream sent RST_STREAM on `id`. */
  onReset(id: number): Receive {
    if (this.#open.has(id)) {
      this.#set(id, RESET_RECEIVED);
      return Receive.DELIVER;
    }
    this.#closedState(id, "RST_STREAM");
    return Receive.IGNORE;
  }

  /** The upstream sent a stream WINDOW_UPDATE on `id`. */
  onWindowUpdate(id: number): Receive {
    if (this.#open.has(id)) return Receive.DELIVER;
    const closed = this.#closedState(id, "WINDOW_UPDATE");
    if (closed & RESET_SENT) return Receive.IGNORE;
    if (closed & RESET_RECEIVED) return Receive.STREAM_CLOSED;
    return Receive.IGNORE; // after END_STREAM both ways: may still arrive (§5.1)
  }

  /** Even ids (the server cannot open streams: no push) and odd ones not opened yet. */
  #isIdle(id: number): boolean {
    return (id & 1) === 0 || id >= this.#next;
  }

  /**
   * The state bits of a stream not open: a connection error PROTOCOL_ERROR when it is idle,
   * RESET_SENT when it closed too long ago to be remembered.
   */
  #closedState(id: number, what: string): number {
    if (this.#isIdle(id)) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        what === "HEADERS"
          ? `HEADERS on stream ${id}, which the client did not open (RFC 9113 §5.1.1)`
          : `${what} on idle stream ${id}`,
      );
    }
    return this.#closed.get(id) ?? RESET_SENT;
  }

  #set(id: number, bits: number): void {
    const st = this.#open.get(id);
    if (st === undefined) {
      const c = this.#closed.get(id);
      if (c !== undefined) this.#closed.set(id, c | bits);
      return;
    }
    const next = st | bits;
    if ((next & BOTH_ENDS) !== BOTH_ENDS && (next & RESET) === 0) {
      this.#open.set(id, next);
      return;
    }
    this.#open.delete(id);
    this.#closed.set(id, next);
    if (this.#closed.size > CLOSED_KEPT) {
      const oldest = this.#closed.keys().next().value as number;
      this.#closed.delete(oldest);
    }
  }
}

/**
 * The upstream connection's `FrameConn`: every END_STREAM and RST_STREAM it sends moves its
 * streams' states (`streams`), and it sends no second RST_STREAM and no WINDOW_UPDATE on a
 * stream that is over (RFC 9113 §5.1: only PRIORITY may be sent on a closed stream).
 */
export class UpFrameConn extends FrameConn {
  readonly streams = new UpStreams();

  override frame(type: number, flags: number, id: number, payload?: Buffer): void {
    super.frame(type, flags, id, payload);
    if (
      (flags & Flag.END_STREAM) !== 0 &&
      (type === FrameType.DATA || type === FrameType.HEADERS)
    ) {
      this.streams.sentEnd(id);
    }
  }

  override headers(id: number, fields: Iterable<HeaderField>, endStream: boolean): void {
    super.headers(id, fields, endStream);
    if (endStream) this.streams.sentEnd(id);
  }

  override rstStream(id: number, code: number): void {
    if (this.streams.sendingReset(id)) super.rstStream(id, code);
  }

  override windowUpdate(id: number, inc: number): void {
    if (id === 0 || this.streams.receiving(id)) super.windowUpdate(id, inc);
  }
}
