import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatConfigErrors, parseLinkerdConfig, type Registries, Registry } from "@l5d/config";
import { createDefaultInterpreter, Dtab, isBound, type NameBound, NameTree, Path } from "@l5d/dtab";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addrList, testContext, waitFor } from "./__tests__/wait.js";
import { buildInterpreter, mountNamers } from "./mount.js";
import { interpreterFactories, namerFactories, transformerFactories } from "./plugins.js";

const TUTORIAL_DTAB = `
/srv        => /#/io.l5d.fs;
/grpc       => /srv;
/grpc/World => /srv/world-v1;
/svc        => /$/io.buoyant.http.domainToPathPfx/grpc;
`;

function registries(): Registries {
  const namers = new Registry<unknown>("namer");
  for (const f of namerFactories) namers.register(f);
  const transformers = new Registry<unknown>("transformer");
  for (const f of transformerFactories) transformers.register(f);
  const interpreters = new Registry<unknown>("interpreter");
  for (const f of interpreterFactories) interpreters.register(f);
  return {
    namers,
    transformers,
    interpreters,
    identifiers: new Registry("identifier"),
    telemeters: new Registry("telemeter"),
    loadBalancers: new Registry("load balancer"),
    failureAccrual: new Registry("failure accrual"),
    responseClassifiers: new Registry("response classifier"),
  };
}

let dir: string;
const closers: (() => void | Promise<void>)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "l5d-e2e-"));
  await writeFile(join(dir, "Hello"), "127.0.0.1 7777\n"); // io.l5d.fs names are case-sensitive
  await writeFile(join(dir, "world-v1"), "127.0.0.1 7778\n127.0.0.2 7778 * 3\n");
});
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await rm(dir, { recursive: true, force: true });
});

async function bindLeaf(
  act: ReturnType<ReturnType<typeof createDefaultInterpreter>["bind"]>,
): Promise<NameBound> {
  const s = await waitFor(act, (x) => x.kind !== "pending");
  if (s.kind !== "ok")
    throw new Error(`bind failed: ${s.kind === "failed" ? s.error.message : s.kind}`);
  if (s.value.type !== "leaf" || !isBound(s.value.value))
    throw new Error(`not a leaf: ${NameTree.show(s.value)}`);
  return s.value.value;
}

describe("tutorial-style dtab over io.l5d.fs", () => {
  it("binds /svc/helloworld.Hello and /svc/helloworld.World with createDefaultInterpreter", async () => {
    const [mounted] = mountNamers(
      (() => {
        const r = parseLinkerdConfig(
          `namers:\n- kind: io.l5d.fs\n  rootDir: ${dir}\n  pollIntervalMs: 50\nrouters:\n- protocol: h2\n  servers: [{port: 0}]\n`,
          registries(),
        );
        if (!r.ok) throw new Error(formatConfigErrors(r.errors));
        return r.config.namers;
      })(),
      testContext(closers),
    );
    if (!mounted) throw new Error("no namer");
    expect(mounted.prefix.show).toBe("/#/io.l5d.fs");
    const interp = createDefaultInterpreter([mounted]);
    const dtab = Dtab.read(TUTORIAL_DTAB);

    const hello = await bindLeaf(interp.bind(dtab, Path.read("/svc/helloworld.Hello")));
    expect(hello.id.show).toBe("/#/io.l5d.fs/Hello");
    expect(hello.residual.show).toBe("/helloworld");
    expect(addrList(await waitFor(hello.addr, (a) => a.type === "bound"))).toEqual([
      "127.0.0.1:7777",
    ]);

    const world = await bindLeaf(interp.bind(dtab, Path.read("/svc/helloworld.World")));
    expect(world.id.show).toBe("/#/io.l5d.fs/world-v1");
    expect(addrList(await waitFor(world.addr, (a) => a.type === "bound"))).toEqual([
      "127.0.0.1:7778",
      "127.0.0.2:7778*3",
    ]);

    // A name with no file: Neg from the namer, so the whole binding is Neg.
    const s = await waitFor(
      interp.bind(dtab, Path.read("/svc/helloworld.Nobody")),
      (x) => x.kind !== "pending",
    );
    expect(s.kind === "ok" && s.value.type).toBe("neg");
  });

  it("builds the configured interpreter with transformers and a namer-level transformer", async () => {
    const r = parseLinkerdConfig(
      `namers:
- kind: io.l5d.fs
  rootDir: ${dir}
  pollIntervalMs: 50
- kind: io.l5d.fs
  prefix: /local
  rootDir: ${dir}
  transformers:
  - kind: io.l5d.localhost
routers:
- protocol: h2
  label: outgoing
  dtab: |
    /srv => /#/io.l5d.fs;
    /loc => /#/local;
    /grpc => /srv;
    /grpc/World => /srv/world-v1;
    /svc => /$/io.buoyant.http.domainToPathPfx/grpc;
  interpreter:
    kind: default
    transformers:
    - kind: io.l5d.port
      port: 4141
  servers:
  - port: 0
`,
      registries(),
    );
    if (!r.ok) throw new Error(formatConfigErrors(r.errors));
    const ctx = testContext(closers);
    const namers = mountNamers(r.config.namers, ctx);
    const router = r.config.routers[0];
    if (!router?.interpreter) throw new Error("no interpreter");
    const interp = buildInterpreter(router.interpreter, namers, ctx);

    const b = await bindLeaf(interp.bind(router.dtab, Path.read("/svc/helloworld.World")));
    expect(b.id.show).toBe("/%/io.l5d.port/4141/#/io.l5d.fs/world-v1");
    expect(addrList(await waitFor(b.addr, (a) => a.type === "bound"))).toEqual([
      "127.0.0.1:4141",
      "127.0.0.2:4141*3",
    ]);

    // Namer-level localhost transformer: only 127.0.0.1 survives, then the port transformer.
    const loc = await bindLeaf(interp.bind(router.dtab, Path.read("/loc/world-v1")));
    expect(loc.id.show).toBe("/%/io.l5d.port/4141/%/io.l5d.localhost/#/local/world-v1");
    expect(addrList(await waitFor(loc.addr, (a) => a.type === "bound"))).toEqual([
      "127.0.0.1:4141",
    ]);

    // Live update through the whole stack.
    await writeFile(join(dir, "world-v1"), "127.0.0.1 9999\n");
    await waitFor(b.addr, (a) => JSON.stringify(addrList(a)) === '["127.0.0.1:4141"]');
    expect(closers.length).toBe(2);
  });

  it("reports io.l5d.fs config errors by key path", () => {
    const r = parseLinkerdConfig(
      `namers:\n- kind: io.l5d.fs\n  rootDir: ${join(dir, "missing")}\n- kind: io.l5d.rewrite\n  pattern: /a\n  name: /b\nrouters:\n- protocol: h2\n  interpreter:\n    kind: default\n    transformers:\n    - kind: io.l5d.port\n      port: 0\n  servers: [{port: 0}]\n`,
      registries(),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(formatConfigErrors(r.errors).split("\n")).toEqual([
      `namers[0].rootDir: no such directory: ${join(dir, "missing")}`,
      "namers[1].prefix: required",
      "routers[0].interpreter.transformers[0].port: expected a port number (1-65535)",
    ]);
  });
});
