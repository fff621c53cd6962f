import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { BodyLog } from "./body-log.js";
import { H1Request } from "./h1-request.js";
import { UpstreamPools } from "./upstream-pool.js";

const cleanups: Array<() => unknown> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const OPTS = {
  holdResponses: true,
  requestBufferBytes: 1024,
  responseBufferBytes: 1024,
  classificationTimeoutMs: 100,
};

/** A real server handing each request to `onRequest`, and one request sent to it. */
async function withRequest(onRequest: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(onRequest);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  const c = request({ port: (server.address() as AddressInfo).port, host: "127.0.0.1" });
  c.on("error", () => {});
  c.end();
  cleanups.push(() => c.destroy());
}

async function upstream() {
  let seen = 0;
  const s = createServer((_q, r) => {
    seen++;
    r.end("up");
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  cleanups.push(() => {
    s.closeAllConnections();
    s.close();
  });
  return { port: (s.address() as AddressInfo).port, seen: () => seen };
}

function h1(
  req: IncomingMessage,
  res: ServerResponse,
  pools: UpstreamPools,
  body = new BodyLog(req, 1024),
): H1Request {
  return new H1Request({
    req,
    res,
    body,
    target: req.url ?? "/",
    extra: [],
    maxResponseHeadBytes: 16_384,
    maxResponseBytes: 1 << 20,
    connectTimeoutMs: 1_000,
    pools,
  });
}

describe("H1Exchange", () => {
  it("a request whose client left while it was routed is never sent upstream", async () => {
    const up = await upstream();
    const pools = new UpstreamPools();
    cleanups.push(() => pools.close());
    const result = new Promise<{ done: boolean; code: unknown }>((resolve) => {
      void withRequest((req, res) => {
        res.destroy();
        // routing took a while: the response's close event is long past
        setTimeout(async () => {
          const ex = h1(req, res, pools).exchange(OPTS);
          const r = await ex.attempt({ host: "127.0.0.1", port: up.port }, {});
          resolve({
            done: ex.done,
            code: (r.outcome.error as { code?: unknown } | undefined)?.code,
          });
        });
      });
    });
    expect(await result).toEqual({ done: true, code: "CLIENT_RESET" });
    await new Promise((r) => setTimeout(r, 50));
    expect(up.seen()).toBe(0);
  });

  it("holds a complete small response until committed, with the router's extra header", async () => {
    const up = await upstream();
    const pools = new UpstreamPools();
    cleanups.push(() => pools.close());
    const got = new Promise<{ status: number; retryable: unknown; body: string }>((resolve) => {
      const server = createServer(async (req, res) => {
        const ex = h1(req, res, pools).exchange(OPTS);
        const r = await ex.attempt({ host: "127.0.0.1", port: up.port }, {});
        expect(r.held).toBe(true);
        expect(r.outcome.status).toBe(200);
        await ex.commit({ "l5d-retryable": "true" });
      });
      server.listen(0, "127.0.0.1", () => {
        cleanups.push(() => {
          server.closeAllConnections();
          server.close();
        });
        const c = request(
          { port: (server.address() as AddressInfo).port, host: "127.0.0.1" },
          (res) => {
            let body = "";
            res.on("data", (d: Buffer) => {
              body += d.toString();
            });
            res.on("end", () =>
              resolve({
                status: res.statusCode ?? 0,
                retryable: res.headers["l5d-retryable"],
                body,
              }),
            );
          },
        );
        c.end();
      });
    });
    expect(await got).toEqual({ status: 200, retryable: "true", body: "up" });
  });
});
