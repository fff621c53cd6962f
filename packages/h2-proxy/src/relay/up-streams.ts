/**
 * The states of the streams on one upstream connection, seen from the client side (RFC 9113
 * §5.1, in `@l5d/h2`'s `StreamState` names), and the rules that follow for frames the upstream
 * (the server) sends on them. The relay opens odd streams only and never lets the server open
 * any (SETTINGS_ENABLE_PUSH = 0), so:
 *
 * - idle: an even id, or an odd one we have not opened yet. HEADERS there is an unexpected stream
 *   identifier (§5.1.1), DATA / RST_STREAM / WINDOW_UPDATE a frame on an idle stream (§5.1,
 *   §6.4): connection errors PROTOCOL_ERROR. PRIORITY is allowed on any stream.
 * - open / half-closed (local): everything is delivered.
 * - half-closed (remote): DATA or HEADERS is a stream error STREAM_CLOSED (§5.1); WINDOW_UPDATE
 *   and RST_STREAM are delivered.
 * - closed after END_STREAM both ways: DATA or HEADERS is a connection error STREAM_CLOSED
 *   (§5.1); WINDOW_UPDATE and RST_STREAM may still arrive for a short while (ignored).
 * - closed by the upstream's RST_STREAM: any frame but PRIORITY is a stream error STREAM_CLOSED
 *   (§5.1); a RST_STREAM is ignored (§5.4.2: never a RST_STREAM in answer to one).
 * - closed by our RST_STREAM: frames are ignored (§5.1: the peer may have sent them before it
 *   saw ours), DATA still counted against the connection window (§6.9). Once we reset a stream
 *   for a frame on it, later frames are ignored too (one RST_STREAM, not one per frame).
 *
 * Closed streams keep their cause in a table of {@link CLOSED_KEPT} slots indexed by stream id
 * (the ids are sequential: it holds the most recent ones, no search, no allocation); an older one
 * is "closed, forgotten" (its frames ignored). `UpFrameConn` keeps the states current as frames are sent:
 * END_STREAM and RST_STREAM on the way out, whoever sends them.
 */
import {
  afterRecv,
  afterSend,
  ConnectionError,
  ErrorCode,
  Flag,
  FrameConn,
  FrameType,
  type HeaderField,
  StreamState,
  StreamTable,
  Verdict,
  verdict,
} from "@l5d/h2";

/** Slots of closed streams' causes (a power of 2; older ones: `ClosedForgotten`). */
export const CLOSED_KEPT = 1024;
const SLOT_MASK = CLOSED_KEPT - 1;

export class UpStreams {
  /** Streams opened and not closed: open, half-closed (local) or half-closed (remote). */
  readonly #open = new StreamTable<StreamState>();
  /** Recently closed streams and how: slot `(id >> 1) & SLOT_MASK` (made on the first close). */
  #closedIds: Int32Array | undefined;
  #closedStates: Uint8Array | undefined;
  /** The next stream id the client opens: odd ids from here on are idle. */
  #next = 1;

  /** We opened stream `id` (sending its HEADERS; ids increase: RFC 9113 §5.1.1). */
  opened(id: number): void {
    this.#open.set(id, StreamState.Open);
    this.#next = id + 2;
  }

  /** Streams not closed yet. */
  get openCount(): number {
    return this.#open.size;
  }

