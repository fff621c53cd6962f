/**
 * A router that throws after it has answered a request (a telemeter's callback failing in its
 * `onRequestDone`, say): the relay's route step answers a request only if nothing has answered
 * it yet, so the client gets one response, never a second HEADERS on a closed stream, and the
 * connection goes on serving.
 */
import { connect } from "node:net";
import {
  CLIENT_PREFACE,
  decodeFrames,
  encodeFrame,
  encodeHeaderBlock,
  type Frame,
  FrameType,
} from "@l5d/h2";
import { afterEach, describe, expect, it } from "vitest";
import { h2Client, simpleRequest } from "../dataplane/test-support.js";
import { startRelayServer } from "./relay-server.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe("relay: a router that throws", () => {
  it("after answering: the client gets that one answer and the connection stays usable", async () => {
    let calls = 0;
    const relay = await startRelayServer({
      host: "127.0.0.1",
      port: 0,
      onRequest(req) {
        calls++;
        req.respondError({ grpcStatus: 3, httpStatus: 400, message: "answered first" });
        throw new Error("a telemeter failed");
      },
    });
    const client = h2Client(relay.port);
    cleanup.push(
      () => relay.close(),
      async () => client[Symbol.asyncDispose](),
    );
    const headers = { ":method": "GET", ":path": "/x", ":authority": "svc" };
    for (let i = 0; i < 2; i++) {
      const r = await simpleRequest(client, headers);
      expect(r.headers[":status"]).toBe(400);
      expect(decodeURIComponent(String(r.headers["l5d-err"]))).toContain("answered first");
    }
    expect(calls).toBe(2);
    expect(client.destroyed).toBe(false);

    // on the wire: exactly one HEADERS for the stream (a raw client sees every frame)
    const socket = connect(relay.port, "127.0.0.1");
    cleanup.push(async () => void socket.destroy());
    const frames: Frame[] = [];
    let buf: Buffer = Buffer.alloc(0);
    socket.on("data", (d: Buffer) => {
      const all = decodeFrames(Buffer.concat([buf, d]));
      frames.push(...all.frames);
      buf = all.rest;
    });
    socket.write(
      Buffer.concat([
        CLIENT_PREFACE,
        encodeFrame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0)),
        encodeFrame(
          FrameType.HEADERS,
          0x5,
          1,
          encodeHeaderBlock([
            [":method", "GET"],
            [":scheme", "http"],
            [":path", "/x"],
            [":authority", "svc"],
          ]),
        ),
      ]),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(frames.filter((f) => f.type === FrameType.HEADERS && f.streamId === 1)).toHaveLength(1);
    expect(frames.some((f) => f.type === FrameType.GOAWAY)).toBe(false);
  });

  it("before answering: the client gets a 500 naming the failure", async () => {
    const relay = await startRelayServer({
      host: "127.0.0.1",
      port: 0,
      onRequest() {
        throw new Error("no route table");
      },
    });
    const client = h2Client(relay.port);
    cleanup.push(
      () => relay.close(),
      async () => client[Symbol.asyncDispose](),
    );
    const r = await simpleRequest(client, { ":method": "GET", ":path": "/x", ":authority": "svc" });
    expect(r.headers[":status"]).toBe(500);
    expect(decodeURIComponent(String(r.headers["l5d-err"]))).toContain("no route table");
  });
});
