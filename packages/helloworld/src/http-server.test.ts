import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  type HelloWorldServer,
  type HelloWorldServerOptions,
  startHelloWorldServer,
} from "./server.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(opts: HelloWorldServerOptions): Promise<HelloWorldServer> {
  const s = await startHelloWorldServer({ addr: "127.0.0.1:0", protocol: "http", ...opts });
  cleanups.push(() => s.close());
  return s;
}

async function get(
  address: string,
  init: RequestInit & { path?: string } = {},
): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${address}${init.path ?? "/"}`, init);
  return { status: res.status, body: await res.text() };
}

/** A plain HTTP server on loopback that records requests and answers `body`. */
async function recorder(
  body: string,
): Promise<{ address: string; seen: { url: string; headers: IncomingHttpHeaders }[] }> {
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", headers: req.headers });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe("HTTP mode", () => {
  it("answers GET on any path with text! or JSON", async () => {
    const world = await start({ text: "world", podIp: "10.0.0.2" });
    expect(world.services).toEqual([]);
    expect(await get(world.address, { path: "/anything" })).toEqual({
      status: 200,
      body: "world (10.0.0.2)!",
    });
    const json = await start({ text: "world", json: true });
    expect(JSON.parse((await get(json.address)).body)).toEqual({ api_result: "world" });
  });

  it("hello calls GET http://<target> and appends its reply, copying l5d-ctx headers", async () => {
    const world = await recorder("world!");
    const hello = await start({ text: "Hello", target: world.address });
    const res = await get(hello.address, {
      headers: { "l5d-ctx-dtab": "/svc/world=>/srv/world-v2", "l5d-dtab": "/x=>/y" },
    });
    expect(res).toEqual({ status: 200, body: "Hello world!!" });
    expect(world.seen).toHaveLength(1);
    expect(world.seen[0]?.url).toBe("/");
    expect(world.seen[0]?.headers["l5d-ctx-dtab"]).toBe("/svc/world=>/srv/world-v2");
    expect(world.seen[0]?.headers["l5d-dtab"]).toBeUndefined();
  });

  it("sends the downstream call through http_proxy in absolute form, except to loopback", async () => {
    const proxy = await recorder("earth!");
    const hello = await start({ text: "Hello", target: "world", httpProxy: proxy.address });
    expect(await get(hello.address)).toEqual({ status: 200, body: "Hello earth!!" });
    expect(proxy.seen[0]?.url).toBe("http://world/");
    expect(proxy.seen[0]?.headers.host).toBe("world");

    const direct = await recorder("world!");
    const hello2 = await start({ text: "Hello", target: direct.address, httpProxy: proxy.address });
    expect((await get(hello2.address)).body).toBe("Hello world!!");
    expect(proxy.seen).toHaveLength(1);
  });

  it("an injected failure answers 500, a failed downstream 503", async () => {
    const failing = await start({ text: "world", failureRate: 1 });
    expect(await get(failing.address)).toEqual({ status: 500, body: "\n" });
    const hello = await start({ text: "Hello", target: failing.address });
    expect(await get(hello.address)).toEqual({ status: 503, body: "invalid response 500\n" });
  });

  it("POST /setLatency and /setFailureRate change the settings", async () => {
    const logs: string[] = [];
    const world = await start({ text: "world", log: (l) => logs.push(l) });
    expect(await get(world.address, { path: "/setLatency?latency=150ms", method: "POST" })).toEqual(
      {
        status: 200,
        body: "ok",
      },
    );
    expect(world.greeter.latencyMs).toBe(150);
    const t0 = performance.now();
    expect((await get(world.address)).body).toBe("world!");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);

    expect(
      (await get(world.address, { path: "/setFailureRate?failureRate=1", method: "POST" })).body,
    ).toBe("ok");
    expect(world.greeter.failureRate).toBe(1);
    expect(logs).toEqual(["set latency to 150ms", "set failure rate to 1"]);
    world.greeter.latencyMs = 0;
    expect((await get(world.address)).status).toBe(500);
  });

  it("rejects bad settings requests like the original", async () => {
    const world = await start({ text: "world" });
    expect(await get(world.address, { path: "/setLatency?latency=1s" })).toEqual({
      status: 405,
      body: "POST required\n",
    });
    expect(await get(world.address, { path: "/setLatency", method: "POST" })).toEqual({
      status: 400,
      body: "missing required parameter: latency\n",
    });
    expect((await get(world.address, { path: "/setLatency?latency=x", method: "POST" })).body).toBe(
      "latency is not a valid duration\n",
    );
    expect(
      (await get(world.address, { path: "/setFailureRate?failureRate=abc", method: "POST" })).body,
    ).toBe("failureRate is not a valid float\n");
    expect(
      await get(world.address, { path: "/setFailureRate?failureRate=1.5", method: "POST" }),
    ).toEqual({ status: 400, body: "failureRate must be between 0.0 and 1.0\n" });
  });

  it("shutdown lets an in-flight request finish", async () => {
    const world = await start({ text: "world", latencyMs: 1000 }); // in flight even on a loaded machine
    expect((await get(world.address)).body).toBe("world!"); // keep-alive connection is up
    const inFlight = get(world.address);
    await new Promise((r) => setTimeout(r, 100));
    await world.shutdown();
    expect(await inFlight).toEqual({ status: 200, body: "world!" });
  });
});
