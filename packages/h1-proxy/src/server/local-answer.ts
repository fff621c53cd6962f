/**
 * A response l5d writes itself (no endpoint answered): the status, Linkerd's `l5d-err` header
 * holding the reason (form-encoded as Linkerd's, `No+hosts+are+available…`), and the reason as a
 * text/plain body. Error responses without `l5d-err` are the application's.
 */
import { STATUS_CODES } from "node:http";
import type { Reply } from "./reply.js";

/** The reason phrase of `status` (RFC 9110's, as node lists them). */
export function statusText(status: number): string {
  return STATUS_CODES[status] ?? "Unknown";
}

/** The reason as Linkerd encodes it in `l5d-err` (`application/x-www-form-urlencoded`). */
export function encodeL5dErr(message: string): string {
  return encodeURIComponent(message)
    .replace(/%20/g, "+")
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function localAnswer(
  res: Reply,
  status: number,
  message: string,
  extra?: Readonly<Record<string, string>>,
): void {
  if (res.headersSent || res.done) {
    res.destroy();
    return;
  }
  const body = Buffer.from(`${message}\n`);
  const headers: string[] = [
    "l5d-err",
    encodeL5dErr(message),
    "content-type",
    "text/plain; charset=utf-8",
    "content-length",
    String(body.length),
  ];
  if (extra) for (const k in extra) headers.push(k, extra[k] as string);
  res.send(status, statusText(status), headers, [body]);
}
