/**
 * The replay log of a request's upstream half: the DATA already sent upstream, kept so that a
 * requeue or a retry can send it again on another upstream stream, up to the router's
 * `requestBufferBytes` (past it the log is dropped, `log` undefined, and the request is no
 * longer replayable). The log lives in the `Half` fields `log`, `logBytes`, `logLimit`; these
 * functions are all that touch them.
 *
 * A request that sends no DATA allocates nothing: its log starts as a shared frozen empty array,
 * replaced by a one-element array on the first DATA.
 */
import type { HeaderField } from "@l5d/h2";
import type { Half, Pending } from "./flow-half.js";

const NOTHING_SENT = Object.freeze([]) as unknown as Buffer[];

/** The half keeps what it sends, up to `limit` bytes. */
export function startLog(half: Half, limit: number): void {
  half.log = NOTHING_SENT;
  half.logLimit = limit;
}

/** Keeps sent request DATA for a replay, up to the half's limit (then nothing is kept). */
export function logSent(half: Half, data: Buffer): void {
  half.logBytes += data.length;
  const log = half.log;
  if (half.logBytes > half.logLimit) half.log = undefined;
  // a one-element array for the usual single DATA frame (a push would reserve 17 slots)
  else if (log !== undefined && log.length === 0) half.log = [data];
  else log?.push(data);
}

/**
 * What a new upstream half sends when it replaces `prev` (a requeue or retry): the logged DATA
 * (owing no window: the client's stream window went back when it was first sent), then what
 * `prev` had not sent yet, then the trailers; the request's end moves to the last piece.
 */
export function replayQueue(
  prev: Half,
  trailers: HeaderField[] | undefined,
): { queue: Pending[]; tail: HeaderField[] | undefined } {
  const queue: Pending[] = [];
  if (prev.log !== undefined)
    for (const b of prev.log) queue.push({ data: b, end: false, flowLen: 0 });
  for (const p of prev.queue) queue.push(p);
  let tail = prev.tail;
  if (prev.ended) {
    if (trailers !== undefined) tail = trailers;
    else if (queue.length > 0) (queue[queue.length - 1] as Pending).end = true;
  }
  return { queue, tail };
}
