/**
 * Chunked transfer coding (RFC 9112 §7.1) as the proxy writes it: each piece of a body one
 * chunk, the last chunk with no trailers. Used for a response to an HTTP/1.1 client whose
 * endpoint gave no length, and for a chunked request passed on to an endpoint.
 */
import type { Socket } from "node:net";

/** The last chunk and the end of an (empty) trailer section. */
export const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");
const CRLF = Buffer.from("\r\n", "latin1");

/**
 * Writes `c` as one chunk, after `before` (latin1, e.g. a message head not yet written), in one
 * corked write. Returns what the socket's `write` says (false: backed up).
 */
export function writeChunk(s: Socket, c: Buffer, before = ""): boolean {
  s.cork();
  s.write(`${before}${c.length.toString(16)}\r\n`, "latin1");
  s.write(c);
  const ok = s.write(CRLF);
  s.uncork();
  return ok;
}
