/**
 * The router's `httpAccessLog` (Linkerd's format, `AccessLogger.scala`): one line per response,
 *
 *     <remote host> - - [dd/MM/yyyy:HH:mm:ss Z] "<METHOD> <uri> <version>" <status> <bytes|-> "<Referer|->" "<User-Agent|->"
 *
 * appended to the file (`httpAccessLogAppend`, default true; false truncates it at start).
 * Written through one buffered stream; `close()` flushes it.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import type { IncomingRequest } from "./incoming-request.js";
import type { Reply } from "./reply.js";

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Linkerd's timestamp: `dd/MM/yyyy:HH:mm:ss Z` in local time, e.g. `04/12/2026:05:01:02 +0000`. */
export function accessLogTime(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  return `${pad(d.getDate())}/${pad(d.getMonth() + 1)}/${d.getFullYear()}:${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

/** One access log line for a request and its (finished) response. */
export function accessLogLine(req: IncomingRequest, res: Reply, at: Date): string {
  const length = res.contentLength;
  return `${req.socket.remoteAddress ?? "-"} - - [${accessLogTime(at)}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${res.status} ${length === undefined ? "-" : length} "${req.header("referer") ?? "-"}" "${req.header("user-agent") ?? "-"}"`;
}

export class AccessLog {
  readonly #out: WriteStream;

  constructor(path: string, append = true) {
    this.#out = createWriteStream(path, { flags: append ? "a" : "w" });
    this.#out.on("error", () => {
      // a log that cannot be written is not a reason to fail requests
    });
  }

  /** Logs the response once it has been sent. */
  watch(req: IncomingRequest, res: Reply): void {
    res.onDone((finished) => {
      if (finished) this.#out.write(`${accessLogLine(req, res, new Date())}\n`);
    });
  }

  close(): Promise<void> {
    return new Promise((r) => this.#out.end(r));
  }
}
