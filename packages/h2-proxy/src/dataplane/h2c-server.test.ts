import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import type * as http2 from "node:http2";
import { encodeHeaderBlock, Flag, FrameType } from "@l5d/h2";
import { describe, expect, it } from "vitest";
import {
  h2Client,
  RawH2Client,
  simpleRequest,
  startH2Backend,
  startStaticProxy,
  upstreamStreams,
  waitFor,
} from "./test-support.js";

const get = (path: string): Buffer =>
  encodeHeaderBlock([
    [":method", "GET"],
    [":scheme", "http"],
    [":authority", "test"],
    [":path", path],
  ]);

/** A backend answering `/hold` never (until reset) and anything else with `ok <path>`. */
async function holdingBackend() {
  return startH2Backend((stream, headers) => {
    if (headers[":path"] === "/hold") {
      stream.respond({ ":status": 200 });
      return;
    }
    stream.respond({ ":status": 200 });
    stream.end(`ok ${headers[":path"]}`);
  });
}

// The server side of the frame-level relay (`startRelayServer` behind a static route).
describe("h2c server (relay)", () => {
  it("refuses streams over maxConcurrentStreams with REFUSED_STREAM and keeps the connection (linkerd #2325)", async () => {
    await using backend = await holdingBackend();
    await using proxy = await startStaticProxy(backend.endpoint, { maxConcurrentStreams: 3 });
    await using raw = await RawH2Client.connect(proxy.port);
    for (let id = 1; id <= 9; id += 2)
      raw.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, get("/hold"));
    await waitFor(() => raw.received(FrameType.RST_STREAM).length >= 2, 3000, "two refusals");
    const refused = raw.received(FrameType.RST_STREAM);
    expect(refused.map((f) => f.streamId).sort()).toEqual([7, 9]);
    for (const f of refused) expect(f.payload.readUInt32BE(0)).toBe(7);
    // The connection survives: free a slot and a new stream is served.
    raw.send(FrameType.RST_STREAM, 0, 1, Buffer.from([0, 0, 0, 8]));
    await waitFor(() => proxy.server.streams === 2, 3000, "stream 1 to close");
    raw.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 11, get("/fast"));
    await waitFor(
      () => raw.received(FrameType.DATA, 11).length > 0,
      3000,
      "an answer on stream 11",
    );
    const body = Buffer.concat(raw.received(FrameType.DATA, 11).map((f) => f.payload)).toString();
    expect(body).toBe("ok /fast");
    expect(raw.received(FrameType.GOAWAY)).toEqual([]);
    expect(raw.isClosed).toBe(false);
  });

  it("survives a client that opens 10,000 streams and resets them; nothing leaks", async () => {
    let backendStreams = 0;
    await using backend = await startH2Backend((stream, headers) => {
      backendStreams++;
      stream.once("close", () => backendStreams--);
      stream.respond({ ":status": 200 });
      if (headers[":path"] === "/after") stream.end("after");
    });
    await using proxy = await startStaticProxy(backend.endpoint, { livenessCheckMs: 200 });
    const session = h2Client(proxy.port);
    for (let i = 0; i < 10_000; i++) {
      if (session.destroyed || session.closed) break;
      const req = session.request({ ":path": "/x" }, { endStream: true });
      req.on("error", () => {});
      req.close(8);
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 200));
    session.destroy();
    await waitFor(() => proxy.server.streams === 0, 10_000, "proxy streams to reach 0");
    await waitFor(() => upstreamStreams(proxy) === 0, 10_000, "upstream inflight 0");
    await waitFor(() => backendStreams === 0, 10_000, "backend streams to reach 0");
    // nghttp2's rapid-reset limiter may have terminated the connection; the liveness sweep
    // reaps it either way.
    await waitFor(() => proxy.server.connections === 0, 10_000, "the client connection to close");
    await using fresh = h2Client(proxy.port);
    const res = await simpleRequest(fresh, { ":path": "/after" });
    expect(res.body.toString()).toBe("after");
  });

  it("answers 1 MiB of request headers with a clean stream error and keeps serving", async () => {
    await using backend = await holdingBackend();
    await using proxy = await startStaticProxy(backend.endpoint);
    await using session = h2Client(proxy.port);
    const res = await simpleRequest(session, { ":path": "/big", "x-big": "a".repeat(1 << 20) });
    expect(res.headers[":status"]).toBeUndefined();
    expect(res.rstCode).not.toBe(0);
    await using fresh = h2Client(proxy.port);
    const ok = await simpleRequest(fresh, { ":path": "/fine" });
    expect(ok.body.toString()).toBe("ok /fine");
    await waitFor(() => proxy.server.streams === 0, 3000, "streams to close");
  });

  it("answers 1 MiB of raw HEADERS/CONTINUATION frames without crashing", async () => {
    await using backend = await holdingBackend();
    await using proxy = await startStaticProxy(backend.endpoint);
    await using raw = await RawH2Client.connect(proxy.port);
    const block = encodeHeaderBlock([
      [":method", "GET"],
      [":scheme", "http"],
      [":authority", "test"],
      [":path", "/big"],
      ...Array.from({ length: 64 }, (_, i) => [`x-h${i}`, "b".repeat(16_000)] as const),
    ]);
    for (let off = 0; off < block.length; off += 16_384) {
      const last = off + 16_384 >= block.length;
      raw.send(
        off === 0 ? FrameType.HEADERS : FrameType.CONTINUATION,
        (last ? Flag.END_HEADERS : 0) | (off === 0 ? Flag.END_STREAM : 0),
        1,
        block.subarray(off, off + 16_384),
      );
    }
    await waitFor(
      () =>
        raw.received(FrameType.RST_STREAM, 1).length > 0 ||
        raw.received(FrameType.GOAWAY).length > 0 ||
        raw.isClosed,
      5000,
      "a stream or connection error",
    );
    expect(raw.received(FrameType.HEADERS, 1)).toEqual([]);
    await using session = h2Client(proxy.port);
    const ok = await simpleRequest(session, { ":path": "/still" });
    expect(ok.body.toString()).toBe("ok /still");
  });

  it("serves an HTTP/1.1 Upgrade: h2c request as stream 1, then more streams", async () => {
    let seen: http2.IncomingHttpHeaders = {};
    await using backend = await startH2Backend((stream, headers) => {
      if (headers[":path"] === "/up") seen = headers;
      stream.respond({ ":status": 200 });
      stream.end(`ok ${headers[":path"]}`);
    });
    await using proxy = await startStaticProxy(backend.endpoint);
    await using raw = await RawH2Client.connect(
      proxy.port,
      "GET /up HTTP/1.1\r\nHost: upgrade.test\r\nConnection: Upgrade, HTTP2-Settings\r\n" +
        "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nx-custom: yes\r\n\r\n",
    );
    // The raw client's frame parser sees the 101 response as garbage; read it from the socket.
    const head = await new Promise<string>((resolve) => {
      let text = "";
      const onData = (d: Buffer): void => {
        text += d.toString("latin1");
        if (text.includes("\r\n\r\n")) {
          raw.socket.off("data", onData);
          resolve(text);
        }
      };
      raw.socket.on("data", onData);
    });
    expect(head.startsWith("HTTP/1.1 101 ")).toBe(true);
    raw.frames.length = 0;
    (raw as unknown as { buf: Buffer }).buf = Buffer.alloc(0);
    raw.socket.write(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"));
    raw.send(FrameType.SETTINGS, 0, 0);
    await waitFor(
      () => raw.received(FrameType.DATA, 1).some((f) => (f.flags & 1) === 1),
      3000,
      "stream 1 answer",
    );
    expect(Buffer.concat(raw.received(FrameType.DATA, 1).map((f) => f.payload)).toString()).toBe(
      "ok /up",
    );
    expect(seen[":authority"]).toBe("upgrade.test");
    expect(seen["x-custom"]).toBe("yes");
    expect(seen.upgrade).toBeUndefined();
    expect(seen["http2-settings"]).toBeUndefined();
    raw.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, get("/second"));
    await waitFor(
      () => raw.received(FrameType.DATA, 3).some((f) => (f.flags & 1) === 1),
      3000,
      "stream 3 answer",
    );
    expect(Buffer.concat(raw.received(FrameType.DATA, 3).map((f) => f.payload)).toString()).toBe(
      "ok /second",
    );
  });

  it.skipIf(!existsSync("/usr/bin/curl"))("curl --http2 (Upgrade: h2c) gets through", async () => {
    await using backend = await startH2Backend((stream, headers) => {
      stream.respond({ ":status": 200, "x-proto": "h2" });
      stream.end(`ok ${headers[":path"]} ${headers[":method"]}`);
    });
    await using proxy = await startStaticProxy(backend.endpoint);
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        "/usr/bin/curl",
        ["-sS", "--http2", "-i", "--max-time", "5", `http://127.0.0.1:${proxy.port}/curl`],
        (err, stdout) => (err === null ? resolve(stdout) : reject(err)),
      ),
    );
    expect(out).toContain("HTTP/1.1 101");
    expect(out).toMatch(/HTTP\/2 200/);
    expect(out).toContain("ok /curl GET");
  });

  it("answers plain HTTP/1.1 with 505", async () => {
    await using backend = await holdingBackend();
    await using proxy = await startStaticProxy(backend.endpoint);
    await using raw = await RawH2Client.connect(proxy.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const text = await new Promise<string>((resolve) => {
      let t = "";
      raw.socket.on("data", (d: Buffer) => {
        t += d.toString("latin1");
      });
      raw.socket.once("close", () => resolve(t));
    });
    expect(text.startsWith("HTTP/1.1 505")).toBe(true);
    expect(text).toContain("l5d-err:");
  });

  it("closes gracefully: GOAWAY, in-flight streams finish, then the connection closes", async () => {
    let release = (): void => {};
    await using backend = await startH2Backend((stream) => {
      stream.respond({ ":status": 200 });
      stream.write("part1 ");
      release = () => stream.end("part2");
    });
    const proxy = await startStaticProxy(backend.endpoint);
    await using session = h2Client(proxy.port);
    let goaway = false;
    session.on("goaway", () => {
      goaway = true;
    });
    const pending = simpleRequest(session, { ":path": "/slow" });
    await waitFor(() => proxy.server.streams === 1, 3000, "the stream");
    await new Promise((r) => setTimeout(r, 20));
    const closing = proxy.server.close(5000);
    await waitFor(() => goaway, 3000, "GOAWAY");
    release();
    const res = await pending;
    expect(res.body.toString()).toBe("part1 part2");
    await closing;
    expect(proxy.server.connections).toBe(0);
  });
});
