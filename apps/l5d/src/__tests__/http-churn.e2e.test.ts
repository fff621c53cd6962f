/**
 * `protocol: http` under endpoint churn: io.l5d.fs adds an endpoint, removes one and its server
 * then stops, while four keep-alive clients send bounded load. No request fails: a pooled
 * connection the stopped server closed is requeued (it never carried the request), a new
 * endpoint starts taking traffic, a removed one gets nothing new.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boundedLoad, freePort, startTestDaemon, type TestDaemon, until } from "./support.js";

const disco = mkdtempSync(join(tmpdir(), "l5d-http-churn-"));
const stops: Array<() => PromiseLike<unknown> | unknown> = [];
const worlds: { name: string; port: number; server: Server }[] = [];
let d: TestDaemon;

const serve = (ws: readonly { port: number }[]) =>
  writeFileSync(join(disco, "world"), `${ws.map((w) => `127.0.0.1 ${w.port}`).join("\n")}\n`);

beforeAll(async () => {
  for (let i = 0; i < 3; i++) {
    const name = `world${i}`;
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.end(name));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    worlds.push({ name, port: (server.address() as { port: number }).port, server });
    stops.push(() => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    });
  }
  serve(worlds.slice(0, 2));
  const [admin, port] = [await freePort(), await freePort()];
  d = await startTestDaemon(`
admin: {port: ${admin}}
namers:
- kind: io.l5d.fs
  rootDir: ${disco}
routers:
- protocol: http
  label: out
  dtab: /svc => /#/io.l5d.fs;
  servers: [{port: ${port}}]
`);
  stops.push(() => d[Symbol.asyncDispose]());
});

afterAll(async () => {
  while (stops.length) await stops.pop()!();
  rmSync(disco, { recursive: true, force: true });
});

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

function get(): Promise<string> {
  const [host, port] = d.addr("out").split(":");
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port: Number(port), path: "/", method: "POST", headers: { host: "world" }, agent },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => {
          body += c.toString();
        });
        res.on("end", () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`${res.statusCode} ${body}`)),
        );
      },
    );
    req.on("error", reject);
    req.end("x");
  });
}

/** Requests in a loop (4 at a time) until `stop()` or 3000 requests or 30 s, counting answers. */
const load = (stop: () => boolean) => boundedLoad(get, stop, 3000);

describe("protocol: http, io.l5d.fs endpoint churn under load", () => {
  it("adds, removes and stops endpoints live without failing a request", async () => {
    let phase = 0;
    const run = load(() => phase === 3);
    const endpoints = () => d.d.linker.routers[0]!.router.clients()[0]?.endpoints.length ?? 0;
    await new Promise((r) => setTimeout(r, 300));
    phase = 1;
    serve(worlds);
    await until(() => endpoints() === 3, 5000);
    await new Promise((r) => setTimeout(r, 300));
    phase = 2;
    serve(worlds.slice(1));
    await until(() => endpoints() === 2, 5000);
    // the removed endpoint's server goes away: its pooled connections close under l5d
    const w0 = worlds[0]!.server;
    w0.closeIdleConnections();
    await new Promise((r) => w0.close(r));
    await new Promise((r) => setTimeout(r, 300));
    phase = 3;
    const { seen, errors, calls } = await run;
    agent.destroy();
    expect(errors).toEqual([]);
    expect(calls).toBeGreaterThan(50);
    expect(seen.get("world0") ?? 0).toBeGreaterThan(0);
    expect(seen.get("world1") ?? 0).toBeGreaterThan(0);
    expect(seen.get("world2") ?? 0).toBeGreaterThan(0);
    const after = await Promise.all(Array.from({ length: 30 }, () => get()));
    expect(after).not.toContain("world0");
    console.log(
      `http churn: ${calls} requests, ${errors.length} failed; ${[...seen].map(([k, v]) => `${k}=${v}`).join(" ")}`,
    );
  }, 60_000);
});
