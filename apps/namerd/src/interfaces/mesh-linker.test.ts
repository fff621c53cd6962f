/**
 * l5d's `io.l5d.mesh` interpreter (@l5d/namerd-client) against a real namerd mesh interface on
 * loopback: names bound through namerd, dtab and address changes reaching the linker, the last
 * tree kept while namerd is down, updates resuming when it is back on the same port, and a
 * bind made before namerd ever answered failing with a message naming namerd.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Activity,
  type ActivityState,
  Addr,
  address,
  Dtab,
  type NameBound,
  type NameTree,
  NameTree as NT,
  Path,
  type Var,
  type VarCell,
} from "@l5d/dtab";
import { MeshInterpreter, meshChannel, meshInterpreterSchema } from "@l5d/namerd-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  silentLog,
  testBuildCtx,
  testNamespaces,
  writeSelfSignedCert,
} from "../__tests__/namerd-testkit.js";
import type { VersionedDtab } from "../storage/dtab-store.js";
import { meshInterfaceFactory, meshInterfaceSchema } from "./mesh-interface.js";
import type { ListeningInterface } from "./namerd-interface.js";

const { namer, store, namespaces } = testNamespaces({ default: "/svc => /#/test" });
const cell = namer.cell;
let iface: ListeningInterface | undefined;
let port = 0;
const interpreters: MeshInterpreter[] = [];

async function startNamerd(onPort = port): Promise<void> {
  const config = meshInterfaceSchema.parse({ kind: "io.l5d.mesh", port: onPort });
  iface = await meshInterfaceFactory
    .make(config, testBuildCtx)
    .listen({ namespaces, log: silentLog });
  port = iface.port;
}

async function stopNamerd(): Promise<void> {
  await iface?.close();
  iface = undefined;
}

/** An interpreter as l5d builds it from YAML, with quick retries for the test. */
function linker(dstPort = port, retry = { baseSeconds: 0.05, maxSeconds: 0.2 }): MeshInterpreter {
  const config = meshInterpreterSchema.parse({
    kind: "io.l5d.mesh",
    dst: `/$/inet/127.0.0.1/${dstPort}`,
    retry,
  });
  const interp = new MeshInterpreter({
    dst: config.dst,
    root: config.root,
    retry: { baseMs: config.retry.baseSeconds * 1000, maxMs: config.retry.maxSeconds * 1000 },
    ...meshChannel(config),
  });
  interpreters.push(interp);
  return interp;
}

