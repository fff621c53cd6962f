import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import type { ParsedHead } from "../wire/llhttp.js";
import {
  type ConnectionHome,
  FailPhase,
  type ResponseHandler,
  UpState,
  UpstreamConnection,
} from "./upstream-connection.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Records what a connection tells its pool. */
class Home implements ConnectionHome {
  readonly checkins: UpstreamConnection[] = [];
  readonly gone_: UpstreamConnection[] = [];
  checkin(c: UpstreamConnection): void {
    this.checkins.push(c);
  }
  gone(c: UpstreamConnection): void {
    this.gone_.push(c);
  }
}

interface Failure {
  code: string | undefined;
  phase: FailPhase;
  unprocessed: boolean;
  tcpUp: boolean;
}

interface Result {
  heads: ParsedHead[];
  body: string;
  ended: boolean;
  error: Failure | undefined;
}

/** Sends one request on `c` (its body, if any, then its end); resolves at the response's end or the failure. */
function run(
  c: UpstreamConnection,
  head: string,
  opts: { body?: string[]; chunked?: boolean; headRequest?: boolean } = {},
): Promise<Result> {
  return new Promise((resolve) => {
    const r: Result = { heads: [], body: "", ended: false, error: undefined };
    const h: ResponseHandler = {
      head: (x) => {
        r.heads.push(x);
      },
      body: (b) => {
        r.body += b.toString("latin1");
      },
      end: () => {
        r.ended = true;
        resolve(r);
      },
      error: (e, phase, unprocessed, tcpUp) => {
        r.error = { code: e.code, phase, unprocessed, tcpUp };
        resolve(r);
      },
      upgrade: (_h, socket) => {
        socket.destroy();
        resolve(r);
      },
    };
    c.send(head, opts.chunked ?? false, opts.headRequest ?? false, h);
    for (const b of opts.body ?? []) c.write(Buffer.from(b));
    c.end();
  });
}

const GET = "GET / HTTP/1.1\r\nHost: up\r\n\r\n";

async function listen(s: Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return (s.address() as AddressInfo).port;
}

/** A raw TCP endpoint: `onRequest` gets each request head (bodies are not expected) and its socket. */
async function rawServer(onRequest: (s: Socket, head: string, n: number) => void) {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    let buf = "";
    let n = 0;
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      for (;;) {
        const i = buf.indexOf("\r\n\r\n");
        if (i < 0) break;
        const head = buf.slice(0, i + 4);
        buf = buf.slice(i + 4);
        onRequest(s, head, n++);
      }
    });
  });
  const port = await listen(server);
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { port, accepted: () => accepted, open: () => sockets.size };
}

function connection(port: number, home: Home, maxHeadBytes = 16_384, connectTimeoutMs = 2_000) {
  const c = new UpstreamConnection(
    { host: "127.0.0.1", port },
    connectTimeoutMs,
    maxHeadBytes,
    home,
  );
  cleanups.push(() => c.close());
  return c;
}

