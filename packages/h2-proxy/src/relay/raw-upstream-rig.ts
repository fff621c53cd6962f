/**
 * Test support: a raw HTTP/2 upstream that speaks frames itself, for behaviours a node:http2
 * server never shows (a GOAWAY below an opened stream, DATA before the response HEADERS...).
 * SETTINGS are exchanged; each new request stream's HEADERS goes to `onRequest`, which writes
 * whatever frames it likes; every frame received is recorded, and the connections the relay
 * closed (its FIN) are counted.
 */
import { createServer, type Socket } from "node:net";
import { CLIENT_PREFACE, decodeFrames, encodeFrame, type Frame, FrameType } from "@l5d/h2";
import type { Address as Endpoint } from "../router/address.js";

export interface RawUpstream {
  readonly endpoint: Endpoint;
  /** Request streams opened (a HEADERS on a new stream id). */
  readonly requests: number;
  /** Every frame received from the relay, in order. */
  readonly frames: readonly Frame[];
  /** Connections accepted. */
  readonly connections: number;
  /** Connections the relay closed (the end of its byte stream). */
  readonly closedByRelay: number;
  close(): Promise<void>;
}

export async function rawUpstream(
  onRequest: (socket: Socket, streamId: number) => void,
): Promise<RawUpstream> {
  const sockets = new Set<Socket>();
  const state = { requests: 0, frames: [] as Frame[], connections: 0, closedByRelay: 0 };
  const server = createServer((socket) => {
    sockets.add(socket);
    state.connections++;
    socket.on("error", () => {});
    socket.once("end", () => state.closedByRelay++);
    socket.once("close", () => sockets.delete(socket));
    socket.write(encodeFrame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0)));
    let buf: Buffer = Buffer.alloc(0);
    let preface = CLIENT_PREFACE.length;
    const opened = new Set<number>();
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (preface > 0) {
        const skip = Math.min(preface, buf.length);
        preface -= skip;
        buf = buf.subarray(skip);
      }
      const { frames, rest } = decodeFrames(buf);
      buf = rest;
      for (const f of frames) {
        state.frames.push(f);
        if (f.type === FrameType.SETTINGS && (f.flags & 1) === 0) {
          socket.write(encodeFrame(FrameType.SETTINGS, 1, 0, Buffer.alloc(0)));
        }
        if (f.type === FrameType.HEADERS && !opened.has(f.streamId)) {
          opened.add(f.streamId); // (the request's trailers are HEADERS too)
          state.requests++;
          onRequest(socket, f.streamId);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: { host: "127.0.0.1", port },
    get requests() {
      return state.requests;
    },
    get connections() {
      return state.connections;
    },
    get closedByRelay() {
      return state.closedByRelay;
    },
    frames: state.frames,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
