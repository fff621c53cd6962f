/**
 * The tutorial's three-hop path on loopback with io.l5d.fs discovery (the `pnpm dev` topology,
 * on its own addresses): client → outgoing (A) → incoming (A) → hello → outgoing (A) →
 * incoming (B) → world, with the metrics proving each hop.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  callGreeting,
  callStreamGreeting,
  formatRpcError,
  startHelloWorldServer,
} from "@l5d/helloworld";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM module shared with scripts/dev.mjs
import { discoFiles, nodeConfig } from "../../../../deploy/local/fs-demo.mjs";
import { startTestDaemon, type TestDaemon } from "./support.js";

const A = "127.0.11.1";
const B = "127.0.12.1";
const work = mkdtempSync(join(tmpdir(), "l5d-3hop-"));
const disco = join(work, "disco");
const stops: Array<() => PromiseLike<unknown>> = [];
let a: TestDaemon;
let b: TestDaemon;

function writeDisco(files: Record<string, string>) {
  for (const [f, body] of Object.entries(files)) writeFileSync(join(disco, f), body);
}

beforeAll(async () => {
  mkdirSync(disco);
  writeDisco(discoFiles({ hello: [[A, 7777]], world: [[B, 7778]] }));
  a = await startTestDaemon(nodeConfig({ ip: A, disco }));
  stops.push(() => a[Symbol.asyncDispose]());
  b = await startTestDaemon(nodeConfig({ ip: B, disco }));
  stops.push(() => b[Symbol.asyncDispose]());
  const world = await startHelloWorldServer({ addr: `${B}:7778`, text: "world", podIp: B });
  stops.push(() => world.close());
  const hello = await startHelloWorldServer({
    addr: `${A}:7777`,
    text: "Hello",
    podIp: A,
    target: `${A}:4140`,
  });
  stops.push(() => hello.close());
});

afterAll(async () => {
  while (stops.length) await stops.pop()!();
  rmSync(work, { recursive: true, force: true });
});

describe("three hops on loopback with io.l5d.fs", () => {
  it("answers Hello (<A>) world (<B>)!! and every hop shows in the metrics", async () => {
    expect(await callGreeting(`${A}:4140`)).toBe(`Hello (${A}) world (${B})!!`);
    const ma = await a.metrics();
    const mb = await b.metrics();
    // hop 1: outgoing on A identified the call and sent it to A's incoming router
    expect(ma[`rt/outgoing/server/${A}/4140/requests`]).toBe(2); // the client's call and hello's call
    expect(ma["rt/outgoing/service/svc/helloworld.Hello/requests"]).toBe(1);
    expect(ma["rt/outgoing/client/%/io.l5d.port/4141/#/io.l5d.fs/Hello/requests"]).toBe(1);
    // hop 2: incoming on A delivered to hello on its own node
    expect(ma[`rt/incoming/client/%/io.l5d.specificHost/#/io.l5d.fs/Hello/success`]).toBe(1);
    // hop 3: hello's call went out through A's outgoing router to B's incoming router
    expect(ma["rt/outgoing/service/svc/helloworld.World/requests"]).toBe(1);
    expect(ma["rt/outgoing/client/%/io.l5d.port/4141/#/io.l5d.fs/world-v1/success"]).toBe(1);
    expect(mb[`rt/incoming/server/${B}/4141/requests`]).toBe(1);
    expect(mb[`rt/incoming/client/%/io.l5d.specificHost/#/io.l5d.fs/world-v1/success`]).toBe(1);
    expect(mb[`rt/outgoing/server/${B}/4140/requests`]).toBe(0);
  });

  it("streams the 5 replies of StreamGreeting through the mesh", async () => {
    const replies = await callStreamGreeting(`${A}:4140`);
    expect(replies).toEqual(Array(5).fill(`Hello (${A}) world (${B})!!`));
  });

  it("carries a per-request l5d-dtab override across the hello hop (l5d-ctx-dtab)", async () => {
    const earth = await startHelloWorldServer({ addr: `${B}:7779`, text: "earth", podIp: B });
    stops.push(() => earth.close());
    writeDisco({ "world-v2": `${B} 7779\n` });
    // the new file is picked up by the namer's watch (or its 1 s poll); until then the
    // override's Neg falls back to the base dtab's world-v1, as Finagle's Alt does
    const deadline = Date.now() + 10_000;
    let msg = "";
    while (Date.now() < deadline) {
      msg = await callGreeting(`${A}:4140`, {
        metadata: { "l5d-dtab": "/grpc/World => /srv/world-v2" },
      });
      if (msg.includes("earth")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(msg).toBe(`Hello (${A}) earth (${B})!!`);
    expect(await callGreeting(`${A}:4140`)).toBe(`Hello (${A}) world (${B})!!`);
  });

  it("follows io.l5d.fs changes live: world removed → clear UNAVAILABLE, restored → recovery", async () => {
    writeDisco({ "world-v1": "" });
    const deadline = Date.now() + 10_000;
    let err: unknown;
    while (Date.now() < deadline) {
      err = await callGreeting(`${A}:4140`).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (err) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(formatRpcError(err)).toMatch(/^rpc error: code = Unavailable desc = .*world-v1/);
    writeDisco(discoFiles({ hello: [[A, 7777]], world: [[B, 7778]] }));
    let ok: string | undefined;
    while (Date.now() < deadline + 10_000 && !ok) {
      ok = await callGreeting(`${A}:4140`).catch(() => undefined);
      if (!ok) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ok).toBe(`Hello (${A}) world (${B})!!`);
  });
});
