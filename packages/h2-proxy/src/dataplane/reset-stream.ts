import type { Http2Stream } from "node:http2";

function endNothing(this: Http2Stream): Http2Stream {
  return this;
}

/**
 * Sends RST_STREAM(`code`) on a stream, *without* ending it first.
 *
 * node:http2's `stream.close(code)` calls `stream.end()` when the writable side is still open,
 * which flushes an END_STREAM before the RST_STREAM: the peer then sees a complete (truncated)
 * message instead of a reset (a lost reset, Linkerd #728). Shadowing `end` on the instance
 * makes `close` submit only the RST_STREAM; the stream is destroyed right after anyway.
 */
export function resetStream(stream: Http2Stream, code: number): void {
  if (stream.destroyed || stream.closed) return;
  if (code !== 0 && !stream.writableEnded) {
    (stream as { end: unknown }).end = endNothing;
  }
  stream.close(code);
}
