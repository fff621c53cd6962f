/**
 * Regression tests for the HTTP/2 / gRPC failures Linkerd 1 users hit
 * (shared/spec/reliability-and-perf.md §2), as far as they concern the data plane (the
 * frame-level relay; node:http2 is the test peer).
 */

import type * as http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { startRelayServer } from "../relay/relay-server.js";
import {
  type ForwardSummary,
  grpcFrame,
  h2Client,
  payload,
  relayForward,
  resetStream,
  type StaticProxy,
  simpleRequest,
  startChain,
  startGrpcBackend,
  startH2Backend,
  startStaticProxy,
  testClient,
  unaryCall,
  upstreamStreams,
  waitFor,
} from "./test-support.js";

const GRPC_POST = {
  ":method": "POST",
  ":path": "/grpc.testing.TestService/UnaryCall",
  "content-type": "application/grpc",
  te: "trailers",
};

function clientStream(
  client: ReturnType<typeof testClient>,
  messages: Buffer[],
  opts: { windowCheck?: () => void } = {},
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const call = client.makeClientStreamRequest(
      "/grpc.testing.TestService/StreamingInputCall",
      (b: Buffer) => b,
      (b: Buffer) => b,
      new grpc.Metadata(),
      {},
      (err, r) => (err === null ? resolve(r as Buffer) : reject(err)),
    );
    let i = 0;
    const pump = (): void => {
      while (i < messages.length) {
        opts.windowCheck?.();
        if (!call.write(messages[i++] as Buffer)) {
          call.once("drain", pump);
          return;
        }
      }
      call.end();
    };
    pump();
  });
}

function serverStream(
  client: ReturnType<typeof testClient>,
  sizes: string,
  repeat = 1,
): Promise<{ count: number; bytes: number; exact: boolean }> {
  return new Promise((resolve, reject) => {
    const md = new grpc.Metadata();
    md.set("x-response-sizes", sizes);
    md.set("x-repeat", String(repeat));
    const call = client.makeServerStreamRequest(
      "/grpc.testing.TestService/StreamingOutputCall",
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      md,
    );
    let count = 0;
    let bytes = 0;
    let exact = true;
    call.on("data", (m: Buffer) => {
      if (count < 200 && !m.equals(payload(m.length, count & 0xff))) exact = false;
      count++;
      bytes += m.length;
    });
    call.on("error", reject);
    call.on("end", () => resolve({ count, bytes, exact }));
  });
}

/** Waits until every proxy of `chain` has no open stream and no upstream request in flight. */
async function chainDrained(chain: readonly StaticProxy[]): Promise<void> {
  await waitFor(() => chain.every((p) => p.server.streams === 0), 3000, "streams to close");
  await waitFor(() => chain.every((p) => upstreamStreams(p) === 0), 3000, "inflight 0");
}

