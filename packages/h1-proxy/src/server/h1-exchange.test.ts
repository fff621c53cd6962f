import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type ServerResponse,
} from "node:http";
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from "node:net";
import { type AttemptResult, attemptOnce } from "@l5d/h2-proxy";
import { afterEach, describe, expect, it } from "vitest";
import type { UpstreamPools } from "../client/upstream-pools.js";
import type { H1Request } from "./h1-request.js";
import type { H1ServerOptions } from "./h1-server.js";
import { startTestH1Server } from "./h1-server-rig.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const OPTS = {
  holdResponses: true,
  requestBufferBytes: 1024,
  responseBufferBytes: 1024,
  classificationTimeoutMs: 100,
};

/** A real H1 server on 127.0.0.1:0 handing each request to `onRequest` (the router's place). */
async function proxy(
  onRequest: (req: H1Request) => void,
  over: Partial<H1ServerOptions> = {},
): Promise<{ port: number; pools: UpstreamPools }> {
  const { srv, pools } = await startTestH1Server(onRequest, over);
  cleanups.push(() => pools.close());
  cleanups.push(() => srv.close(0));
  return { port: srv.port, pools };
}

interface Seen {
  method: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A node:http endpoint recording what it received; `respond` answers (default: "up"). */
async function upstream(
  respond: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.end("up"),
) {
  const seen: Seen[] = [];
  let sockets = 0;
  const s = createServer((q, r) => {
    const chunks: Buffer[] = [];
    q.on("data", (d: Buffer) => chunks.push(d));
    q.on("end", () => {
      seen.push({ method: q.method ?? "", headers: q.headers, body: Buffer.concat(chunks) });
      respond(q, r);
    });
  });
  s.on("connection", () => sockets++);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  );
  return { port: (s.address() as AddressInfo).port, seen, sockets: () => sockets };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Sends one request to the proxy (its body as `body` pieces, written 5 ms apart). */
function send(
  port: number,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer[] } = {},
): { answer: Promise<Answer>; destroy(): void } {
  let destroy = () => {};
  const answer = new Promise<Answer>((resolve, reject) => {
    const c = request(
      {
        host: "127.0.0.1",
        port,
        method: opts.method ?? "GET",
        path: "/x",
        headers: opts.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on("error", reject);
      },
    );
    c.on("error", reject);
    destroy = () => c.destroy();
    cleanups.push(() => c.destroy());
    const pieces = opts.body ?? [];
    const next = (i: number) => {
      if (i === pieces.length) {
        c.end();
        return;
      }
      c.write(pieces[i]);
      setTimeout(() => next(i + 1), 5);
    };
    next(0);
  });
  answer.catch(() => {});
  return { answer, destroy: () => destroy() };
}

/** What an attempt came to, in the terms the tests check. */
function summary(r: AttemptResult) {
  return {
    status: r.outcome.status,
    code: (r.outcome.error as { code?: unknown } | undefined)?.code,
    held: r.held,
    unprocessed: r.unprocessed,
  };
}

