/**
 * An attempt's response held back from the client (`ReplyPhase.Holding`: retries configured)
 * until the router commits or discards it: its headers, whether they were trailers-only, the
 * DATA bytes held (the DATA itself waits in the stream's downstream `Half`, whose stream window
 * is owed to the upstream until written), and the classification timer that stops holding a
 * response that takes too long to complete.
 *
 * The fields live in the stream (`Held`, implemented by `RelayStream`: nearly every request
 * holds its response when retries are configured, and a separate object would be one more
 * allocation per request); these functions and `exchange-attempt.ts` (which decides when a
 * response is held, settled for the router or streamed through) are all that change them.
 */
import type { HeaderField } from "@l5d/h2";

export interface Held {
  /** The held response's headers (hop-by-hop removed); undefined until they arrive. */
  heldHeaders: HeaderField[] | undefined;
  /** The headers ended the stream (a trailers-only response). */
  heldTrailersOnly: boolean;
  /** DATA bytes held; past the router's `responseBufferBytes` the response streams through. */
  heldBytes: number;
  /** Fires after the router's `classificationTimeoutMs`: the response then streams through. */
  classTimer: NodeJS.Timeout | undefined;
}

/** The response headers arrived (final status); `end`: trailers-only. */
export function hold(h: Held, headers: HeaderField[], end: boolean): void {
  h.heldHeaders = headers;
  h.heldTrailersOnly = end;
}

export function stopClassTimer(h: Held): void {
  if (h.classTimer === undefined) return;
  clearTimeout(h.classTimer);
  h.classTimer = undefined;
}

/** Forgets the held response (discarded: the next attempt starts afresh). */
export function clearHeld(h: Held): void {
  stopClassTimer(h);
  h.heldHeaders = undefined;
  h.heldTrailersOnly = false;
  h.heldBytes = 0;
}
