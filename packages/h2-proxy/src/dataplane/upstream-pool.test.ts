import type * as http2 from "node:http2";
import { describe, expect, it } from "vitest";
import type { ForwardResult } from "./forward.js";
import { startProxyServer } from "./proxy-server.js";
import {
  h2Client,
  simpleRequest,
  startH2Backend,
  startStaticProxy,
  UpstreamPool,
  waitFor,
} from "./test-support.js";

describe("upstream pool", () => {
  it("reuses one multiplexed connection per endpoint, connecting lazily", async () => {
    let connections = 0;
    await using backend = await startH2Backend((stream) => {
      stream.respond({ ":status": 200 });
      stream.end("ok");
    });
    backend.server.on("session", () => connections++);
    await using proxy = await startStaticProxy(backend.endpoint);
    expect(proxy.server.pool.get(backend.endpoint).state.kind).toBe("idle");
    await using session = h2Client(proxy.port);
    await Promise.all(Array.from({ length: 50 }, () => simpleRequest(session, { ":path": "/" })));
    expect(connections).toBe(1);
    const entry = proxy.server.pool.get(backend.endpoint);
    expect(entry.state.kind).toBe("open");
    expect(entry.available).toBe(true);
    expect(entry.inflight).toBe(0);
  });

  it("honours GOAWAY: a refused stream (id > last-stream-id) is replayed once on a new connection", async () => {
    let sessionsSeen = 0;
    const firstSession = new WeakSet<http2.ServerHttp2Session>();
    await using backend = await startH2Backend((stream, headers) => {
      const session = stream.session as http2.ServerHttp2Session;
      if (headers[":path"] === "/refuse-me" && firstSession.has(session)) {
        // Graceful shutdown that never processed this stream.
        session.goaway(0, (stream.id as number) - 2);
        return;
      }
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        stream.respond({ ":status": 200 });
        stream.end(`ok ${headers[":path"]} ${Buffer.concat(chunks).toString()}`);
      });
    });
    backend.server.on("session", (s: http2.ServerHttp2Session) => {
      sessionsSeen++;
      if (sessionsSeen === 1) firstSession.add(s);
    });
    const results: ForwardResult[] = [];
    const proxy = await startProxyServer({
      host: "127.0.0.1",
      port: 0,
      onRequest(req) {
        void req.forward(backend.endpoint, {}, { onComplete: (r) => results.push(r) });
      },
    });
    try {
      await using session = h2Client(proxy.port);
      const first = await simpleRequest(
        session,
        { ":method": "POST", ":path": "/first" },
        Buffer.from("a"),
      );
      expect(first.body.toString()).toBe("ok /first a");
      const second = await simpleRequest(
        session,
        { ":method": "POST", ":path": "/refuse-me" },
        Buffer.from("body"),
      );
      expect(second.body.toString()).toBe("ok /refuse-me body");
      expect(sessionsSeen).toBe(2);
      await waitFor(() => results.length === 2, 2000, "results");
      expect(results[1]?.retried).toBe(true);
      const third = await simpleRequest(session, { ":path": "/third" });
      expect(third.body.toString()).toBe("ok /third ");
    } finally {
      await proxy.close(500);
    }
  });

  it("backs off after a failed connect and reconnects when the backend restarts", async () => {
    const first = await startH2Backend((stream) => {
      stream.respond({ ":status": 200 });
      stream.end("one");
    });
    const endpoint = first.endpoint;
    await using proxy = await startStaticProxy(endpoint);
    await using session = h2Client(proxy.port);
    expect((await simpleRequest(session, { ":path": "/" })).body.toString()).toBe("one");
    await first.close();
    const down = await simpleRequest(session, { ":path": "/" });
    expect([502, 503]).toContain(down.headers[":status"]);
    const entry = proxy.server.pool.get(endpoint);
    await waitFor(
      () => entry.state.kind === "backoff" || entry.state.kind === "idle",
      2000,
      "backoff",
    );
    // While in backoff the endpoint is unavailable and requests fail fast with a reason.
    if (entry.state.kind === "backoff") {
      expect(entry.available).toBe(false);
      const fast = await simpleRequest(session, { ":path": "/" });
      expect(decodeURIComponent(String(fast.headers["l5d-err"]))).toMatch(
        /unavailable|ECONNREFUSED/,
      );
    }
    expect(entry.totalConnectFailures).toBeGreaterThanOrEqual(1);
    await using second = await startH2Backend(
      (stream) => {
        stream.respond({ ":status": 200 });
        stream.end("two");
      },
      {},
      endpoint.port,
    );
    await waitFor(() => entry.state.kind !== "backoff", 5000, "backoff to expire");
    const back = await simpleRequest(session, { ":path": "/" });
    expect(back.body.toString()).toBe("two");
    expect(entry.connectFailures).toBe(0);
    expect(second.sessions.size).toBe(1);
  });

  it("drains removed endpoints: in-flight streams finish, then the connection closes", async () => {
    let release = (): void => {};
    let reached = false;
    await using backend = await startH2Backend((stream, headers) => {
      stream.respond({ ":status": 200 });
      if (headers[":path"] === "/slow") {
        release = () => stream.end("slow done");
        reached = true;
      } else stream.end("ok");
    });
    await using proxy = await startStaticProxy(backend.endpoint);
    await using session = h2Client(proxy.port);
    const slow = simpleRequest(session, { ":path": "/slow" });
    await waitFor(() => proxy.server.pool.get(backend.endpoint).inflight === 1, 2000, "inflight");
    // the pool counts the stream before the backend has it: wait until the backend does
    await waitFor(() => reached, 2000, "the slow request to reach the backend");
    const entry = proxy.server.pool.get(backend.endpoint);
    proxy.server.pool.retain([]);
    expect(entry.state.kind).toBe("closed");
    expect(entry.available).toBe(false);
    expect(backend.sessions.size).toBe(1);
    release();
    expect((await slow).body.toString()).toBe("slow done");
    await waitFor(() => backend.sessions.size === 0, 3000, "the drained connection to close");
    // A later request to the same address builds a fresh entry and connection.
    const again = await simpleRequest(session, { ":path": "/" });
    expect(again.body.toString()).toBe("ok");
  });

  it("close() destroys every connection", async () => {
    await using backend = await startH2Backend((stream) => {
      stream.respond({ ":status": 200 });
      stream.end("ok");
    });
    const pool = new UpstreamPool();
    const stream = pool.request(backend.endpoint, { ":path": "/" }, { endStream: true });
    await new Promise((r) => stream.once("response", r));
    stream.resume();
    await pool.close();
    await waitFor(() => backend.sessions.size === 0, 3000, "connections to close");
    expect(() => pool.request(backend.endpoint, { ":path": "/" })).toThrow(/removed/);
  });
});
