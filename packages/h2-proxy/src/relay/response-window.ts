/**
 * The stream window an upstream is given for a response: what the client can take, up to
 * {@link UPSTREAM_STREAM_WINDOW}.
 *
 * An upstream connection advertises SETTINGS_INITIAL_WINDOW_SIZE 0 (`UpConn`), so a new upstream
 * stream may send no response DATA until we grant it window. Two things bound the grant:
 *
 * - **The client's stream window** (`upWant`): the request's HEADERS are followed, in the same
 *   write, by one WINDOW_UPDATE for the smaller of 64 KiB and the client's stream window towards
 *   us; as the client opens that window (its WINDOW_UPDATEs, a larger
 *   SETTINGS_INITIAL_WINDOW_SIZE) the upstream's may grow by as much, up to 64 KiB.
 * - **The client's connection window** (`room`): what the client's connection can still take
 *   (its window, less the DATA queued for it, less the windows its other streams were given).
 *   A stream opened while that room is short of its want is given at least
 *   {@link NARROW_WINDOW} (16 KiB: a unary response fits, so a multiplexing client whose
 *   connection window is the 65,535 default is not made to wait) and widened as the client
 *   opens its connection window.
 *
 * From there the written bytes go back to the upstream as before (`flow-half.ts`), in halves of
 * the stream's window (`Half.ackAt`), so a narrowed stream always flows. A held response (the
 * router may retry it) is given at least the router's `responseBufferBytes` + 1 whatever the
 * client's windows: its bytes are not written to the client before it is committed, so with
 * less the router could not tell a response that fits the buffer from one that does not, and a
 * retryable status would wait for the classification timeout and go to the client unretried.
 *
 * Why: a client that gives no stream window (SETTINGS_INITIAL_WINDOW_SIZE 0), or opens stream
 * windows and never its connection window (CVE-2019-9517's zero-window buffering), used to get
 * 64 KiB asked of the backend per stream and queued here: 200 such streams made a backend write
 * 12.8 MiB nobody would read (a single-threaded backend answered its other clients 40-140 ms
 * late meanwhile) until the relay's queue bound closed the client. Now the first costs the
 * backend only its HEADERS, the second 16 KiB per stream; a client with windows of 64 KiB or
 * more and room on its connection gets exactly the 64 KiB of before.
 */
import { DEFAULT_WINDOW } from "@l5d/h2";
import type { ExchangeOptions } from "../router/exchange.js";
import type { DownConn } from "./relay-server.js";
import type { RelayStream } from "./relay-stream.js";
import { ReplyPhase, ResponsePhase } from "./stream-phase.js";

/**
 * The most response DATA an upstream stream may have outstanding (received and not yet written
 * to the client, or written and its window not given back yet): what a stream queues at most.
 */
export const UPSTREAM_STREAM_WINDOW = DEFAULT_WINDOW;

/** The window a stream is given at least (its want permitting) when its client's connection has no room. */
export const NARROW_WINDOW = 16_384;

/**
 * What the client's connection can still take: its send window, less the response DATA queued
 * for it, less the windows given to the upstream streams of its other responses in progress.
 */
function room(down: DownConn): number {
  return down.conn.sendWindow - down.queued.queued - down.promised;
}

/**
 * The window a held response's upstream stream gets whatever its client's windows: the router's
 * `responseBufferBytes` + 1 (up to 64 KiB), so that it can tell a response that fits the buffer
 * from one that streams through (a held response's bytes are not written to the client, so
 * their window does not come back until it is committed). 0 when the response is not held.
 */
function holdWindow(s: RelayStream): number {
  if (s.reply !== ReplyPhase.Holding) return 0;
  const b = (s.ex as ExchangeOptions).responseBufferBytes + 1;
  return Math.min(b, UPSTREAM_STREAM_WINDOW);
}

/**
 * The window `s` may have now: its want, bounded by the connection's room (16 KiB at least),
 * and never below what a held response needs.
 */
function allowed(s: RelayStream): number {
  const r = room(s.down);
  const w = Math.min(s.upWant, Math.max(NARROW_WINDOW, s.upWindow + Math.max(r, 0)));
  return Math.max(w, holdWindow(s));
}

/** Grants `s`'s upstream stream `inc` more window (its written bytes go back in halves of it). */
function grant(s: RelayStream, inc: number): void {
  const w = s.upWindow + inc;
  s.upWindow = w;
  s.upPromised += inc;
  s.down.promised += inc;
  s.toDown.ackAt = w > 1 ? w >>> 1 : 1;
  s.up?.conn.windowUpdate(s.upId, inc);
}

/** The new upstream stream's window (after its HEADERS): see the module's doc. */
export function openResponseWindow(s: RelayStream): void {
  releaseResponseWindow(s);
  const d = s.toDown.window;
  s.upWant = Math.min(UPSTREAM_STREAM_WINDOW, Math.max(0, d));
  s.upWindow = 0;
  const w = allowed(s);
  if (w < s.upWant) s.down.narrowed = true;
  // (a held response may be given more than its want: `holdWindow`)
  if (w > 0) grant(s, w);
  else s.toDown.ackAt = 1;
}

/** The upstream stream is active: it may still send response DATA. */
function receiving(s: RelayStream): boolean {
  return s.upId !== 0 && !s.upClosed && s.response !== ResponsePhase.Complete && !s.done;
}

/**
 * The client opened its stream window towards us by `delta` (now `s.toDown.window`): the
 * upstream stream's want grows by as much while it is under 64 KiB and the client's window is
 * positive (a window driven below 0 by a smaller SETTINGS_INITIAL_WINDOW_SIZE first comes back
 * to 0), and its window follows as the connection's room allows.
 */
export function widenResponseWindow(s: RelayStream, delta: number): void {
  if (!receiving(s)) return;
  const want = s.upWant;
  if (want < UPSTREAM_STREAM_WINDOW) {
    const inc = Math.min(UPSTREAM_STREAM_WINDOW - want, delta, s.toDown.window);
    if (inc > 0) s.upWant = want + inc;
  }
  if (topUp(s)) s.down.narrowed = true;
}

/** Grants `s` what it may have now; true when it still has less than it wants. */
function topUp(s: RelayStream): boolean {
  const inc = allowed(s) - s.upWindow;
  if (inc > 0) grant(s, inc);
  return s.upWindow < s.upWant;
}

/**
 * The client's connection window opened (or a larger SETTINGS_INITIAL_WINDOW_SIZE): the streams
 * given less than they want (`DownConn.narrowed`) get what the room now allows, in the order
 * they were opened.
 */
export function widenNarrowed(down: DownConn): void {
  if (!down.narrowed) return;
  let still = false;
  for (const s of down.streams.values()) {
    if (receiving(s) && s.upWindow < s.upWant && topUp(s)) still = true;
  }
  down.narrowed = still;
}

/**
 * The upstream stream will send no more response DATA (complete, reset, lost, replaced by
 * another attempt, or the stream is over): its window no longer counts against the client's
 * connection room. Idempotent.
 */
export function releaseResponseWindow(s: RelayStream): void {
  const p = s.upPromised;
  if (p === 0) return;
  s.upPromised = 0;
  s.down.promised -= p;
}
