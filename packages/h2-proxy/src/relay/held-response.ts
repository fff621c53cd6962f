/**
 * An attempt's response held back from the client (`ReplyPhase.Holding`: retries configured)
 * until the router commits or discards it: its headers, whether they were trailers-only, the
 * DATA bytes held (the DATA itself waits in the stream's downstream `Half`, whose stream window
 * is owed to the upstream until written), and the classification timer that stops holding a
 * response that takes too long to complete. One per request that holds, reused by its attempts.
 */
import type { HeaderField } from "@l5d/h2";

export class HeldResponse {
  /** The response headers (hop-by-hop removed); undefined until they arrive. */
  headers: HeaderField[] | undefined;
  /** The headers ended the stream (a trailers-only response). */
  trailersOnly = false;
  /** DATA bytes held; past the router's `responseBufferBytes` the response streams through. */
  bytes = 0;
  /** Fires after the router's `classificationTimeoutMs`: the response then streams through. */
  timer: NodeJS.Timeout | undefined;

  /** The response headers arrived (final status), `end`: trailers-only. */
  hold(headers: HeaderField[], end: boolean): void {
    this.headers = headers;
    this.trailersOnly = end;
  }

  stopTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Forgets the held response (discarded: the next attempt starts afresh). */
  clear(): void {
    this.stopTimer();
    this.headers = undefined;
    this.trailersOnly = false;
    this.bytes = 0;
  }
}