/** Observes `v` and collects its values; `next(pred)` waits (bounded) for a matching one. */
function watch<T>(v: Var<T>) {
  const seen: T[] = [];
  const waiters: Array<() => void> = [];
  const sub = v.observe((x) => {
    seen.push(x);
    for (const w of waiters.splice(0)) w();
  });
  return {
    seen,
    latest: () => seen[seen.length - 1],
    async next(pred: (x: T) => boolean, what: string, timeoutMs = 5_000): Promise<T> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = seen.find(pred);
        if (hit !== undefined) return hit;
        const left = end - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${what}; saw ${seen.length} values`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    /** Forget what was seen so far (to wait for a later value). */
    reset: () => {
      seen.length = 0;
    },
    close: () => sub.close(),
  };
}

const ids = (t: NameTree<NameBound>) => NT.leaves(t).map((b) => b.id.show);
const okIds = (s: ActivityState<NameTree<NameBound>>) => (s.kind === "ok" ? ids(s.value) : []);
const storeCell = (ns: string) => store.observe(ns) as VarCell<ActivityState<VersionedDtab | null>>;

async function until(f: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

beforeAll(async () => {
  cell("hello").update(Addr.bound([address("127.0.0.1", 7777)]));
  await startNamerd(0);
});

afterEach(async () => {
  for (const i of interpreters.splice(0)) i.close();
  if (!iface) await startNamerd();
  await store.put("default", Dtab.read("/svc => /#/test"));
});

afterAll(async () => {
  for (const i of interpreters.splice(0)) i.close();
  await stopNamerd();
});

describe("io.l5d.mesh interpreter ↔ namerd", () => {
  it("binds through namerd, with each leaf's addresses streamed from the Resolver", async () => {
    const l = linker();
    const tree = await Activity.toPromise(l.bind(Dtab.empty, Path.read("/svc/hello/rest")), 5_000);
    expect(ids(tree)).toEqual(["/#/test/hello"]);
    const leaf = NT.leaves(tree)[0]!;
    expect(leaf.residual.show).toBe("/rest");
    const addrs = watch(leaf.addr);
    await addrs.next((a) => a.type === "bound", "the leaf's addresses");
    expect(addrs.latest()).toEqual(Addr.bound([address("127.0.0.1", 7777)]));
    cell("hello").update(Addr.bound([address("127.0.0.1", 7778)]));
    await addrs.next(
      (a) => a.type === "bound" && a.addrs[0]?.port === 7778,
      "the new address to reach the linker",
    );
    expect(cell("hello").observerCount).toBeGreaterThan(0);
    addrs.close();
    // the Resolver stream is cancelled, and namerd lets go of the namer
    await until(() => cell("hello").observerCount === 0, "namerd to release the namer watch");
    cell("hello").update(Addr.bound([address("127.0.0.1", 7777)]));
  });

  it("a dtab change in namerd reaches the linker's Activity", async () => {
    const l = linker();
    const w = watch(l.bind(Dtab.empty, Path.read("/svc/hello")));
    await w.next((s) => okIds(s)[0] === "/#/test/hello", "the first tree");
    await store.put("default", Dtab.read("/svc => /#/test; /svc/hello => /#/test/world"));
    await w.next((s) => okIds(s)[0] === "/#/test/world", "the tree after the dtab change");
    w.close();
    await until(() => storeCell("default").observerCount === 0, "namerd to release the dtab watch");
  });

  it("sends the request's local dtab to namerd", async () => {
    const l = linker();
    const tree = await Activity.toPromise(
      l.bind(Dtab.read("/svc/hello => /$/inet/127.0.0.1/9999"), Path.read("/svc/hello")),
      5_000,
    );
    expect(ids(tree)).toEqual(["/$/inet/127.0.0.1/9999"]);
  });

  it("shares one stream per (dtab, name) and per bound id", async () => {
    const l = linker();
    const a = l.bind(Dtab.empty, Path.read("/svc/hello"));
    expect(l.bind(Dtab.empty, Path.read("/svc/hello"))).toBe(a);
    const w1 = watch(a);
    const w2 = watch(a);
    await w1.next((s) => s.kind === "ok", "a tree");
    expect(l.state().streams).toBe(1);
    w1.close();
    w2.close();
    await until(() => l.state().streams === 0, "the stream to be cancelled");
  });

  it("explains a delegation through namerd, with the leaves' addresses", async () => {
    const l = linker();
    const tree = await l.delegate(Dtab.empty, Path.read("/svc/hello"));
    expect(tree.path.show).toBe("/svc/hello");
    const leaves: Addr[] = [];
    const walk = (t: typeof tree): void => {
      if (t.type === "leaf" && t.addr) leaves.push(t.addr);
      else if (t.type === "delegate" || t.type === "transformation") walk(t.tree);
      else if (t.type === "alt") t.trees.forEach(walk);
      else if (t.type === "union") for (const x of t.weighted) walk(x.tree);
    };
    walk(tree);
    expect(leaves).toEqual([Addr.bound([address("127.0.0.1", 7777)])]);
  });

  it("reads namerd's dtab for its namespace", async () => {
    const l = linker();
    const d = await Activity.toPromise(l.dtab(), 5_000);
    expect(d.show).toBe("/svc=>/#/test");
  });

  it("keeps the last tree while namerd is down, says so, and resumes when it is back", async () => {
    const l = linker();
    const w = watch(l.bind(Dtab.empty, Path.read("/svc/hello")));
    await w.next((s) => okIds(s)[0] === "/#/test/hello", "the first tree");
    expect(l.state().connected).toBe(true);
    const samePort = port;

    await stopNamerd();
    await until(() => !l.state().connected, "the linker to notice namerd is gone");
    const s = l.state();
    expect(s.lastError).toBeTruthy();
    expect(s.address).toBe(`127.0.0.1:${samePort}`);
    expect(s.namerd).toBe(`/$/inet/127.0.0.1/${samePort}`);
    expect(s.namespace).toBe("default");
    // still routing with what it had: no failure was published
    expect(w.latest()).toMatchObject({ kind: "ok" });
    expect(w.seen.every((x) => x.kind !== "failed")).toBe(true);

    // a change made while the linker cannot hear about it
    await store.put("default", Dtab.read("/svc => /#/test; /svc/hello => /#/test/back"));
    await startNamerd(samePort);
    await w.next((x) => okIds(x)[0] === "/#/test/back", "the tree after namerd came back");
    await until(() => l.state().connected, "the linker to say it is connected again");
    expect(l.state().reconnects).toBeGreaterThan(0);
    w.close();
  });

  it("resumes as soon as namerd is reachable again, not after a long retry backoff", async () => {
    // a stream's own retry would wait 10 to 20 s here; the channel coming back wakes it
    const l = linker(port, { baseSeconds: 20, maxSeconds: 60 });
    const w = watch(l.bind(Dtab.empty, Path.read("/svc/hello")));
    await w.next((s) => okIds(s)[0] === "/#/test/hello", "the first tree");
    const samePort = port;
    await stopNamerd();
    await until(() => !l.state().connected, "the linker to notice namerd is gone");
    await store.put("default", Dtab.read("/svc => /#/test; /svc/hello => /#/test/soon"));
    const restarted = Date.now();
    await startNamerd(samePort);
    await w.next((x) => okIds(x)[0] === "/#/test/soon", "the tree after namerd came back", 8_000);
    expect(Date.now() - restarted).toBeLessThan(8_000);
    w.close();
  });

  it("a bind made before namerd ever answered fails naming namerd, then succeeds when it comes up", async () => {
    const downPort = await closedPort();
    const l = linker(downPort);
    const act = l.bind(Dtab.empty, Path.read("/svc/hello"));
    const w = watch(act);
    const err = await Activity.toPromise(act, 5_000).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain(`namerd /$/inet/127.0.0.1/${downPort}`);
    expect(err?.message).toContain(`127.0.0.1:${downPort}`);
    expect(err?.message).toMatch(/unavailable/);
    expect(l.state().connected).toBe(false);

    // namerd appears at that address: the same binding recovers without a restart
    const other = await meshInterfaceFactory
      .make(meshInterfaceSchema.parse({ kind: "io.l5d.mesh", port: downPort }), testBuildCtx)
      .listen({ namespaces, log: silentLog });
    try {
      await w.next((s) => okIds(s)[0] === "/#/test/hello", "the tree once namerd is up");
    } finally {
      w.close();
      l.close();
      await other.close();
    }
  });

  it("refuses a root with more than one element, and accepts Linkerd's keys", () => {
    const bad = meshInterpreterSchema.safeParse({
      kind: "io.l5d.mesh",
      dst: "/$/inet/x/1",
      root: "/a/b",
    });
    expect(bad.success).toBe(false);
    const ok = meshInterpreterSchema.parse({ kind: "io.l5d.mesh", dst: "/$/inet/namerd/4321" });
    expect(ok.root.show).toBe("/default");
    expect(ok.retry).toEqual({ baseSeconds: 1, maxSeconds: 600 });
  });
});

describe("io.l5d.mesh over TLS", () => {
  const dir = mkdtempSync(join(tmpdir(), "mesh-tls-"));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  let tlsNamerd: ListeningInterface;

  beforeAll(async () => {
    writeSelfSignedCert(dir);
    const config = meshInterfaceSchema.parse({
      kind: "io.l5d.mesh",
      port: 0,
      tls: { certPath: cert, keyPath: key },
    });
    tlsNamerd = await meshInterfaceFactory
      .make(config, testBuildCtx)
      .listen({ namespaces, log: silentLog });
  });

  afterAll(async () => {
    await tlsNamerd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsLinker = (tls: Record<string, unknown>) => {
    const config = meshInterpreterSchema.parse({
      kind: "io.l5d.mesh",
      dst: `/$/inet/127.0.0.1/${tlsNamerd.port}`,
      retry: { baseSeconds: 0.05, maxSeconds: 0.2 },
      tls,
    });
    const interp = new MeshInterpreter({
      dst: config.dst,
      root: config.root,
      retry: { baseMs: 50, maxMs: 200 },
      ...meshChannel(config),
    });
    interpreters.push(interp);
    return interp;
  };

  it("binds through a namerd serving TLS, checking its certificate's name", async () => {
    const l = tlsLinker({ commonName: "namerd.test", trustCerts: [cert] });
    const tree = await Activity.toPromise(l.bind(Dtab.empty, Path.read("/svc/hello")), 5_000);
    expect(ids(tree)).toEqual(["/#/test/hello"]);
  });

  it("refuses a certificate it does not trust, naming namerd", async () => {
    const l = tlsLinker({ commonName: "namerd.test" });
    const err = await Activity.toPromise(l.bind(Dtab.empty, Path.read("/svc/hello")), 5_000).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /^namerd \/\$\/inet\/127\.0\.0\.1\/\d+ \(127\.0\.0\.1:\d+\) is unavailable/,
    );
  });
});
