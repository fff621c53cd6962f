/**
 * A relayed stream's outbound half towards one peer (`Half`) and its flow control: the DATA
 * received from the other peer waits in the half's queue until the receiver's stream and
 * connection windows take it.
 *
 * Windows are given back to the sender in two parts, so that a slow or stalled reader holds back
 * only its own stream:
 * - the CONNECTION window as soon as the bytes are in the queue (the caller's
 *   `FrameConn.consumed` on arrival): the shared connection never waits on one stream's reader;
 * - the STREAM window only once the bytes are written to the receiver (`sendWhole`): the sender
 *   can never have more outstanding on the stream than the window we advertised, so the queue
 *   holds at most that much (`owed` + `unacked`, checked by the caller against the advertised
 *   window). Written bytes are given back in one WINDOW_UPDATE once they reach half that window
 *   (`ackAt`), as nghttp2 does, not one per DATA frame: a response of a few small messages costs
 *   its upstream no WINDOW_UPDATE at all, and a sender always keeps half its window to send on.
 */
import { Flag, type FrameConn, FrameType, type HeaderField } from "@l5d/h2";
import { logSent } from "./replay-log.js";

/** DATA waiting for the receiver's windows; `flowLen` is the stream window owed for it. */
export interface Pending {
  data: Buffer;
  end: boolean;
  flowLen: number;
}

/**
 * DATA bytes queued across the halves that share it: a client connection's responses waiting
 * for its windows (the relay's `maxQueuedDataBytes` bound, zero-window buffering).
 */
export interface QueueMeter {
  queued: number;
}

/** A stream's outbound half towards one peer: send window and a queue of DATA waiting for it. */
export class Half {
  window: number;
  queue: Pending[] = [];
  /** DATA bytes in `queue` (what it holds in memory), also counted in `meter` when it has one. */
  bytes = 0;
  /**
   * Flow-controlled bytes in `queue` (their `flowLen`s): stream window the sender has used and
   * not got back. The sender cannot send past the window we advertised, so this is bounded by it.
   */
  owed = 0;
  /** Flow-controlled bytes written to the receiver whose stream window is not given back yet. */
  unacked = 0;
  /**
   * When `unacked` is given back: half the stream window advertised to the sender (set by the
   * owner; 1, the default, gives back every frame's bytes at once).
   */
  ackAt = 1;
  /** Trailers waiting behind queued DATA (encoded when sent: HPACK state follows wire order). */
  tail: HeaderField[] | undefined;
  ended = false;
  /**
   * The DATA sent through this half, kept for a replay on another upstream stream (request
   * direction only, `replay-log.ts`); dropped (undefined) once more than `logLimit` bytes were sent.
   */
  log: Buffer[] | undefined;
  logBytes = 0;
  logLimit = 0;
  constructor(
    initial: number,
    readonly meter?: QueueMeter,
  ) {
    this.window = initial;
  }
}

/** Queues DATA behind what is waiting (the caller then flushes). */
export function enqueue(half: Half, data: Buffer, end: boolean, flowLen: number): void {
  half.queue.push({ data, end, flowLen });
  half.owed += flowLen;
  half.bytes += data.length;
  if (half.meter !== undefined) half.meter.queued += data.length;
}

/** `n` queued bytes left the queue (sent, or dropped). */
function dequeued(half: Half, n: number): void {
  half.bytes -= n;
  if (half.meter !== undefined) half.meter.queued -= n;
}

/**
 * Replaces the half's queue (empty by default), uncounting what it held: the queued DATA is
 * dropped (a discarded attempt, a local answer, a finished stream).
 */
export function replaceQueue(half: Half, queue: Pending[] = []): void {
  if (half.bytes !== 0) dequeued(half, half.bytes);
  half.queue = queue;
  for (const p of queue) half.bytes += p.data.length;
  if (half.meter !== undefined) half.meter.queued += half.bytes;
}

