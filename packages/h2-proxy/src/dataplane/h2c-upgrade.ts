import type { Socket } from "node:net";
import {
  CLIENT_PREFACE,
  ErrorCode,
  encodeFrame,
  encodeHeaderBlock,
  Flag,
  FrameType,
} from "@l5d/h2";

/** Largest HTTP/1.1 request head we read while looking for `Upgrade: h2c`. */
const MAX_HEAD_BYTES = 64 * 1024;
/** Largest request body carried across an upgrade (it becomes one DATA frame on stream 1). */
const MAX_UPGRADE_BODY = 16 * 1024;

const HOP = new Set([
  "connection",
  "upgrade",
  "http2-settings",
  "host",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "content-length",
]);

/** A parsed HTTP/1.1 request head. */
interface RequestHead {
  readonly method: string;
  readonly target: string;
  readonly headers: Array<[string, string]>;
  readonly headerMap: Map<string, string>;
  readonly bodyStart: number;
}

/**
 * `"not-http"`: the first line is no HTTP/1.x request line, so the bytes were neither HTTP/1.1
 * nor the HTTP/2 preface (`"invalid"`: an HTTP/1.1 request with a malformed head).
 */
function parseHead(buf: Buffer): RequestHead | "incomplete" | "invalid" | "not-http" {
  const end = buf.indexOf("\r\n\r\n", 0, "latin1");
  if (end < 0) return buf.length > MAX_HEAD_BYTES ? "invalid" : "incomplete";
  const lines = buf.toString("latin1", 0, end).split("\r\n");
  const requestLine = (lines[0] ?? "").split(" ");
  if (requestLine.length !== 3 || !requestLine[2]?.startsWith("HTTP/1.")) return "not-http";
  const headers: Array<[string, string]> = [];
  const headerMap = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(":");
    if (colon <= 0) return "invalid";
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.push([name, value]);
    const prev = headerMap.get(name);
    headerMap.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return {
    method: requestLine[0] as string,
    target: requestLine[1] as string,
    headers,
    headerMap,
    bodyStart: end + 4,
  };
}

/** GOAWAY's last stream id (0) and error code (PROTOCOL_ERROR). */
const GOAWAY_PROTOCOL_ERROR = Buffer.from([0, 0, 0, 0, 0, 0, 0, ErrorCode.PROTOCOL_ERROR]);