// The frame-level relay, behind static routes (`startStaticProxy`, `relayForward`).
describe("data plane: relay", () => {
  describe("flow control (linkerd #727, #1013, #1605, #1704, #2363)", () => {
    it("messages straddling frames with a 2-frame window flow through 2 hops byte-exact", async () => {
      await using backend = await startGrpcBackend();
      const window = 2 * 16_384;
      await using chain = await startChain(backend.endpoint, 2, { initialWindowSize: window });
      using client = testClient(chain[0]!.port);
      // F-1 then F+2 bytes (F = 16 KiB frame), alternating, plus 64 KiB+ messages.
      const messages: Buffer[] = [];
      for (let i = 0; i < 120; i++) {
        const size = i % 3 === 0 ? 16_383 : i % 3 === 1 ? 16_386 : 70_000;
        messages.push(payload(size, i & 0xff));
      }
      const total = messages.reduce((n, m) => n + m.length, 0);
      const res = await clientStream(client, messages);
      expect(res.readUInt32BE(0)).toBe(total);
      const out = await serverStream(client, "16383,16386,70000", 40);
      expect(out).toEqual({ count: 120, bytes: total, exact: true });
    });

    it("a 24 MB server stream finishes through 2 hops with default 64 KiB windows", async () => {
      await using backend = await startGrpcBackend();
      await using chain = await startChain(backend.endpoint, 2);
      using client = testClient(chain[0]!.port);
      const out = await serverStream(client, "65536", 384);
      expect(out.count).toBe(384);
      expect(out.bytes).toBe(384 * 65536);
      expect(out.exact).toBe(true);
    });

    it("unary 64 KB, 1 MB and 4 MB requests and responses through 2 hops with 65,535-byte windows", async () => {
      await using backend = await startGrpcBackend();
      await using chain = await startChain(backend.endpoint, 2, { initialWindowSize: 65_535 });
      using client = testClient(chain[0]!.port);
      for (const size of [64_000, 1 << 20, 4 << 20]) {
        const md = new grpc.Metadata();
        md.set("x-response-size", String(size));
        const res = await unaryCall(client, payload(size), md);
        expect(res.equals(payload(size, size & 0xff))).toBe(true);
      }
    });

    it("16 MiB messages both ways are intact", async () => {
      await using backend = await startGrpcBackend();
      await using chain = await startChain(backend.endpoint, 2);
      using client = testClient(chain[0]!.port);
      const size = 16 << 20;
      const md = new grpc.Metadata();
      md.set("x-response-size", String(size));
      const res = await unaryCall(client, payload(size, 7), md);
      expect(res.length).toBe(size);
      expect(res.equals(payload(size, size & 0xff))).toBe(true);
    });

    it("a 10k-message grpc-js server stream arrives complete (linkerd #1591)", async () => {
      await using backend = await startGrpcBackend();
      await using chain = await startChain(backend.endpoint, 2);
      using client = testClient(chain[0]!.port);
      const out = await serverStream(client, "8,100", 5_000);
      expect(out.count).toBe(10_000);
      expect(out.bytes).toBe(5_000 * 108);
    });

    it("a 100k-message stream arrives complete and in order", async () => {
      // node:http2 backend writing 100 gRPC messages per write (grpc-js's server paces each
      // message and would make this test slow); the client is grpc-js and counts messages.
      const count = 100_000;
      await using backend = await startH2Backend((stream) => {
        stream.respond(
          { ":status": 200, "content-type": "application/grpc" },
          { waitForTrailers: true },
        );
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        let i = 0;
        const pump = (): void => {
          while (i < count) {
            const batch: Buffer[] = [];
            for (let j = 0; j < 100; j++, i++) {
              const m = Buffer.alloc(4);
              m.writeUInt32BE(i, 0);
              batch.push(grpcFrame(m));
            }
            if (!stream.write(Buffer.concat(batch))) {
              stream.once("drain", pump);
              return;
            }
          }
          stream.end();
        };
        pump();
      });
      await using chain = await startChain(backend.endpoint, 1);
      using client = testClient(chain[0]!.port);
      const result = await new Promise<{ n: number; inOrder: boolean }>((resolve, reject) => {
        const call = client.makeServerStreamRequest(
          "/grpc.testing.TestService/StreamingOutputCall",
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.alloc(0),
        );
        let n = 0;
        let inOrder = true;
        call.on("data", (m: Buffer) => {
          if (m.readUInt32BE(0) !== n) inOrder = false;
          n++;
        });
        call.on("error", reject);
        call.on("end", () => resolve({ n, inOrder }));
      });
      expect(result).toEqual({ n: count, inOrder: true });
    });

    it("a slow reader never makes the proxy buffer without bound (linkerd PR #764)", async () => {
      const total = 32 << 20;
      let written = 0;
      await using backend = await startH2Backend((stream) => {
        stream.respond({ ":status": 200 });
        const chunk = Buffer.alloc(64 * 1024, 1);
        const pump = (): void => {
          while (written < total) {
            written += chunk.length;
            if (!stream.write(chunk)) {
              stream.once("drain", pump);
              return;
            }
          }
          stream.end();
        };
        pump();
      });
      await using proxy = await startStaticProxy(backend.endpoint);
      await using session = h2Client(proxy.port);
      const req = session.request({ ":path": "/big" }, { endStream: true });
      req.on("error", () => {});
      req.pause();
      await new Promise((r) => req.once("response", r));
      // Observed from outside the proxy: the bytes the backend could hand to its stream before
      // stalling. The proxy gives the backend window only for bytes the client took, so this
      // stops at about the windows along the path (64 KiB each) plus the backend's own buffer.
      let stalled = -1;
      for (let i = 0; i < 40 && stalled !== written; i++) {
        stalled = written;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(stalled).toBe(written);
      expect(written).toBeLessThan(1 << 20);
      let received = 0;
      req.on("data", (c: Buffer) => {
        received += c.length;
      });
      req.resume();
      await new Promise((r) => req.once("end", r));
      expect(received).toBe(total);
    });
  });

  describe("resets (linkerd #728, #826, #1008, #1696)", () => {
    it("a client cancel reaches the upstream as RST_STREAM(CANCEL)", async () => {
      let upstreamRst: number | undefined;
      await using backend = await startH2Backend((stream) => {
        stream.respond({ ":status": 200, "content-type": "application/grpc" });
        stream.write(grpcFrame(Buffer.from("first")));
        stream.once("close", () => {
          upstreamRst = stream.rstCode;
        });
      });
      const results: ForwardSummary[] = [];
      await using proxy = await startRelayCollecting(backend.endpoint, results);
      await using session = h2Client(proxy.port);
      const req = session.request(GRPC_POST);
      req.on("error", () => {});
      req.write(grpcFrame(Buffer.from("hi")));
      await new Promise((r) => req.once("data", r));
      resetStream(req, 8);
      await waitFor(() => upstreamRst !== undefined, 2000, "upstream reset");
      expect(upstreamRst).toBe(8);
      await waitFor(() => results.length === 1, 2000, "completion");
      expect(results[0]?.reset).toBe(8);
    });

    it("an upstream reset after headers resets the client's stream with the same code", async () => {
      await using backend = await startH2Backend((stream) => {
        stream.respond({ ":status": 200 });
        stream.write("partial");
        setTimeout(() => resetStream(stream, 11), 20);
      });
      await using proxy = await startStaticProxy(backend.endpoint);
      await using session = h2Client(proxy.port);
      const res = await simpleRequest(session, { ":path": "/" });
      expect(res.rstCode).toBe(11);
      expect(res.body.toString()).toBe("partial");
      await waitFor(() => proxy.server.streams === 0, 2000, "streams to close");
    });

    it("an upstream reset before headers becomes a trailers-only gRPC error", async () => {
      await using backend = await startH2Backend((stream) => resetStream(stream, 8));
      await using proxy = await startStaticProxy(backend.endpoint);
      await using session = h2Client(proxy.port);
      const res = await simpleRequest(session, GRPC_POST, grpcFrame(Buffer.alloc(3)));
      expect(res.headers[":status"]).toBe(200);
      expect(res.headers["grpc-status"]).toBe("1");
      expect(String(res.headers["grpc-message"])).toContain("CANCEL");
      expect(res.headers["l5d-err"]).toBeDefined();
      const plain = await simpleRequest(session, { ":path": "/" });
      expect(plain.headers[":status"]).toBe(502);
    });

    it("upstream connection loss mid-stream resets the paired stream and the endpoint recovers", async () => {
      await using backend = await startH2Backend((stream, headers) => {
        stream.respond({ ":status": 200 });
        if (headers[":path"] === "/die") stream.write("before");
        else stream.end("ok");
      });
      // A lost TCP connection: no GOAWAY, no RST_STREAM.
      const kill = (): void => {
        for (const s of backend.sockets) s.destroy();
      };
      await using proxy = await startStaticProxy(backend.endpoint);
      await using session = h2Client(proxy.port);
      const pending = simpleRequest(session, { ":path": "/die" });
      await waitFor(
        () => backend.sessions.size === 1 && proxy.server.streams === 1,
        2000,
        "stream",
      );
      await new Promise((r) => setTimeout(r, 20));
      kill();
      const res = await pending;
      expect(res.rstCode).toBe(2);
      await waitFor(() => proxy.server.streams === 0, 2000, "streams to close");
      const ok = await simpleRequest(session, { ":path": "/" });
      expect(ok.body.toString()).toBe("ok");
    });

    it("a client that sends END_STREAM then disconnects gets its upstream stream reset", async () => {
      let upstreamRst: number | undefined;
      await using backend = await startH2Backend((stream) => {
        stream.respond({ ":status": 200 });
        stream.write("x");
        stream.once("close", () => {
          upstreamRst = stream.rstCode;
        });
      });
      await using proxy = await startStaticProxy(backend.endpoint);
      const session = h2Client(proxy.port);
      const req = session.request({ ":path": "/" }, { endStream: true });
      req.on("error", () => {});
      await new Promise((r) => req.once("data", r));
      session.destroy();
      await waitFor(() => upstreamRst !== undefined, 2000, "upstream reset");
      expect(upstreamRst).toBe(8);
      await waitFor(() => proxy.server.streams === 0, 2000, "streams to close");
    });

    it("after many cancelled calls the same connection still serves (linkerd #1008)", async () => {
      await using backend = await startGrpcBackend();
      await using chain = await startChain(backend.endpoint, 2);
      using client = testClient(chain[0]!.port);
      for (let i = 0; i < 50; i++) {
        const call = client.makeBidiStreamRequest(
          "/grpc.testing.TestService/FullDuplexCall",
          (b: Buffer) => b,
          (b: Buffer) => b,
        );
        call.on("error", () => {});
        call.write(Buffer.from([0, 0, 0, 4]));
        await new Promise((r) => call.once("data", r));
        call.cancel();
      }
      const out = await serverStream(client, "10,20", 5);
      expect(out.count).toBe(10);
      await chainDrained(chain);
    });
  });

  describe("stream accounting (linkerd #1245, #1395, #1342, #1693)", () => {
    it("open streams and upstream inflight return to 0 after a mix of outcomes", async () => {
      await using backend = await startH2Backend((stream, headers) => {
        const p = headers[":path"];
        if (p === "/rst") resetStream(stream, 2);
        else if (p === "/trailers-only") {
          stream.respond(
            { ":status": 200, "content-type": "application/grpc", "grpc-status": "5" },
            { endStream: true },
          );
        } else if (p === "/hang") {
          stream.respond({ ":status": 200 });
        } else {
          stream.respond({ ":status": 200 }, { waitForTrailers: true });
          stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
          stream.end("ok");
        }
      });
      await using chain = await startChain(backend.endpoint, 2);
      await using session = h2Client(chain[0]!.port);
      const all: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        const path = ["/ok", "/rst", "/trailers-only", "/hang"][i % 4] as string;
        if (path === "/hang") {
          const req = session.request({ ":path": path }, { endStream: true });
          req.on("error", () => {});
          all.push(
            new Promise<void>((r) =>
              req.once("response", () => {
                resetStream(req, 8);
                r();
              }),
            ),
          );
        } else all.push(simpleRequest(session, { ":path": path }));
      }
      await Promise.all(all);
      const ok = await simpleRequest(session, { ":path": "/ok" });
      expect(ok.trailers?.["grpc-status"]).toBe("0");
      const trailersOnly = await simpleRequest(session, { ":path": "/trailers-only" });
      expect(trailersOnly.headers["grpc-status"]).toBe("5");
      await chainDrained(chain);
    });
  });

  describe("headers (linkerd #832)", () => {
    it("keeps te: trailers, forwards custom headers and the router's edits", async () => {
      let seen: http2.IncomingHttpHeaders = {};
      await using backend = await startH2Backend((stream, headers) => {
        seen = headers;
        stream.respond({ ":status": 200 });
        stream.end();
      });
      await using proxy = await startStaticProxy(backend.endpoint);
      await using session = h2Client(proxy.port);
      await simpleRequest(session, {
        ...GRPC_POST,
        "x-custom": "v",
        ":authority": "svc.example",
      });
      expect(seen.te).toBe("trailers");
      expect(seen["x-custom"]).toBe("v");
      expect(seen[":authority"]).toBe("svc.example");
      expect(seen["l5d-test-hop"]).toBe("1");
    });
  });

  describe("deadlines (linkerd #663, #337)", () => {
    it("grpc-timeout is enforced (RST CANCEL upstream, DEADLINE_EXCEEDED downstream) and propagated", async () => {
      const upstreamTimeouts: string[] = [];
      let upstreamRst: number | undefined;
      await using backend = await startH2Backend((stream, headers) => {
        upstreamTimeouts.push(String(headers["grpc-timeout"]));
        stream.once("close", () => {
          upstreamRst = stream.rstCode;
        });
      });
      await using chain = await startChain(backend.endpoint, 2);
      await using session = h2Client(chain[0]!.port);
      const started = Date.now();
      const res = await simpleRequest(
        session,
        { ...GRPC_POST, "grpc-timeout": "300m" },
        grpcFrame(Buffer.alloc(1)),
      );
      const elapsed = Date.now() - started;
      expect(res.headers["grpc-status"]).toBe("4");
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(5000);
      await waitFor(() => upstreamRst !== undefined, 2000, "upstream reset");
      expect(upstreamRst).toBe(8);
      const propagated = Number.parseInt(upstreamTimeouts[0] ?? "", 10);
      expect(upstreamTimeouts[0]).toMatch(/^\d+[mu]$/);
      expect(propagated).toBeLessThanOrEqual(300);
      expect(propagated).toBeGreaterThan(200);
    });

    it("a deadline after the response started ends the stream with grpc-status 4 in trailers", async () => {
      await using backend = await startH2Backend((stream) => {
        stream.respond({ ":status": 200, "content-type": "application/grpc" });
        stream.write(grpcFrame(Buffer.from("one")));
      });
      await using proxy = await startStaticProxy(backend.endpoint);
      await using session = h2Client(proxy.port);
      const res = await simpleRequest(
        session,
        { ...GRPC_POST, "grpc-timeout": "100m" },
        grpcFrame(Buffer.alloc(1)),
      );
      expect(res.headers[":status"]).toBe(200);
      expect(res.trailers?.["grpc-status"]).toBe("4");
      expect(res.body.equals(grpcFrame(Buffer.from("one")))).toBe(true);
    });
  });

  describe("framing (linkerd #1728)", () => {
    it("40 KB messages and fuzzed sizes cross DATA frame boundaries byte-exact", async () => {
      await using backend = await startGrpcBackend();
      await using chain = await startChain(backend.endpoint, 2, { initialWindowSize: 40_000 });
      using client = testClient(chain[0]!.port);
      let seed = 1728;
      const rnd = (): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed;
      };
      const messages: Buffer[] = [];
      for (let i = 0; i < 150; i++) {
        const size = i % 2 === 0 ? 40_000 + (rnd() % 64) : rnd() % 100_000;
        messages.push(payload(size, i & 0xff));
      }
      const total = messages.reduce((n, m) => n + m.length, 0);
      const res = await clientStream(client, messages);
      expect(res.readUInt32BE(0)).toBe(total);
    });
  });

  describe("routing decisions", () => {
    it("keeps the request body that arrived while the router was deciding", async () => {
      await using backend = await startH2Backend((stream) => {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          stream.respond({ ":status": 200 });
          stream.end(Buffer.concat(chunks));
        });
      });
      await using proxy = await startStaticProxy(backend.endpoint, { delayMs: 100 });
      await using session = h2Client(proxy.port);
      const body = payload(200_000, 3);
      const res = await simpleRequest(session, { ":method": "POST", ":path": "/echo" }, body);
      expect(res.body.equals(body)).toBe(true);
    });

    it("answers locally when the upstream is down: UNAVAILABLE for gRPC, 502 otherwise", async () => {
      const dead = await startH2Backend(() => {});
      const endpoint = dead.endpoint;
      await dead.close();
      await using proxy = await startStaticProxy(endpoint);
      await using session = h2Client(proxy.port);
      const g = await simpleRequest(session, GRPC_POST, grpcFrame(Buffer.alloc(1)));
      expect(g.headers["grpc-status"]).toBe("14");
      expect(decodeURIComponent(String(g.headers["l5d-err"]))).toContain(
        `127.0.0.1:${endpoint.port}`,
      );
      const h = await simpleRequest(session, { ":path": "/" });
      expect([502, 503]).toContain(h.headers[":status"]);
      expect(h.body.toString()).toContain(`127.0.0.1:${endpoint.port}`);
    });
  });
});

async function startRelayCollecting(
  target: { host: string; port: number },
  results: ForwardSummary[],
): Promise<AsyncDisposable & { port: number }> {
  const relay = await startRelayServer({
    host: "127.0.0.1",
    port: 0,
    onRequest(req) {
      void relayForward(req, target).then((r) => results.push(r));
    },
  });
  return { port: relay.port, [Symbol.asyncDispose]: () => relay.close(500) };
}
