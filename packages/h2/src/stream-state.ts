/**
 * The stream state machine of RFC 9113 §5.1, as named states and small transition functions,
 * and the per-connection bookkeeping (`PeerStreams`) that tells an idle stream from a closed
 * one once the stream itself is gone.
 *
 * ```
 *                          +--------+
 *                  send H /|  idle  |\ recv H
 *                        / +--------+ \
 *                       v              v
 *      recv ES  +----------+        +----------+  send ES
 *     ,-------->|   open   |        |   open   |<--------.
 *     |         +----------+        +----------+         |
 *  +------------+   | send ES  recv ES |      +------------+
 *  | half-closed|<--'                   '---->| half-closed|
 *  |  (local)   |                             |  (remote)  |
 *  +------------+                             +------------+
 *        | recv ES / R            send ES / R       |
 *        '------------------> closed <--------------'
 * ```
 * (H: HEADERS, ES: END_STREAM, R: RST_STREAM either way; reserved states are left out: push
 * is disabled on every connection we make or accept.)
 *
 * One small number per stream, no object per frame: `StreamState` values are plain numbers and
 * closed carries its cause, since §5.1 answers a frame on a closed stream by how it closed.
 */
import { ErrorCode } from "./wire.js";

/** RFC 9113 §5.1 stream states; `Closed*` carry how the stream closed. */
export const StreamState = {
  Idle: 0,
  Open: 1,
  /** We sent END_STREAM; the peer may still send. */
  HalfClosedLocal: 2,
  /** The peer sent END_STREAM; we may still send. */
  HalfClosedRemote: 3,
  /** Both sides sent END_STREAM. */
  ClosedEndStream: 4,
  /** The peer sent RST_STREAM. */
  ClosedResetByPeer: 5,
  /** We sent RST_STREAM (frames the peer had in flight are ignored, §5.1 "closed"). */
  ClosedResetByUs: 6,
  /**
   * Never opened, closed by the first use of a higher id (§5.1.1): a frame on it is an
   * "unexpected stream identifier".
   */
  ClosedSkipped: 7,
  /** Closed long enough ago that its cause is forgotten (`PeerStreams` keeps the recent ones). */
  ClosedForgotten: 8,
} as const;
export type StreamState = (typeof StreamState)[keyof typeof StreamState];

const STATE_NAMES: readonly string[] = Object.keys(StreamState);

export function streamStateName(s: StreamState): string {
  return STATE_NAMES[s] ?? `state ${s}`;
}

export function isClosed(s: StreamState): boolean {
  return s >= StreamState.ClosedEndStream;
}

/**
 * What the receiver does with a DATA or HEADERS frame on a stream (`verdict`): act on it, drop
 * it, or answer it with a stream error (RST_STREAM) or a connection error (GOAWAY) and a code.
 */
