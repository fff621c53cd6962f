/**
 * The stream window an upstream is given for a response: what the client can take, up to
 * {@link UPSTREAM_STREAM_WINDOW}.
 *
 * An upstream connection advertises SETTINGS_INITIAL_WINDOW_SIZE 0 (`UpConn`), so a new upstream
 * stream may send no response DATA until we grant it window. The request's HEADERS are followed
 * (same write) by one WINDOW_UPDATE for the smaller of 64 KiB and the client's own stream window
 * towards us, and as the client opens that window (its WINDOW_UPDATEs, a larger
 * SETTINGS_INITIAL_WINDOW_SIZE) the upstream's grows by as much, up to 64 KiB. From there the
 * written bytes go back as before (`flow-half.ts`, in halves of the window).
 *
 * Why: a client that gives no window (SETTINGS_INITIAL_WINDOW_SIZE 0, CVE-2019-9517's
 * zero-window variant) used to get 64 KiB asked of the backend per stream, queued here: 200 such
 * streams made a backend write 12.8 MiB nobody would read (a single-threaded backend answered
 * its other clients 40-140 ms late while it did) and filled the relay's queue. Now such a stream
 * costs the backend nothing but its HEADERS. A client with the usual 64 KiB window or more gets
 * exactly the 64 KiB of before.
 *
 * The client's CONNECTION window is not mirrored: its streams share it, so it would take a
 * reservation per stream; a client that opens stream windows and starves the connection one is
 * bounded by `maxQueuedDataBytes` (the connection is closed past it).
 */
import { DEFAULT_WINDOW } from "@l5d/h2";
import type { RelayStream } from "./relay-stream.js";
import { ResponsePhase } from "./stream-phase.js";

/**
 * The most response DATA an upstream stream may have outstanding (received and not yet written
 * to the client, or written and its window not given back yet): what a stream queues at most.
 */
export const UPSTREAM_STREAM_WINDOW = DEFAULT_WINDOW;

/** The new upstream stream's window (after its HEADERS): what the client can take, up to 64 KiB. */
export function openResponseWindow(s: RelayStream): void {
  const w = Math.min(UPSTREAM_STREAM_WINDOW, Math.max(0, s.toDown.window));
  s.upWindow = w;
  if (w > 0) s.up?.conn.windowUpdate(s.upId, w);
}

/**
 * The client opened its stream window towards us by `delta` (now `s.toDown.window`): the
 * upstream stream's window grows by as much, while it is under 64 KiB and the client's window
 * is positive (a window driven below 0 by a smaller SETTINGS_INITIAL_WINDOW_SIZE first comes
 * back to 0).
 */
export function widenResponseWindow(s: RelayStream, delta: number): void {
  const w = s.upWindow;
  if (w >= UPSTREAM_STREAM_WINDOW || s.upId === 0 || s.upClosed) return;
  if (s.response === ResponsePhase.Complete) return;
  const inc = Math.min(UPSTREAM_STREAM_WINDOW - w, delta, s.toDown.window);
  if (inc <= 0) return;
  s.upWindow = w + inc;
  s.up?.conn.windowUpdate(s.upId, inc);
}
