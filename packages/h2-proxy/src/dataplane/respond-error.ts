import type { ServerHttp2Stream } from "node:http2";
import { H2Code } from "./errors.js";
import { resetStream } from "./reset-stream.js";

/** A locally generated answer. */
export interface LocalError {
  /** gRPC status for gRPC requests (e.g. 14 UNAVAILABLE). */
  readonly grpcStatus: number;
  /** HTTP status for other requests (400, 502, 503, 504). */
  readonly httpStatus: number;
  /** Human-readable reason; sent as `grpc-message`, `l5d-err` and the text body. */
  readonly message: string;
}

/**
 * Percent-encodes a `grpc-message` per the gRPC over HTTP/2 spec: UTF-8 bytes outside
 * 0x20..0x7E, and `%` itself, become `%XX`.
 */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  const bytes = Buffer.from(message, "utf8");
  let out = "";
  for (const b of bytes) {
    if (b < 0x20 || b > 0x7e || b === 0x25)
      out += `%${b < 16 ? "0" : ""}${b.toString(16).toUpperCase()}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/** Decodes a percent-encoded `grpc-message` (lenient: malformed escapes are kept as is). */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes("%")) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && i + 2 < value.length && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Buffer.from(bytes).toString("utf8");
}

/**
 * Answers a request locally. gRPC requests get a trailers-only response (`:status 200`,
 * `content-type: application/grpc`, `grpc-status`, percent-encoded `grpc-message`); other
 * requests get `httpStatus` with a text body. Both carry `l5d-err` (URL-encoded message), as
 * Linkerd does. When response headers were already sent, gRPC streams end with the status in
 * trailers if possible, otherwise the stream is reset with INTERNAL_ERROR.
 * Any unread request body is discarded so the client's window never stalls.
 */
export function respondError(stream: ServerHttp2Stream, isGrpc: boolean, e: LocalError): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    resetStream(stream, H2Code.INTERNAL_ERROR);
    return;
  }
  const l5dErr = encodeURIComponent(e.message);
  try {
    if (isGrpc) {
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "grpc-status": String(e.grpcStatus),
          "grpc-message": encodeGrpcMessage(e.message),
          "l5d-err": l5dErr,
        },
        { endStream: true },
      );
    } else {
      stream.respond({
        ":status": e.httpStatus,
        "content-type": "text/plain; charset=utf-8",
        "l5d-err": l5dErr,
      });
      stream.end(`${e.message}\n`);
    }
  } catch {
    // The stream went away between the check and the write: reset it.
    resetStream(stream, H2Code.INTERNAL_ERROR);
    return;
  }
  if (!stream.readableEnded) stream.resume();
}
