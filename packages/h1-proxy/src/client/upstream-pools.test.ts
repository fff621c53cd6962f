import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type ResponseHandler, UpState, type UpstreamConnection } from "./upstream-connection.js";
import { type EndpointPool, UpstreamPools } from "./upstream-pools.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Endpoint {
  readonly port: number;
  readonly server: Server;
  /** Sockets the endpoint accepted, and how many of them are closed. */
  readonly sockets: Socket[];
  closed(): number;
}

/** A node:http endpoint answering `body` (or what `respond` says). */
async function endpoint(
  respond: (res: import("node:http").ServerResponse, socket: Socket) => void = (res) =>
    res.end("ok"),
): Promise<Endpoint> {
  const sockets: Socket[] = [];
  let closed = 0;
  const server = createServer((req, res) => respond(res, req.socket));
  server.on("connection", (s: Socket) => {
    sockets.push(s);
    s.on("close", () => closed++);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return {
    port: (server.address() as AddressInfo).port,
    server,
    sockets,
    closed: () => closed,
  };
}

function newPools(idleMs?: number): UpstreamPools {
  const p = new UpstreamPools(idleMs === undefined ? {} : { idleMs });
  cleanups.push(() => p.close());
  return p;
}

/** One request through `pool`: the connection it took, and the response's status and body. */
function request(
  pool: EndpointPool,
): Promise<{ conn: UpstreamConnection; status: number; body: string }> {
  const conn = pool.connection(1_000, 16_384);
  return new Promise((resolve, reject) => {
    let status = 0;
    let body = "";
    const h: ResponseHandler = {
      head: (x) => {
        status = x.status;
      },
      body: (c) => {
        body += c.toString();
      },
      end: () => resolve({ conn, status, body }),
      error: (e) => reject(e),
      upgrade: (_h, s) => {
        s.destroy();
        reject(new Error("unexpected upgrade"));
      },
    };
    conn.send("GET / HTTP/1.1\r\nHost: up\r\n\r\n", false, false, h);
    conn.end();
  });
}

/** Waits (bounded) until `f` holds. */
async function until(f: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("UpstreamPools", () => {
  it("sequential requests to an endpoint take its idle connection: the endpoint sees one socket", async () => {
    const up = await endpoint();
    const pools = newPools();
    const a = { host: "127.0.0.1", port: up.port };
    const conns: UpstreamConnection[] = [];
    for (let i = 0; i < 3; i++) {
      const pool = pools.acquire(a);
      const r = await request(pool);
      pools.release(pool);
      expect(r.status).toBe(200);
      expect(r.body).toBe("ok");
      conns.push(r.conn);
      expect(pool.idle).toBe(1);
    }
    expect(new Set(conns).size).toBe(1);
    expect(up.sockets.length).toBe(1);
    expect(pools.size).toBe(1);
  });

  it("a connection whose response said Connection: close is not reused", async () => {
    const up = await endpoint((res) => {
      res.setHeader("Connection", "close");
      res.end("bye");
    });
    const pools = newPools();
    const pool = pools.acquire({ host: "127.0.0.1", port: up.port });
    const first = await request(pool);
    expect(first.body).toBe("bye");
    expect(first.conn.state).toBe(UpState.Closed);
    expect(pool.idle).toBe(0);
    const second = await request(pool);
    expect(second.body).toBe("bye");
    expect(second.conn).not.toBe(first.conn);
    expect(up.sockets.length).toBe(2);
    pools.release(pool);
  });

  it("a pooled connection the endpoint closed while idle is not handed out again", async () => {
    const up = await endpoint();
    const pools = newPools();
    const pool = pools.acquire({ host: "127.0.0.1", port: up.port });
    const first = await request(pool);
    expect(pool.idle).toBe(1);
    // the endpoint's own idle timeout
    up.sockets[0]?.destroy();
    await until(() => first.conn.state === UpState.Closed);
    expect(pool.idle).toBe(0);
    const second = await request(pool);
    expect(second.conn).not.toBe(first.conn);
    expect(second.status).toBe(200);
    expect(up.sockets.length).toBe(2);
    pools.release(pool);
  });

  it("idle connections close after idleMs", async () => {
    const up = await endpoint();
    const pools = newPools(100);
    const pool = pools.acquire({ host: "127.0.0.1", port: up.port });
    const t0 = performance.now();
    const r = await request(pool);
    pools.release(pool);
    expect(pool.idle).toBe(1);
    await until(() => pool.idle === 0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(100);
    expect(r.conn.state).toBe(UpState.Closed);
    await until(() => up.closed() === 1);
    // the pool itself stays: a new request opens a new connection
    expect(pools.size).toBe(1);
  });

  it("retain() keeps the listed endpoints' pools; of an empty set, closes the idle connections of the retired ones", async () => {
    const up = await endpoint();
    const pools = newPools();
    const a = { host: "127.0.0.1", port: up.port };
    const pool = pools.acquire(a);
    const r = await request(pool);
    pools.release(pool);
    pools.retain([{ host: "127.0.0.1", port: up.port }]);
    expect(pools.size).toBe(1);
    expect(pool.retired).toBe(false);
    expect(pool.idle).toBe(1);
    pools.retain([]);
    expect(pools.size).toBe(0);
    expect(pool.retired).toBe(true);
    expect(pool.idle).toBe(0);
    expect(r.conn.state).toBe(UpState.Closed);
    await until(() => up.closed() === 1);
    // the endpoint balanced over again: a new pool, a new connection
    const again = pools.acquire(a);
    expect(again).not.toBe(pool);
    const r2 = await request(again);
    pools.release(again);
    expect(r2.conn).not.toBe(r.conn);
    expect(again.idle).toBe(1);
  });

  it("a busy connection of a retired pool closes once its request is over", async () => {
    let answer: (() => void) | undefined;
    const up = await endpoint((res) => {
      answer = () => res.end("late");
    });
    const pools = newPools();
    const pool = pools.acquire({ host: "127.0.0.1", port: up.port });
    const pending = request(pool);
    await until(() => answer !== undefined);
    pools.retain([]);
    expect(pool.retired).toBe(true);
    answer?.();
    const r = await pending;
    pools.release(pool);
    expect(r.body).toBe("late");
    expect(r.conn.state).toBe(UpState.Closed);
    expect(pool.idle).toBe(0);
    await until(() => up.closed() === 1);
  });
});