/** Waits (bounded) until `f` holds. */
async function until(f: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("UpstreamConnection", () => {
  it("carries sequential requests on one socket, back to its home after each", async () => {
    let sockets = 0;
    const seen: string[] = [];
    const s = createHttpServer((q, r) => {
      seen.push(q.url ?? "");
      r.end(`hi ${q.url}`);
    });
    s.on("connection", () => sockets++);
    const port = await listen(s);
    cleanups.push(() => {
      s.closeAllConnections();
      s.close();
    });
    const home = new Home();
    const c = connection(port, home);
    for (const path of ["/a", "/b", "/c"]) {
      const r = await run(c, `GET ${path} HTTP/1.1\r\nHost: up\r\n\r\n`);
      expect(r.error).toBeUndefined();
      expect(r.heads.map((h) => h.status)).toEqual([200]);
      expect(r.body).toBe(`hi ${path}`);
      expect(c.state).toBe(UpState.Idle);
    }
    expect(c.reused).toBe(true);
    expect(home.checkins.length).toBe(3);
    expect(home.gone_.length).toBe(0);
    expect(seen).toEqual(["/a", "/b", "/c"]);
    expect(sockets).toBe(1);
  });

  it("a response with Connection: close closes the connection instead of checking it in", async () => {
    const s = createHttpServer((_q, r) => {
      r.setHeader("Connection", "close");
      r.end("bye");
    });
    const port = await listen(s);
    cleanups.push(() => {
      s.closeAllConnections();
      s.close();
    });
    const home = new Home();
    const c = connection(port, home);
    const r = await run(c, GET);
    expect(r.error).toBeUndefined();
    expect(r.body).toBe("bye");
    expect(r.ended).toBe(true);
    expect(c.state).toBe(UpState.Closed);
    expect(home.checkins).toEqual([]);
    expect(home.gone_).toEqual([c]);
  });

  it("a body delimited by the endpoint's close is delivered whole and ends", async () => {
    const up = await rawServer((s) => {
      s.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello ");
      setTimeout(() => {
        s.write("close-delimited ");
        s.end("world");
      }, 20);
    });
    const home = new Home();
    const c = connection(up.port, home);
    const r = await run(c, GET);
    expect(r.error).toBeUndefined();
    expect(r.heads.map((h) => h.status)).toEqual([200]);
    expect(r.body).toBe("hello close-delimited world");
    expect(r.ended).toBe(true);
    expect(c.state).toBe(UpState.Closed);
    expect(home.checkins).toEqual([]);
  });

  it("skips 1xx responses (103, 100) before the final one, and stays reusable", async () => {
    const up = await rawServer((s) => {
      s.write("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n");
      setTimeout(() => {
        s.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }, 10);
    });
    const home = new Home();
    const c = connection(up.port, home);
    const r = await run(c, GET);
    expect(r.error).toBeUndefined();
    expect(r.heads.map((h) => h.status)).toEqual([200]);
    expect(r.body).toBe("ok");
    expect(c.state).toBe(UpState.Idle);
    expect(home.checkins).toEqual([c]);
  });

  it("a response head over the limit fails the request with the parser's overflow error", async () => {
    const up = await rawServer((s) => {
      s.write(`HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(4_096)}\r\nContent-Length: 2\r\n\r\nok`);
    });
    const home = new Home();
    const c = connection(up.port, home, 1_024);
    const r = await run(c, GET);
    expect(r.heads).toEqual([]);
    expect(r.ended).toBe(false);
    expect(r.error).toEqual({
      code: "HPE_HEADER_OVERFLOW",
      phase: FailPhase.BeforeResponse,
      unprocessed: false,
      tcpUp: true,
    });
    expect(c.state).toBe(UpState.Closed);
    expect(home.gone_).toEqual([c]);
  });

  it("a refused connect fails in the Connect phase", async () => {
    const s = createServer();
    const port = await listen(s);
    await new Promise<void>((r) => s.close(() => r()));
    const home = new Home();
    const c = connection(port, home);
    const r = await run(c, GET);
    expect(r.error).toEqual({
      code: "ECONNREFUSED",
      phase: FailPhase.Connect,
      unprocessed: false,
      tcpUp: false,
    });
    expect(c.state).toBe(UpState.Closed);
  });

  it("a connect that hangs (the endpoint's accept queue is full) fails after the connect timeout", async () => {
    // a listener whose thread never accepts: once its backlog is full, SYNs are dropped
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(
      `const { workerData, parentPort } = require("node:worker_threads");
       const net = require("node:net");
       const flag = new Int32Array(workerData);
       const s = net.createServer(() => {});
       s.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
         parentPort.postMessage(s.address().port);
         Atomics.wait(flag, 0, 0, 20000);
         s.close();
       });`,
      { eval: true, workerData: flag.buffer },
    );
    const fillers: Socket[] = [];
    cleanups.push(async () => {
      for (const f of fillers) f.destroy();
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await worker.terminate();
    });
    const port = await new Promise<number>((r) => worker.once("message", r));
    let full = false;
    for (let i = 0; i < 16 && !full; i++) {
      const f = connect(port, "127.0.0.1");
      f.on("error", () => {});
      fillers.push(f);
      full = !(await new Promise<boolean>((r) => {
        const t = setTimeout(() => r(false), 300);
        f.once("connect", () => {
          clearTimeout(t);
          r(true);
        });
      }));
    }
    expect(full).toBe(true);
    const home = new Home();
    const t0 = performance.now();
    const c = connection(port, home, 16_384, 200);
    const r = await run(c, GET);
    const took = performance.now() - t0;
    expect(r.error).toEqual({
      code: "ECONNTIMEOUT",
      phase: FailPhase.Connect,
      unprocessed: false,
      tcpUp: false,
    });
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(900);
    expect(c.state).toBe(UpState.Closed);
  });

  it("a reused connection the endpoint resets as the request arrives reports it unprocessed", async () => {
    const up = await rawServer((s, _head, n) => {
      if (n === 0) s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      else s.resetAndDestroy();
    });
    const home = new Home();
    const c = connection(up.port, home);
    const first = await run(c, GET);
    expect(first.body).toBe("ok");
    expect(c.state).toBe(UpState.Idle);
    const second = await run(c, GET);
    expect(second.heads).toEqual([]);
    expect(second.error).toEqual({
      code: "ECONNRESET",
      phase: FailPhase.BeforeResponse,
      unprocessed: true,
      tcpUp: true,
    });
    expect(c.state).toBe(UpState.Closed);
    expect(up.accepted()).toBe(1);
  });

  it("a new connection reset before its response is lost, not unprocessed", async () => {
    const up = await rawServer((s) => s.resetAndDestroy());
    const home = new Home();
    const c = connection(up.port, home);
    const r = await run(c, GET);
    expect(r.error).toEqual({
      code: "ECONNRESET",
      phase: FailPhase.BeforeResponse,
      unprocessed: false,
      tcpUp: true,
    });
  });

  it("an endpoint that closes mid-body fails the request in the MidResponse phase", async () => {
    const up = await rawServer((s) => {
      s.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
    });
    const home = new Home();
    const c = connection(up.port, home);
    const r = await run(c, GET);
    expect(r.heads.map((h) => h.status)).toEqual([200]);
    expect(r.body).toBe("short");
    expect(r.ended).toBe(false);
    expect(r.error?.phase).toBe(FailPhase.MidResponse);
    expect(r.error?.unprocessed).toBe(false);
    await until(() => c.state === UpState.Closed);
  });
});