/**
 * Forgets the stream window owed for the queued DATA: the sender's stream is over (a held
 * response committed or dropped, a cancelled upstream stream), so no WINDOW_UPDATE may follow.
 */
export function forgetOwed(half: Half): void {
  half.unacked = 0;
  if (half.owed === 0) return;
  for (const p of half.queue) p.flowLen = 0;
  half.owed = 0;
}

/** The sender's stream window in use here: queued, or written and not given back yet. */
export function outstanding(half: Half): number {
  return half.owed + half.unacked;
}

/**
 * Sends a half's queued DATA (and then its trailers) as far as the receiver's stream and
 * connection windows allow; the bytes sent are given back to the sender as stream window, and
 * kept in the half's log (for a replay) while it has one.
 */
export function flush(
  half: Half,
  to: FrameConn,
  toId: number,
  from: FrameConn,
  fromId: number,
): void {
  const q = half.queue;
  while (q.length > 0) {
    const p = q[0] as Pending;
    const allowed = Math.min(half.window, to.sendWindow, to.peerMaxFrame);
    if (p.data.length > allowed) {
      if (allowed <= 0) return;
      // split: send what fits now (the window for the frame goes back with its last piece)
      const head = p.data.subarray(0, allowed);
      p.data = p.data.subarray(allowed);
      dequeued(half, allowed);
      half.window -= allowed;
      to.sendWindow -= allowed;
      to.frame(FrameType.DATA, 0, toId, head);
      if (half.log !== undefined) logSent(half, head);
      continue;
    }
    q.shift();
    half.owed -= p.flowLen;
    dequeued(half, p.data.length);
    if (sendWhole(half, p.data, p.end, p.flowLen, to, toId, from, fromId)) return;
  }
  sendTail(half, to, toId);
}

/**
 * One DATA frame's worth of bytes sent at once, without a queue entry, when nothing is queued
 * ahead of it and the receiver's windows take all of it: what {@link flush} would do for a
 * one-entry queue. False (nothing done) otherwise: the caller queues it.
 */
export function sendNow(
  half: Half,
  data: Buffer,
  end: boolean,
  flowLen: number,
  to: FrameConn,
  toId: number,
  from: FrameConn,
  fromId: number,
): boolean {
  const len = data.length;
  if (half.queue.length > 0 || len > half.window || len > to.sendWindow || len > to.peerMaxFrame) {
    return false;
  }
  if (!sendWhole(half, data, end, flowLen, to, toId, from, fromId)) sendTail(half, to, toId);
  return true;
}

/**
 * Sends `data` whole as one DATA frame (the windows take it: checked by the caller), END_STREAM
 * on it when it ends the half and no trailers follow; gives the sender its stream window back
 * (its connection window went back when the bytes arrived). True when the half ended with it.
 */
function sendWhole(
  half: Half,
  data: Buffer,
  end: boolean,
  flowLen: number,
  to: FrameConn,
  toId: number,
  from: FrameConn,
  fromId: number,
): boolean {
  const len = data.length;
  half.window -= len;
  to.sendWindow -= len;
  const last = end && half.tail === undefined;
  if (len > 0 || last) to.frame(FrameType.DATA, last ? Flag.END_STREAM : 0, toId, data);
  if (half.log !== undefined && len > 0) logSent(half, data);
  // the sender's stream window: its bytes are now written to the other side (given back in
  // batches of half the window; none once the sender's side is over)
  if (flowLen > 0 && !end) {
    const n = half.unacked + flowLen;
    if (n >= half.ackAt) {
      half.unacked = 0;
      from.windowUpdate(fromId, n);
    } else half.unacked = n;
  }
  if (last) half.ended = true;
  return last;
}

/** The half's trailers, once nothing is queued ahead of them (they end the half). */
function sendTail(half: Half, to: FrameConn, toId: number): void {
  if (half.tail === undefined) return;
  to.headers(toId, half.tail, true);
  half.tail = undefined;
  half.ended = true;
}