  /** The state of stream `id`. */
  stateOf(id: number): StreamState {
    const s = this.#open.get(id);
    if (s !== undefined) return s;
    const slot = (id >>> 1) & SLOT_MASK;
    if (this.#closedIds !== undefined && this.#closedIds[slot] === id) {
      return (this.#closedStates as Uint8Array)[slot] as StreamState;
    }
    // even ids: the server cannot open streams (no push)
    return (id & 1) === 0 || id >= this.#next ? StreamState.Idle : StreamState.ClosedForgotten;
  }

  /** We sent END_STREAM on `id`. */
  sentEnd(id: number): void {
    const s = this.#open.get(id);
    if (s !== undefined) this.#set(id, afterSend(s, true));
  }

  /**
   * We are about to send RST_STREAM on `id`: false when we did already (nothing more to send).
   * The stream is then closed, reset by us, whatever it was (§5.1: frames after our RST_STREAM
   * are ignored). An idle stream is left idle (a stream error on a PRIORITY frame).
   */
  sendingReset(id: number): boolean {
    const s = this.stateOf(id);
    if (s === StreamState.ClosedResetByUs) return false;
    if (s !== StreamState.Idle) this.#set(id, StreamState.ClosedResetByUs);
    return true;
  }

  /** A WINDOW_UPDATE for `id` is worth sending: the upstream may still send on it. */
  receiving(id: number): boolean {
    const s = this.#open.get(id);
    return s !== undefined && s !== StreamState.HalfClosedRemote;
  }

  /**
   * The upstream sent HEADERS or DATA (`what`) on `id`, with END_STREAM or not: `Accept`,
   * `Ignore` or `StreamClosed` (the caller resets the stream); connection errors are thrown.
   */
  onMessageFrame(id: number, what: "HEADERS" | "DATA", end: boolean): Verdict {
    const s = this.stateOf(id);
    if (s === StreamState.Idle) throw idleError(id, what);
    const v = verdict(s, what === "HEADERS");
    if (v === Verdict.Accept) {
      if (end) this.#set(id, afterRecv(s, true));
      return v;
    }
    if (v === Verdict.ConnectionStreamClosed) {
      throw new ConnectionError(
        ErrorCode.STREAM_CLOSED,
        `${what} on stream ${id} after END_STREAM both ways (closed)`,
      );
    }
    return v;
  }

  /** The upstream sent RST_STREAM on `id`: `Accept` (deliver it) or `Ignore` (closed already). */
  onReset(id: number): Verdict {
    const s = this.stateOf(id);
    if (s === StreamState.Idle) throw idleError(id, "RST_STREAM");
    if (!this.#open.has(id)) return Verdict.Ignore;
    this.#set(id, StreamState.ClosedResetByPeer);
    return Verdict.Accept;
  }

  /** The upstream sent a stream WINDOW_UPDATE on `id`: `Accept`, `Ignore` or `StreamClosed`. */
  onWindowUpdate(id: number): Verdict {
    const s = this.stateOf(id);
    if (s === StreamState.Idle) throw idleError(id, "WINDOW_UPDATE");
    if (this.#open.has(id)) return Verdict.Accept;
    // after the upstream's reset: a stream error; after END_STREAM both ways: may still come
    return s === StreamState.ClosedResetByPeer ? Verdict.StreamClosed : Verdict.Ignore;
  }

  #set(id: number, s: StreamState): void {
    if (
      s === StreamState.Open ||
      s === StreamState.HalfClosedLocal ||
      s === StreamState.HalfClosedRemote
    ) {
      this.#open.set(id, s);
      return;
    }
    this.#open.delete(id);
    let ids = this.#closedIds;
    let states = this.#closedStates;
    if (ids === undefined || states === undefined) {
      ids = this.#closedIds = new Int32Array(CLOSED_KEPT);
      states = this.#closedStates = new Uint8Array(CLOSED_KEPT);
    }
    const slot = (id >>> 1) & SLOT_MASK;
    ids[slot] = id;
    states[slot] = s;
  }
}

/** A frame on an idle stream (RFC 9113 §5.1, §5.1.1): a connection error PROTOCOL_ERROR. */
function idleError(id: number, what: string): ConnectionError {
  return new ConnectionError(
    ErrorCode.PROTOCOL_ERROR,
    what === "HEADERS"
      ? `HEADERS on stream ${id}, which the client did not open (RFC 9113 §5.1.1)`
      : `${what} on idle stream ${id}`,
  );
}

/**
 * The upstream connection's `FrameConn`: every END_STREAM and RST_STREAM it sends moves its
 * streams' states (`streams`), and it sends no second RST_STREAM and no WINDOW_UPDATE on a
 * stream the upstream sends nothing more on (RFC 9113 §5.1: only PRIORITY on a closed stream).
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
