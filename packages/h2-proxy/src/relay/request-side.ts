/**
 * The request side of a relayed stream: the client's DATA and trailers on their way upstream.
 * DATA that arrives before the first upstream stream waits in `early` (its stream window owed
 * to the client); then it goes through the upstream `Half` (`flow-half.ts`): straight through
 * when nothing is queued ahead and the windows take it, else queued until they do, and nowhere
 * while the attempt is parked (settled for the router) or its upstream stream was reset. DATA
 * past the stream window we advertised is a stream error (FLOW_CONTROL_ERROR, RFC 9113 §6.9).
 * `upHalf` makes the request half of each new upstream stream: the first takes the early DATA,
 * a replay (requeue or retry) what the previous one sent (its log) and had not sent yet.
 *
 * The fields live in the stream (`RequestSide`, implemented by `RelayStream`: no object of its
 * own per request); `DownConn` (`relay-server.ts`) checks the DATA against `contentLength`.
 */
import { DEFAULT_WINDOW, ErrorCode, type HeaderField } from "@l5d/h2";
import {
  enqueue,
  flush,
  Half,
  outstanding,
  type Pending,
  replaceQueue,
  sendNow,
} from "./flow-half.js";
import { clientOverrun } from "./relay-errors.js";
import type { RelayStream } from "./relay-stream.js";
import { replayQueue, startLog } from "./replay-log.js";
import type { UpConn } from "./upstream.js";
import { withoutHopByHop } from "./upstream-request.js";

export interface RequestSide {
  /**
   * Request DATA received before the first upstream stream (held: its stream window is not given
   * back yet); created on first use: the router usually opens the upstream stream before any DATA.
   */
  early: Pending[] | undefined;
  /** The stream window owed to the client for `early` (its flow-controlled bytes). */
  earlyOwed: number;
  /** The request's trailers (hop-by-hop removed), kept for replays. */
  reqTrailers: HeaderField[] | undefined;
  reqEnded: boolean;
  /** The request's content-length (-1: none), checked against its DATA by `DownConn` (RFC 9113 §8.1.1). */
  contentLength: number;
  /** Request DATA bytes received. */
  bytesIn: number;
}

/** A request DATA frame (`flowLen`: the flow-controlled length, padding included). */
export function onReqData(s: RelayStream, data: Buffer, end: boolean, flowLen: number): void {
  s.bytesIn += data.length;
  if (end) s.reqEnded = true;
  const down = s.down;
  // the client's connection window goes back at once: the bytes are this stream's now (its
  // stream window only once they are written upstream, which bounds what can queue here)
  if (flowLen > 0) down.conn.consumed(flowLen);
  // the stream window we advertise (or the default, which a client may use before our SETTINGS)
  const limit = Math.max(down.limits.initialWindow, DEFAULT_WINDOW);
  const half = s.toUp;
  if (half === undefined) {
    if (s.earlyOwed + flowLen > limit) {
      onReqOverrun(s);
      return;
    }
    s.earlyOwed += flowLen;
    const p = { data, end, flowLen };
    if (s.early === undefined) s.early = [p];
    else s.early.push(p);
    return;
  }
  if (outstanding(half) + flowLen > limit) {
    onReqOverrun(s);
    return;
  }
  const up = s.up;
  if (up !== undefined && !half.ended && !s.parked && !s.upClosed) {
    // the usual case, nothing queued ahead and window enough: straight through, no queue entry
    if (sendNow(half, data, end, flowLen, up.conn, s.upId, down.conn, s.id)) {
      if (half.ended) s.maybeDone();
      return;
    }
  }
  enqueue(half, data, end, flowLen);
  flushUp(s);
}

/** The client sent DATA past the stream window we advertised: a stream error (RFC 9113 §6.9). */
function onReqOverrun(s: RelayStream): void {
  s.down.conn.rstStream(s.id, ErrorCode.FLOW_CONTROL_ERROR);
  s.error = clientOverrun();
  s.onDownReset(ErrorCode.FLOW_CONTROL_ERROR);
}

/** The request's trailers (checked by `DownConn`): they end the request. */
export function onReqTrailers(s: RelayStream, fields: HeaderField[]): void {
  s.reqEnded = true;
  s.reqTrailers = withoutHopByHop(fields);
  if (s.toUp === undefined) return;
  s.toUp.tail = s.reqTrailers;
  flushUp(s);
}

/** Sends what the upstream's windows allow (they opened, or DATA was queued). */
export function flushUp(s: RelayStream): void {
  const half = s.toUp;
  const up = s.up;
  // nothing more on an upstream stream that was reset (the rest waits for a replay, or is
  // dropped when the request finishes: its connection window went back on arrival)
  if (half === undefined || up === undefined || half.ended || s.parked || s.upClosed) return;
  flush(half, up.conn, s.upId, s.down.conn, s.id);
  if (half.ended) s.maybeDone();
}

/**
 * The request half of a new upstream stream on `up`. The first one takes the DATA that arrived
 * early; a replay takes what the previous stream sent (its log), then what it had not sent yet.
 */
export function upHalf(s: RelayStream, up: UpConn): Half {
  const prev = s.toUp;
  const half = new Half(up.conn.peerInitialWindow);
  // the client's stream window goes back in halves of what we advertised (its DATA's sender)
  half.ackAt = Math.max(1, s.down.limits.initialWindow >>> 1);
  startLog(half, s.replayLimit);
  if (prev === undefined) {
    if (s.early !== undefined) replaceQueue(half, s.early);
    half.owed = s.earlyOwed;
    s.early = undefined;
    half.tail = s.reqTrailers;
  } else {
    const replay = replayQueue(prev, s.reqTrailers);
    replaceQueue(half, replay.queue);
    half.owed = prev.owed;
    // written on the previous attempt and not given back yet: still the client's to get back
    half.unacked = prev.unacked;
    half.tail = replay.tail;
  }
  return half;
}