/** A port nothing listens on (it was just freed). */
async function refusedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Waits (bounded) until `f` holds. */
async function until(f: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("H1Exchange", () => {
  it("a request whose client left while it was routed is never sent upstream", async () => {
    const up = await upstream();
    let client: { destroy(): void } | undefined;
    const result = new Promise<{ done: boolean; code: unknown; held: boolean }>((resolve) => {
      void proxy((req) => {
        // the client goes away while the request is being routed
        client?.destroy();
        req.parts.res.onDone(() => {
          // routing took a while: the reply was over long before the exchange
          setTimeout(async () => {
            const ex = req.exchange(OPTS);
            const r = await attemptOnce(ex, { host: "127.0.0.1", port: up.port }, {});
            resolve({ done: ex.done, code: summary(r).code, held: r.held });
          }, 10);
        });
      }).then(({ port }) => {
        client = send(port);
      });
    });
    expect(await result).toEqual({ done: true, code: "CLIENT_RESET", held: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(up.seen.length).toBe(0);
    expect(up.sockets()).toBe(0);
  });

  it("holds a complete small response until committed, with the router's extra header", async () => {
    const up = await upstream();
    const attempts: ReturnType<typeof summary>[] = [];
    const { port } = await proxy(async (req) => {
      const ex = req.exchange(OPTS);
      const r = await attemptOnce(ex, { host: "127.0.0.1", port: up.port }, {});
      attempts.push(summary(r));
      // held: nothing reached the client yet
      expect(req.parts.res.headersSent).toBe(false);
      await ex.commit({ "l5d-retryable": "true" });
    });
    const a = await send(port).answer;
    expect(attempts).toEqual([{ status: 200, code: undefined, held: true, unprocessed: false }]);
    expect({
      status: a.status,
      retryable: a.headers["l5d-retryable"],
      body: String(a.body),
    }).toEqual({ status: 200, retryable: "true", body: "up" });
    expect(up.seen.map((s) => s.method)).toEqual(["GET"]);
  });

  it("a streamed chunked response from the upstream reaches the client whole", async () => {
    const big = Buffer.alloc(512 * 1024, "b");
    const up = await upstream((_q, r) => {
      r.write("first-");
      setTimeout(() => {
        r.write(big);
        setTimeout(() => r.end("-last"), 10);
      }, 10);
    });
    const attempts: ReturnType<typeof summary>[] = [];
    const { port } = await proxy(async (req) => {
      const ex = req.exchange({ ...OPTS, holdResponses: false });
      const r = await attemptOnce(ex, { host: "127.0.0.1", port: up.port }, {});
      attempts.push(summary(r));
    });
    const a = await send(port).answer;
    expect(a.status).toBe(200);
    expect(a.headers["transfer-encoding"]).toBe("chunked");
    expect(a.body.equals(Buffer.concat([Buffer.from("first-"), big, Buffer.from("-last")]))).toBe(
      true,
    );
    expect(attempts).toEqual([{ status: 200, code: undefined, held: false, unprocessed: false }]);
  });

  it("a request body, chunked or with a Content-Length, reaches the upstream whole", async () => {
    const up = await upstream((q, r) => r.end(`got ${q.headers["content-length"] ?? "chunked"}`));
    const { port } = await proxy(async (req) => {
      const ex = req.exchange(OPTS);
      await attemptOnce(ex, { host: "127.0.0.1", port: up.port }, {});
      await ex.commit();
    });
    // over the replay buffer (1 KB): sent on as it comes, not kept
    const pieces = [Buffer.alloc(10, "a"), Buffer.alloc(40_000, "b"), Buffer.alloc(30_000, "c")];
    const whole = Buffer.concat(pieces);
    const chunked = await send(port, { method: "POST", body: pieces }).answer;
    expect(chunked.status).toBe(200);
    expect(String(chunked.body)).toBe("got chunked");
    const sized = await send(port, {
      method: "PUT",
      headers: { "content-length": String(whole.length) },
      body: pieces,
    }).answer;
    expect(String(sized.body)).toBe(`got ${whole.length}`);
    expect(up.seen.length).toBe(2);
    const [c, s] = up.seen as [Seen, Seen];
    expect(c.method).toBe("POST");
    expect(c.headers["transfer-encoding"]).toBe("chunked");
    expect(c.body.equals(whole)).toBe(true);
    expect(s.method).toBe("PUT");
    expect(s.headers["content-length"]).toBe(String(whole.length));
    expect(s.headers["transfer-encoding"]).toBeUndefined();
    expect(s.body.equals(whole)).toBe(true);
  });

  it("an attempt to a refused port resolves held and unprocessed with UPSTREAM_CONNECT_FAILED", async () => {
    const dead = await refusedPort();
    const attempts: ReturnType<typeof summary>[] = [];
    const { port } = await proxy(async (req) => {
      const ex = req.exchange({ ...OPTS, holdResponses: false });
      const r = await attemptOnce(ex, { host: "127.0.0.1", port: dead }, {});
      attempts.push(summary(r));
      expect(req.parts.res.headersSent).toBe(false);
      await ex.commit();
    });
    const a = await send(port).answer;
    expect(attempts).toEqual([
      { status: undefined, code: "UPSTREAM_CONNECT_FAILED", held: true, unprocessed: true },
    ]);
    expect(a.status).toBe(502);
    expect(a.headers["l5d-err"]).toContain("cannot+connect+to+127.0.0.1");
  });

  it("a response whose Content-Length is over maxResponseBytes is an UPSTREAM_PROTOCOL_ERROR", async () => {
    const up = await upstream((_q, r) => {
      r.setHeader("content-length", "4096");
      r.end(Buffer.alloc(4096, "x"));
    });
    const attempts: ReturnType<typeof summary>[] = [];
    const { port } = await proxy(
      async (req) => {
        const ex = req.exchange({ ...OPTS, holdResponses: false });
        const r = await attemptOnce(ex, { host: "127.0.0.1", port: up.port }, {});
        attempts.push(summary(r));
        await ex.commit();
      },
      { maxResponseBytes: 1024 },
    );
    const a = await send(port).answer;
    expect(attempts).toEqual([
      { status: undefined, code: "UPSTREAM_PROTOCOL_ERROR", held: true, unprocessed: false },
    ]);
    expect(a.status).toBe(502);
    expect(String(a.body)).toContain("over maxResponseKB");
  });

  it("a response to HEAD with a Content-Length completes (no body awaited), and the connection is reused", async () => {
    const up = await upstream((_q, r) => {
      r.setHeader("content-type", "text/plain");
      r.setHeader("content-length", "5");
      // node:http writes no body to a HEAD
      r.end();
    });
    const attempts: ReturnType<typeof summary>[] = [];
    let hold = true;
    const { port } = await proxy(async (req) => {
      const ex = req.exchange({ ...OPTS, holdResponses: hold });
      const r = await attemptOnce(ex, { host: "127.0.0.1", port: up.port }, {});
      attempts.push(summary(r));
      if (r.held) await ex.commit();
    });
    const t0 = performance.now();
    const held = await send(port, { method: "HEAD" }).answer;
    hold = false;
    const streamed = await send(port, { method: "HEAD" }).answer;
    expect(performance.now() - t0).toBeLessThan(2_000);
    for (const a of [held, streamed]) {
      expect(a.status).toBe(200);
      expect(a.headers["content-length"]).toBe("5");
      expect(a.body.length).toBe(0);
    }
    expect(attempts).toEqual([
      { status: 200, code: undefined, held: true, unprocessed: false },
      { status: 200, code: undefined, held: false, unprocessed: false },
    ]);
    expect(up.seen.map((s) => s.method)).toEqual(["HEAD", "HEAD"]);
    expect(up.sockets()).toBe(1);
  }, 5_000);

  it("a response to HEAD whose Content-Length is over maxResponseBytes is passed on (no body follows)", async () => {
    const up = await upstream((_q, r) => {
      r.setHeader("content-length", "4096");
      r.end();
    });
    const attempts: ReturnType<typeof summary>[] = [];
    const { port } = await proxy(
      async (req) => {
        const ex = req.exchange({ ...OPTS, holdResponses: false });
        const r = await attemptOnce(ex, { host: "127.0.0.1", port: up.port }, {});
        attempts.push(summary(r));
        if (r.held) await ex.commit();
      },
      { maxResponseBytes: 1024 },
    );
    const a = await send(port, { method: "HEAD" }).answer;
    expect(attempts).toEqual([{ status: 200, code: undefined, held: false, unprocessed: false }]);
    expect(a.status).toBe(200);
    expect(a.headers["content-length"]).toBe("4096");
  });

  it("an upstream connection whose response ended while the client was backed up serves the next request after that client left", async () => {
    // a raw endpoint: a chunked response written piece by piece as the test says, then "ok"
    let first: Socket | undefined;
    const upSockets = new Set<Socket>();
    const upServer = createTcpServer((s) => {
      upSockets.add(s);
      s.on("error", () => {});
      let n = 0;
      s.on("data", (d: Buffer) => {
        if (!d.includes("\r\n\r\n")) return;
        if (n++ === 0) {
          first = s;
          s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        } else s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      });
    });
    await new Promise<void>((r) => upServer.listen(0, "127.0.0.1", r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const s of upSockets) s.destroy();
          upServer.close(() => r());
        }),
    );
    const upPort = (upServer.address() as AddressInfo).port;
    // the proxy's side of the first client's connection
    let toClient: Socket | undefined;
    const attempts: ReturnType<typeof summary>[] = [];
    const { port } = await proxy((req) => {
      toClient ??= req.parts.req.socket;
      const ex = req.exchange({ ...OPTS, holdResponses: false });
      void attemptOnce(ex, { host: "127.0.0.1", port: upPort }, {}).then((r) => {
        attempts.push(summary(r));
      });
    });
    // a client that never reads its response
    const slow = connect(port, "127.0.0.1");
    slow.on("error", () => {});
    slow.pause();
    cleanups.push(() => slow.destroy());
    slow.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => first !== undefined && toClient !== undefined);
    const up = first as Socket;
    const out = toClient as Socket;
    // body pieces until the kernel's buffers toward the client are full (the proxy's socket
    // queues bytes), short of its high-water mark: nothing paused yet
    const piece = Buffer.alloc(8_192, "p");
    for (let i = 0; i < 4_000 && out.writableLength === 0; i++) {
      up.write(`2000\r\n${piece.toString("latin1")}\r\n`, "latin1");
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(out.writableLength).toBeGreaterThan(0);
    expect(out.writableLength).toBeLessThan(out.writableHighWaterMark);
    expect(attempts).toEqual([]);
    // the last piece and the end in one read: the client is backed up as the response completes
    up.write(`8000\r\n${"f".repeat(32_768)}\r\n0\r\n\r\n`, "latin1");
    await until(() => attempts.length === 1);
    expect(attempts).toEqual([{ status: 200, code: undefined, held: false, unprocessed: false }]);
    // the slow client gives up: its socket never drains
    slow.destroy();
    await new Promise((r) => setTimeout(r, 50));
    // the next request takes the pooled connection (the endpoint sees no new one)
    const next = send(port).answer;
    const a = await Promise.race([
      next,
      new Promise<"hung">((r) => setTimeout(() => r("hung"), 3_000)),
    ]);
    expect(upSockets.size).toBe(1);
    expect(a === "hung" ? a : { status: a.status, body: String(a.body) }).toEqual({
      status: 200,
      body: "ok",
    });
  }, 15_000);
});
