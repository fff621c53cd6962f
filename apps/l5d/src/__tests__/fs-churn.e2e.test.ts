/**
 * Endpoints added and removed through io.l5d.fs while bounded load runs: the survivors never
 * fail a request, a new endpoint starts taking traffic, and a removed one stops.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callGreeting, type HelloWorldServer, startHelloWorldServer } from "@l5d/helloworld";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boundedLoad, freePort, startTestDaemon, type TestDaemon, until } from "./support.js";

const disco = mkdtempSync(join(tmpdir(), "l5d-churn-"));
const stops: Array<() => PromiseLike<unknown>> = [];
const worlds: HelloWorldServer[] = [];
let d: TestDaemon;

const serve = (ws: readonly HelloWorldServer[]) =>
  writeFileSync(join(disco, "world"), ws.map((w) => `127.0.0.1 ${w.port}`).join("\n") + "\n");

beforeAll(async () => {
  for (let i = 0; i < 3; i++) {
    const w = await startHelloWorldServer({ addr: "127.0.0.1:0", text: `world${i}` });
    worlds.push(w);
    stops.push(() => w.close());
  }
  serve(worlds.slice(0, 2));
  const [admin, port] = [await freePort(), await freePort()];
  d = await startTestDaemon(`
admin: {port: ${admin}}
namers:
- kind: io.l5d.fs
  rootDir: ${disco}
routers:
- protocol: h2
  label: out
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: /svc => /#/io.l5d.fs/world;
  servers: [{port: ${port}}]
`);
  stops.push(() => d[Symbol.asyncDispose]());
});

afterAll(async () => {
  while (stops.length) await stops.pop()!();
  rmSync(disco, { recursive: true, force: true });
});

/** Requests in a loop (4 at a time) until `stop()` or 2000 requests or 30 s, counting answers. */
const load = (stop: () => boolean) =>
  boundedLoad(() => callGreeting(d.addr("out"), { service: "World" }), stop, 2000);

describe("io.l5d.fs endpoint churn under load", () => {
  it("adds and removes endpoints live without failing a request", async () => {
    let phase = 0;
    const run = load(() => phase === 3);
    // phase 0: world0 + world1 serve; then add world2, then remove world0 (it stays up: a
    // removed endpoint must simply stop getting new requests)
    await new Promise((r) => setTimeout(r, 300));
    phase = 1;
    serve(worlds);
    const before = d.d.linker.routers[0]!.router.clients()[0]!.endpoints.length;
    await until(() => d.d.linker.routers[0]!.router.clients()[0]!.endpoints.length === 3, 5000);
    await new Promise((r) => setTimeout(r, 300));
    phase = 2;
    serve(worlds.slice(1));
    await until(() => d.d.linker.routers[0]!.router.clients()[0]!.endpoints.length === 2, 5000);
    const w0Removed = (await (await fetch(`${d.adminUrl}/admin/metrics.json`)).json()) as Record<
      string,
      number
    >;
    await new Promise((r) => setTimeout(r, 300));
    phase = 3;
    const { seen, errors, calls } = await run;
    expect(before).toBe(2);
    expect(errors).toEqual([]);
    expect(calls).toBeGreaterThan(20);
    expect(seen.get("world2!") ?? 0).toBeGreaterThan(0);
    expect(seen.get("world1!") ?? 0).toBeGreaterThan(0);
    // after its removal world0 gets nothing new
    const after = await Promise.all(
      Array.from({ length: 30 }, () => callGreeting(d.addr("out"), { service: "World" })),
    );
    expect(after).not.toContain("world0!");
    expect(w0Removed["rt/out/client/#/io.l5d.fs/world/requests"]).toBeGreaterThan(0);
  });
});
