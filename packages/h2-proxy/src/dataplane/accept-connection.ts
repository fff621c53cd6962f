/**
 * What the relay (`../relay/relay-server.ts`) does with a new client connection before HTTP/2
 * starts: the HTTP/2 preface (prior knowledge) goes straight to its HTTP/2 reader; anything else is HTTP/1.1, served by `handleHttp1`: an `Upgrade: h2c`
 * request gets 101 and becomes stream 1 (its body too), plain HTTP/1.1 gets 505, a malformed
 * HTTP/1.1 head 400, and bytes that are no HTTP/1.x request line either an invalid HTTP/2
 * preface: GOAWAY(PROTOCOL_ERROR) and a close (RFC 9113 §3.4).
 * Per connection, never per request.
 */
import type { Socket } from "node:net";
import { CLIENT_PREFACE } from "@l5d/h2";
import { handleHttp1 } from "./h2c-upgrade.js";

/**
 * Peeks at the first bytes of `socket` and calls `toH2` with the socket paused and the bytes
 * read so far put back (the client preface first). The caller attaches its reader and resumes.
 */
export function acceptConnection(socket: Socket, toH2: (socket: Socket) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const n = Math.min(buf.length, CLIENT_PREFACE.length);
    const isPreface = CLIENT_PREFACE.subarray(0, n).equals(buf.subarray(0, n));
    if (isPreface && buf.length < CLIENT_PREFACE.length) return;
    socket.off("data", onData);
    socket.off("end", onEnd);
    if (isPreface) {
      socket.pause();
      socket.unshift(buf);
      toH2(socket);
    } else {
      handleHttp1(socket, buf, toH2);
    }
  };
  const onEnd = (): void => {
    socket.destroy();
  };
  socket.on("data", onData);
  socket.on("end", onEnd);
}
