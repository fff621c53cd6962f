/**
 * Reading a request body with a size bound, for namerd's HTTP API and its admin. Past the
 * bound nothing more is kept; the caller answers 413 and the connection closes after it.
 */
import type { IncomingMessage } from "node:http";

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the body is larger than ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

export function readLimitedBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= maxBytes) {
        chunks.push(c);
        return;
      }
      if (tooBig) return;
      tooBig = true;
      chunks.length = 0;
      // the 413 goes out; a client still sending is cut off a second later
      req.socket.setTimeout(1_000, () => req.socket.destroy());
      reject(new BodyTooLargeError(maxBytes));
    });
    req.on("end", () => {
      if (!tooBig) resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", reject);
  });
}