function reject(socket: Socket, status: string, message: string): void {
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\nconnection: close\r\n` +
      `content-length: ${Buffer.byteLength(message) + 1}\r\nl5d-err: ${encodeURIComponent(message)}\r\n\r\n${message}\n`,
  );
}

/**
 * Serves an HTTP/1.1 connection whose first bytes are not the HTTP/2 preface. Only
 * `Upgrade: h2c` requests are accepted (Linkerd's h2 servers accept prior knowledge and h2c
 * Upgrade); anything else gets `505`. On upgrade we answer `101 Switching Protocols`, wait for
 * the client's preface and SETTINGS, and hand the socket to the HTTP/2 server with a
 * synthesised HEADERS frame (and DATA frame, for a small body) for stream 1 spliced in after
 * the client's SETTINGS, so the request that carried the upgrade is served as stream 1.
 */
export function handleHttp1(socket: Socket, first: Buffer, toH2: (socket: Socket) => void): void {
  let buf = first;
  let head: RequestHead | undefined;
  let upgraded = false;
  const onData = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    step();
  };
  const fail = (status: string, message: string): void => {
    socket.off("data", onData);
    reject(socket, status, message);
  };
  const step = (): void => {
    if (head === undefined) {
      const parsed = parseHead(buf);
      if (parsed === "incomplete") return;
      if (parsed === "not-http") {
        // RFC 9113 §3.4: an invalid connection preface is a connection error PROTOCOL_ERROR
        socket.off("data", onData);
        socket.end(
          encodeFrame(
            FrameType.GOAWAY,
            0,
            0,
            Buffer.concat([GOAWAY_PROTOCOL_ERROR, Buffer.from("invalid connection preface")]),
          ),
        );
        return;
      }
      if (parsed === "invalid") {
        fail("400 Bad Request", "malformed HTTP/1.1 request");
        return;
      }
      head = parsed;
    }
    if (!upgraded) {
      const upgrade = head.headerMap.get("upgrade")?.toLowerCase();
      if (upgrade === undefined || !upgrade.split(/\s*,\s*/).includes("h2c")) {
        fail(
          "505 HTTP Version Not Supported",
          "this router speaks HTTP/2: use prior knowledge or Upgrade: h2c",
        );
        return;
      }
      if (head.headerMap.has("transfer-encoding")) {
        fail("400 Bad Request", "chunked bodies are not accepted on an h2c upgrade");
        return;
      }
      const bodyLen = Number(head.headerMap.get("content-length") ?? "0");
      if (!Number.isSafeInteger(bodyLen) || bodyLen < 0 || bodyLen > MAX_UPGRADE_BODY) {
        fail("413 Content Too Large", "h2c upgrade request bodies are limited to 16 KiB");
        return;
      }
      if (buf.length < head.bodyStart + bodyLen) return;
      upgraded = true;
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n",
      );
    }
    // After the 101 we need the client preface and its SETTINGS frame before splicing.
    const bodyLen = Number(head.headerMap.get("content-length") ?? "0");
    const h2Start = head.bodyStart + bodyLen;
    const available = buf.length - h2Start;
    if (available < CLIENT_PREFACE.length + 9) {
      if (
        available > 0 &&
        !CLIENT_PREFACE.subarray(0, available).equals(buf.subarray(h2Start, h2Start + available))
      ) {
        socket.destroy();
      }
      return;
    }
    if (!CLIENT_PREFACE.equals(buf.subarray(h2Start, h2Start + CLIENT_PREFACE.length))) {
      socket.destroy();
      return;
    }
    const settingsAt = h2Start + CLIENT_PREFACE.length;
    if (buf[settingsAt + 3] !== FrameType.SETTINGS) {
      socket.destroy();
      return;
    }
    const settingsEnd = settingsAt + 9 + buf.readUIntBE(settingsAt, 3);
    if (buf.length < settingsEnd) return;
    socket.off("data", onData);
    socket.pause();
    const body = buf.subarray(head.bodyStart, head.bodyStart + bodyLen);
    const stream1 = synthesiseStream1(head, body);
    socket.unshift(
      Buffer.concat([buf.subarray(h2Start, settingsEnd), stream1, buf.subarray(settingsEnd)]),
    );
    toH2(socket);
  };
  socket.on("data", onData);
  step();
}

function synthesiseStream1(head: RequestHead, body: Buffer): Buffer {
  const authority = head.headerMap.get("host") ?? "";
  const fields: Array<readonly [string, string]> = [
    [":method", head.method],
    [":scheme", "http"],
    [":authority", authority],
    [":path", head.target],
  ];
  for (const [name, value] of head.headers) {
    if (HOP.has(name)) continue;
    if (name === "te" && value !== "trailers") continue;
    fields.push([name, value]);
  }
  const block = encodeHeaderBlock(fields);
  const frames: Buffer[] = [];
  // The default SETTINGS_MAX_FRAME_SIZE is 16 KiB: split into HEADERS + CONTINUATION frames.
  const max = 16_384;
  const endStream = body.length === 0 ? Flag.END_STREAM : 0;
  for (let off = 0; off < block.length || off === 0; off += max) {
    const chunk = block.subarray(off, off + max);
    const last = off + max >= block.length;
    const type = off === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    const flags = (last ? Flag.END_HEADERS : 0) | (off === 0 ? endStream : 0);
    frames.push(encodeFrame(type, flags, 1, chunk));
  }
  if (body.length > 0) frames.push(encodeFrame(FrameType.DATA, Flag.END_STREAM, 1, body));
  return Buffer.concat(frames);
}