export const Verdict = {
  Accept: 0,
  Ignore: 1,
  /** RST_STREAM(STREAM_CLOSED) on that stream (§5.1 half-closed (remote), closed by reset). */
  StreamClosed: 2,
  /** GOAWAY(STREAM_CLOSED) (§5.1 closed after END_STREAM). */
  ConnectionStreamClosed: 3,
  /** GOAWAY(PROTOCOL_ERROR) (§5.1 idle: DATA before HEADERS; §5.1.1 a lower stream id). */
  ConnectionProtocolError: 4,
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** The RFC 9113 §7 code a non-accepting verdict is sent with. */
export function verdictCode(v: Verdict): number {
  return v === Verdict.ConnectionProtocolError ? ErrorCode.PROTOCOL_ERROR : ErrorCode.STREAM_CLOSED;
}

export function isConnectionError(v: Verdict): boolean {
  return v >= Verdict.ConnectionStreamClosed;
}

/**
 * RFC 9113 §5.1, a DATA (`headers` false) or HEADERS frame received on a stream in state `s`:
 *
 * | state              | DATA                      | HEADERS                     |
 * |--------------------|---------------------------|-----------------------------|
 * | idle               | connection PROTOCOL_ERROR | accept (opens)              |
 * | open, half-closed (local) | accept             | accept (trailers)           |
 * | half-closed (remote) | stream STREAM_CLOSED    | stream STREAM_CLOSED        |
 * | closed, END_STREAM | connection STREAM_CLOSED  | connection STREAM_CLOSED    |
 * | closed, reset by peer | stream STREAM_CLOSED   | stream STREAM_CLOSED        |
 * | closed, reset by us | ignore                   | ignore                      |
 * | closed, skipped    | connection PROTOCOL_ERROR | connection PROTOCOL_ERROR   |
 * | closed, forgotten  | ignore                    | ignore                      |
 *
 * (WINDOW_UPDATE, PRIORITY and RST_STREAM are allowed in every state but idle, where only
 * PRIORITY is: checked by the connection, not here.)
 */
export function verdict(s: StreamState, headers: boolean): Verdict {
  switch (s) {
    case StreamState.Idle:
      return headers ? Verdict.Accept : Verdict.ConnectionProtocolError;
    case StreamState.Open:
    case StreamState.HalfClosedLocal:
      return Verdict.Accept;
    case StreamState.HalfClosedRemote:
    case StreamState.ClosedResetByPeer:
      return Verdict.StreamClosed;
    case StreamState.ClosedEndStream:
      return Verdict.ConnectionStreamClosed;
    case StreamState.ClosedSkipped:
      return Verdict.ConnectionProtocolError;
    default:
      // reset by us (§5.1: "MUST ignore frames ... after it has sent a RST_STREAM"), forgotten
      return Verdict.Ignore;
  }
}

/** The state after receiving HEADERS or DATA (with END_STREAM or not) in an accepting state. */
export function afterRecv(s: StreamState, endStream: boolean): StreamState {
  if (s === StreamState.Idle) return endStream ? StreamState.HalfClosedRemote : StreamState.Open;
  if (!endStream) return s;
  if (s === StreamState.Open) return StreamState.HalfClosedRemote;
  if (s === StreamState.HalfClosedLocal) return StreamState.ClosedEndStream;
  return s;
}

/** The state after sending HEADERS or DATA (with END_STREAM or not). */
export function afterSend(s: StreamState, endStream: boolean): StreamState {
  if (s === StreamState.Idle) return endStream ? StreamState.HalfClosedLocal : StreamState.Open;
  if (!endStream) return s;
  if (s === StreamState.Open) return StreamState.HalfClosedLocal;
  if (s === StreamState.HalfClosedRemote) return StreamState.ClosedEndStream;
  return s;
}

/** The state after a RST_STREAM, sent (`byUs`) or received: closed, unless already closed. */
export function afterReset(s: StreamState, byUs: boolean): StreamState {
  if (isClosed(s)) return s;
  return byUs ? StreamState.ClosedResetByUs : StreamState.ClosedResetByPeer;
}

/** How many recently closed streams keep their cause (two typed arrays, 5 bytes an entry). */
export const RECENT_CLOSED = 64;

/**
 * Per-connection bookkeeping of the streams the peer opens (odd ids on a server): the highest
 * id opened (above it: idle), the most recent range of ids skipped when a higher one was opened
 * (closed, never used: §5.1.1), and the causes of the last `RECENT_CLOSED` closures. The
 * streams still open are the owner's (it asks `stateOf` only for an id it has no stream for).
 */
export class PeerStreams {
  /** The highest stream id the peer opened (0: none); GOAWAY's last stream id. */
  highest = 0;
  #skipFrom = 0;
  #skipTo = 0;
  #ids: Int32Array | undefined;
  #causes: Uint8Array | undefined;
  #next = 0;

  /**
   * A HEADERS on `id` with no stream of the owner's: `undefined` when it opens a new stream
   * (`highest` advanced), else the state of the closed stream it names.
   */
  open(id: number): StreamState | undefined {
    if (id <= this.highest) return this.stateOf(id);
    // the first id this peer could have opened next: ids from it up to `id` are skipped
    const next = this.highest === 0 ? 2 - (id & 1) : this.highest + 2;
    if (id > next) {
      this.#skipFrom = next;
      this.#skipTo = id - 2;
    }
    this.highest = id;
    return undefined;
  }

  /** Records how stream `id` closed (a `Closed*` state). */
  closed(id: number, cause: StreamState): void {
    let ids = this.#ids;
    let causes = this.#causes;
    if (ids === undefined || causes === undefined) {
      ids = this.#ids = new Int32Array(RECENT_CLOSED);
      causes = this.#causes = new Uint8Array(RECENT_CLOSED);
    }
    const i = this.#next;
    ids[i] = id;
    causes[i] = cause;
    this.#next = (i + 1) % RECENT_CLOSED;
  }

  /**
   * The state of a stream the owner has no stream for: idle above `highest`, else closed with
   * its recorded cause (a reset by us wins over other records of the same id: frames after our
   * RST_STREAM are ignored), skipped, or forgotten.
   */
  stateOf(id: number): StreamState {
    if (id > this.highest) return StreamState.Idle;
    let found: StreamState = StreamState.ClosedForgotten;
    const ids = this.#ids;
    const causes = this.#causes;
    if (ids !== undefined && causes !== undefined) {
      for (let i = 0; i < RECENT_CLOSED; i++) {
        if (ids[i] !== id) continue;
        const c = causes[i] as StreamState;
        if (c === StreamState.ClosedResetByUs) return c;
        if (found === StreamState.ClosedForgotten || c === StreamState.ClosedResetByPeer) found = c;
      }
    }
    if (found === StreamState.ClosedForgotten && id >= this.#skipFrom && id <= this.#skipTo) {
      return StreamState.ClosedSkipped;
    }
    return found;
  }
}
