/**
 * Is an upstream's response well-formed (RFC 9113 §8.1.1)? The header lists are checked by
 * `@l5d/h2`'s `checkResponseHeaders` / `checkTrailers` (pseudo-headers, connection-specific
 * fields, `:status`, `content-length`; the characters of names and values were checked by the
 * HPACK decoder, `FrameConn.fieldProblem`, which the caller consults first); this adds what depends on the frames
 * of the stream: an informational (1xx) response never ends the stream, 101 does not exist in
 * HTTP/2 (§8.6), trailers end the stream (§8.1), and the DATA adds up to the `content-length`
 * (§8.1.1; not for a response without content: to HEAD, 204, 304). Each check returns the reason
 * the response is malformed, or `undefined`; a valid response costs no allocation.
 */
import { checkResponseHeaders, checkTrailers, type HeaderField, type MessageInfo } from "@l5d/h2";

/** What a stream keeps of its response to check its DATA against its `content-length`. */
export interface ResponseLength {
  /** The final response's `content-length` (-1: none, or a response without content). */
  respLength: number;
  /** DATA bytes of the final response so far. */
  respBytes: number;
}

/** Reused for every check (single-threaded, read right after the call). */
const INFO: MessageInfo = { contentLength: -1 };

/**
 * A response header block (informational or final) arriving with END_STREAM (`end`) or not, to
 * a request whose method is `method`; a final one starts the `content-length` count in `r`.
 */
export function responseHeadersProblem(
  fields: readonly HeaderField[],
  end: boolean,
  method: unknown,
  r: ResponseLength,
): string | undefined {
  const why = checkResponseHeaders(fields, INFO, true);
  if (why !== undefined) return why;
  const status = statusOf(fields);
  if (status < 200) {
    if (status === 101) return "status 101, which HTTP/2 does not have (RFC 9113 §8.6)";
    return end ? `informational status ${status} with END_STREAM` : undefined;
  }
  const noContent = method === "HEAD" || status === 204 || status === 304;
  r.respLength = noContent ? -1 : INFO.contentLength;
  r.respBytes = 0;
  return end ? lengthProblem(r) : undefined;
}

/** A header block after the final response's: trailers, which end the stream (§8.1). */
export function trailersProblem(
  fields: readonly HeaderField[],
  end: boolean,
  r: ResponseLength,
): string | undefined {
  if (!end) return "a header block after the response's without END_STREAM";
  return checkTrailers(fields, true) ?? lengthProblem(r);
}

/** A DATA frame of `len` bytes of the final response (`end`: with END_STREAM). */
export function dataProblem(len: number, end: boolean, r: ResponseLength): string | undefined {
  if (r.respLength < 0) return undefined;
  r.respBytes += len;
  if (r.respBytes > r.respLength) {
    return `more DATA than its content-length ${r.respLength} (${r.respBytes} bytes)`;
  }
  return end ? lengthProblem(r) : undefined;
}

/** At the end of the response: the DATA received matches the `content-length`. */
function lengthProblem(r: ResponseLength): string | undefined {
  if (r.respLength < 0 || r.respBytes === r.respLength) return undefined;
  return `content-length ${r.respLength} but ${r.respBytes} bytes of DATA`;
}

/** The `:status` of a checked response block (its first field, nearly always). */
function statusOf(fields: readonly HeaderField[]): number {
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    if (f[0] === ":status") return Number(f[1]);
  }
  return 0;
}
