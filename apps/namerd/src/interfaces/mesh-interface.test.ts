/**
 * namerd's `io.l5d.mesh` interface on loopback, called by real grpc-js clients of Linkerd's
 * mesh API: every method, streams that follow dtab and address changes, cancellation that
 * releases the observations, and the errors of malformed requests.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClientReadableStream, credentials, type ServiceError, status } from "@grpc/grpc-js";
import {
  Activity,
  type ActivityState,
  Addr,
  address,
  Dtab,
  NameTree,
  Path,
  VarCell,
} from "@l5d/dtab";
import {
  delegateTreeFromProto,
  dtabFromProto,
  dtabToProto,
  pathFromProto,
  pathToProto,
  pathTreeToProto,
  replicasToAddr,
} from "@l5d/namerd-client";
import { mesh } from "@l5d/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLog, testBuildCtx, testNamespaces } from "../__tests__/namerd-testkit.js";
import { Namespaces } from "../namespaces.js";
import type { VersionedDtab } from "../storage/dtab-store.js";
import { InMemoryDtabStore } from "../storage/in-memory-store.js";
import { meshInterfaceFactory, meshInterfaceSchema } from "./mesh-interface.js";
import type { ListeningInterface } from "./namerd-interface.js";

const { namer, store, namespaces } = testNamespaces({
  default: "/svc => /#/test",
  other: "/svc => /$/inet/127.0.0.1/9000",
});
const logDir = mkdtempSync(join(tmpdir(), "mesh-iface-"));
const accessLog = join(logDir, "access.log");
let iface: ListeningInterface;
let target: string;
let interpreter: mesh.InterpreterClient;
let resolver: mesh.ResolverClient;
let delegator: mesh.DelegatorClient;
let codec: mesh.CodecClient;

beforeAll(async () => {
  namer.cell("hello").update(Addr.bound([address("127.0.0.1", 7777)]));
  const config = meshInterfaceSchema.parse({
    kind: "io.l5d.mesh",
    port: 0,
    h2AccessLog: accessLog,
  });
  iface = await meshInterfaceFactory
    .make(config, testBuildCtx)
    .listen({ namespaces, log: silentLog });
  target = `127.0.0.1:${iface.port}`;
  interpreter = new mesh.InterpreterClient(target, credentials.createInsecure());
  resolver = new mesh.ResolverClient(target, credentials.createInsecure());
  delegator = new mesh.DelegatorClient(target, credentials.createInsecure());
  codec = new mesh.CodecClient(target, credentials.createInsecure());
});

afterAll(async () => {
  for (const c of [interpreter, resolver, delegator, codec]) c?.close();
  await iface?.close();
  rmSync(logDir, { recursive: true, force: true });
});

const p = (s: string) => pathToProto(Path.read(s));

function unary<Req, Rsp>(
  f: (req: Req, cb: (e: ServiceError | null, r: Rsp) => void) => unknown,
  req: Req,
): Promise<Rsp> {
  return new Promise((resolve, reject) => f(req, (e, r) => (e ? reject(e) : resolve(r))));
}

/** Reads a server stream message by message; `next()` waits at most `timeoutMs`. */
function reader<T>(call: ClientReadableStream<T>) {
  const queue: T[] = [];
  const waiters: Array<(v: T | ServiceError) => void> = [];
  let error: ServiceError | undefined;
  call.on("data", (m: T) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  call.on("error", (e: ServiceError) => {
    error = e;
    for (const w of waiters.splice(0)) w(e);
  });
  return {
    next(timeoutMs = 3_000): Promise<T> {
      const m = queue.shift();
      if (m !== undefined) return Promise.resolve(m);
      if (error) return Promise.reject(error);
      return new Promise<T>((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`no message within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push((v) => {
          clearTimeout(t);
          if (v instanceof Error) reject(v);
          else resolve(v as T);
        });
      });
    },
    /** Nothing more arrives within `ms`. */
    async quiet(ms = 150): Promise<boolean> {
      await new Promise((r) => setTimeout(r, ms));
      return queue.length === 0;
    },
    cancel: () => call.cancel(),
  };
}

function leafIds(t: mesh.BoundNameTree | undefined): string[] {
  if (!t) return [];
  if (t.leaf) return [pathFromProto(t.leaf.id).show];
  if (t.alt) return t.alt.trees.flatMap(leafIds);
  if (t.union) return t.union.trees.flatMap((w) => leafIds(w.tree));
  return [];
}

/** Waits (bounded) until `f()` holds. */
async function until(f: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const storeCell = (ns: string) => store.observe(ns) as VarCell<ActivityState<VersionedDtab | null>>;

describe("config", () => {
  it("defaults to Linkerd's loopback address and port 4321, and rejects unknown keys", () => {
    const c = meshInterfaceSchema.parse({ kind: "io.l5d.mesh" });
    expect(c.ip).toBe("127.0.0.1");
    expect(c.port).toBe(4321);
    expect(c.h2AccessLogAppend).toBe(true);
    expect(meshInterfaceSchema.safeParse({ kind: "io.l5d.mesh", prot: 1 }).success).toBe(false);
    expect(meshInterfaceSchema.safeParse({ kind: "io.l5d.mesh", port: 70000 }).success).toBe(false);
  });
});

describe("Interpreter", () => {
  it("GetBoundTree binds a name in the namespace root names", async () => {
    const rsp = await unary<mesh.BindReq, mesh.BoundTreeRsp>(
      interpreter.getBoundTree.bind(interpreter),
      {
        root: p("/default"),
        name: p("/svc/hello/extra"),
        dtab: undefined,
      },
    );
    expect(rsp.tree?.leaf && pathFromProto(rsp.tree.leaf.id).show).toBe("/#/test/hello");
    expect(rsp.tree?.leaf && pathFromProto(rsp.tree.leaf.residual).show).toBe("/extra");
  });

  it("applies the request's dtab after the namespace's", async () => {
    const rsp = await unary<mesh.BindReq, mesh.BoundTreeRsp>(
      interpreter.getBoundTree.bind(interpreter),
      {
        root: p("/default"),
        name: p("/svc/hello"),
        dtab: dtabToProto(Dtab.read("/svc/hello => /$/inet/127.0.0.1/9999")),
      },
    );
    expect(leafIds(rsp.tree)).toEqual(["/$/inet/127.0.0.1/9999"]);
  });

  it("binds through an empty dtab in a namespace that does not exist", async () => {
    const neg = await unary<mesh.BindReq, mesh.BoundTreeRsp>(
      interpreter.getBoundTree.bind(interpreter),
      {
        root: p("/nosuch"),
        name: p("/svc/hello"),
        dtab: undefined,
      },
    );
    expect(neg.tree?.neg).toBeDefined();
    const inet = await unary<mesh.BindReq, mesh.BoundTreeRsp>(
      interpreter.getBoundTree.bind(interpreter),
      {
        root: p("/nosuch"),
        name: p("/$/inet/127.0.0.1/8080"),
        dtab: undefined,
      },
    );
    expect(leafIds(inet.tree)).toEqual(["/$/inet/127.0.0.1/8080"]);
  });

  it("answers a malformed request INVALID_ARGUMENT naming the problem", async () => {
    const bad = async (req: mesh.BindReq) =>
      (await unary<mesh.BindReq, mesh.BoundTreeRsp>(
        interpreter.getBoundTree.bind(interpreter),
        req,
      ).catch((e: ServiceError) => e)) as ServiceError;
    const twoElems = await bad({ root: p("/a/b"), name: p("/svc/x"), dtab: undefined });
    expect(twoElems.code).toBe(status.INVALID_ARGUMENT);
    expect(twoElems.details).toMatch(/invalid root \/a\/b: it must have exactly one element/);
    const noRoot = await bad({ root: undefined, name: p("/svc/x"), dtab: undefined });
    expect(noRoot.details).toMatch(/no namespace specified/);
    const emptyElem = await bad({
      root: p("/default"),
      name: { elems: [Buffer.from("svc"), Buffer.alloc(0)] },
      dtab: undefined,
    });
    expect(emptyElem.code).toBe(status.INVALID_ARGUMENT);
    expect(emptyElem.details).toBe("name: element 1 is empty");
    const noName = await bad({ root: p("/default"), name: undefined, dtab: undefined });
    expect(noName.details).toBe("no name given");
    const badDentry = await bad({
      root: p("/default"),
      name: p("/svc/x"),
      dtab: { dentries: [{ prefix: { elems: [] }, dst: undefined }] },
    });
    expect(badDentry.code).toBe(status.INVALID_ARGUMENT);
    expect(badDentry.details).toMatch(/dentry 0: missing destination/);
  });

  it("StreamBoundTree follows dtab changes and releases its watch when cancelled", async () => {
    await store.put("streamed", Dtab.read("/svc => /#/test"));
    const before = storeCell("streamed").observerCount;
    const s = reader(
      interpreter.streamBoundTree({ root: p("/streamed"), name: p("/svc/hello"), dtab: undefined }),
    );
    expect(leafIds((await s.next()).tree)).toEqual(["/#/test/hello"]);
    expect(storeCell("streamed").observerCount).toBeGreaterThan(before);
    // the same dtab again: nothing is sent
    await store.put("streamed", Dtab.read("/svc => /#/test"));
    expect(await s.quiet()).toBe(true);
    await store.put("streamed", Dtab.read("/svc => 9*/#/test/a & 1*/#/test/b"));
    const split = (await s.next()).tree;
    expect(split?.union?.trees.map((w) => w.weight)).toEqual([9, 1]);
    expect(leafIds(split)).toEqual(["/#/test/a", "/#/test/b"]);
    s.cancel();
    await until(() => storeCell("streamed").observerCount === before, "the watch to be released");
  });

  it("ends a stream FAILED_PRECONDITION when the binding fails", async () => {
    await store.put("looping", Dtab.read("/svc => /svc/x"));
    const s = reader(
      interpreter.streamBoundTree({ root: p("/looping"), name: p("/svc/a"), dtab: undefined }),
    );
    const e = (await s.next(5_000).catch((x: ServiceError) => x)) as ServiceError;
    expect(e.code).toBe(status.FAILED_PRECONDITION);
    expect(e.details).toMatch(/Max recursion level/);
  });
});

describe("Resolver", () => {
  it("GetReplicas gives a bound id's endpoints", async () => {
    const r = await unary<mesh.ReplicasReq, mesh.Replicas>(resolver.getReplicas.bind(resolver), {
      id: p("/#/test/hello"),
    });
    expect(replicasToAddr(r)).toEqual(Addr.bound([address("127.0.0.1", 7777)]));
    const none = await unary<mesh.ReplicasReq, mesh.Replicas>(resolver.getReplicas.bind(resolver), {
      id: undefined,
    });
    expect(none.failed?.message).toBe("No ID provided");
  });

  it("StreamReplicas follows the namer and releases its watch when cancelled", async () => {
    const cell = namer.cell("moving");
    cell.update(Addr.bound([address("10.0.0.1", 1)]));
    const s = reader(resolver.streamReplicas({ id: p("/#/test/moving") }));
    expect(replicasToAddr(await s.next())).toEqual(Addr.bound([address("10.0.0.1", 1)]));
    expect(cell.observerCount).toBe(1);
    cell.update(Addr.bound([address("10.0.0.2", 2, { nodeName: "n1" }, 3)]));
    expect(replicasToAddr(await s.next())).toEqual(
      Addr.bound([address("10.0.0.2", 2, { nodeName: "n1" }, 3)]),
    );
    cell.update(Addr.neg);
    expect((await s.next()).neg).toBeDefined();
    s.cancel();
    await until(() => cell.observerCount === 0, "the namer watch to be released");
  });
});

describe("Delegator", () => {
  it("GetDtab gives the stored dtab and its version; a missing namespace is NOT_FOUND", async () => {
    const rsp = await unary<mesh.DtabReq, mesh.DtabRsp>(delegator.getDtab.bind(delegator), {
      root: p("/other"),
    });
    expect(dtabFromProto(rsp.dtab?.dtab).show).toBe("/svc=>/$/inet/127.0.0.1/9000");
    const version = (await Activity.toPromise(store.observe("other")))?.version;
    expect(rsp.dtab?.version?.id.toString("utf8")).toBe(version);
    const e = (await unary<mesh.DtabReq, mesh.DtabRsp>(delegator.getDtab.bind(delegator), {
      root: p("/missing"),
    }).catch((x: ServiceError) => x)) as ServiceError;
    expect(e.code).toBe(status.NOT_FOUND);
    expect(e.details).toBe("dtab namespace 'missing' does not exist");
  });

  it("StreamDtab sends every change and ends NOT_FOUND when the namespace is deleted", async () => {
    await store.put("edited", Dtab.read("/a => /b"));
    const s = reader(delegator.streamDtab({ root: p("/edited") }));
    expect(dtabFromProto((await s.next()).dtab?.dtab).show).toBe("/a=>/b");
    await store.put("edited", Dtab.read("/a => /c"));
    expect(dtabFromProto((await s.next()).dtab?.dtab).show).toBe("/a=>/c");
    await store.delete("edited");
    const e = (await s.next().catch((x: ServiceError) => x)) as ServiceError;
    expect(e.code).toBe(status.NOT_FOUND);
    await until(() => storeCell("edited").observerCount === 0, "the dtab watch to be released");
  });

  it("GetDelegateTree explains a delegation through the namespace's dtab and the request's", async () => {
    const rsp = await unary<mesh.DelegateTreeReq, mesh.DelegateTreeRsp>(
      delegator.getDelegateTree.bind(delegator),
      {
        root: p("/default"),
        tree: pathTreeToProto(NameTree.leaf(Path.read("/svc/hello"))),
        dtab: dtabToProto(Dtab.read("/svc/other => /$/inet/127.0.0.1/1")),
      },
    );
    const tree = delegateTreeFromProto(rsp.tree, () => new VarCell<Addr>(Addr.pending));
    expect(tree.path.show).toBe("/svc/hello");
    const ids: string[] = [];
    const walk = (t: typeof tree): void => {
      if (t.type === "leaf") ids.push(t.value.id.show);
      else if (t.type === "delegate" || t.type === "transformation") walk(t.tree);
      else if (t.type === "alt") t.trees.forEach(walk);
      else if (t.type === "union") for (const w of t.weighted) walk(w.tree);
    };
    walk(tree);
    expect(ids).toEqual(["/#/test/hello"]);
    const e = (await unary<mesh.DelegateTreeReq, mesh.DelegateTreeRsp>(
      delegator.getDelegateTree.bind(delegator),
      {
        root: p("/default"),
        tree: pathTreeToProto(NameTree.read("/a | /b")),
        dtab: undefined,
      },
    ).catch((x: ServiceError) => x)) as ServiceError;
    expect(e.code).toBe(status.INVALID_ARGUMENT);
  });
});

describe("Codec", () => {
  it("reads and shows dtabs and paths; bad text is INVALID_ARGUMENT", async () => {
    const d = await unary<mesh.ReadDtabReq, mesh.ReadDtabRsp>(codec.readDtab.bind(codec), {
      text: "/a=>/b | /c",
    });
    expect(
      (
        await unary<mesh.ShowDtabReq, mesh.ShowDtabRsp>(codec.showDtab.bind(codec), {
          dtab: d.dtab,
        })
      ).text,
    ).toBe("/a=>/b | /c");
    const path = await unary<mesh.ReadPathReq, mesh.ReadPathRsp>(codec.readPath.bind(codec), {
      text: "/x/y",
    });
    expect(
      (
        await unary<mesh.ShowPathReq, mesh.ShowPathRsp>(codec.showPath.bind(codec), {
          path: path.path,
        })
      ).text,
    ).toBe("/x/y");
    const e = (await unary<mesh.ReadDtabReq, mesh.ReadDtabRsp>(codec.readDtab.bind(codec), {
      text: "/a=>",
    }).catch((x: ServiceError) => x)) as ServiceError;
    expect(e.code).toBe(status.INVALID_ARGUMENT);
  });
});

describe("lifecycle", () => {
  it("writes one access-log line per call, in Linkerd's h2 layout", async () => {
    await unary<mesh.ReadPathReq, mesh.ReadPathRsp>(codec.readPath.bind(codec), {
      text: "/logged",
    });
    await until(
      () => readFileSync(accessLog, "utf8").includes("/io.linkerd.mesh.Codec/ReadPath"),
      "the access log line",
    );
    const line = readFileSync(accessLog, "utf8")
      .split("\n")
      .find((l) => l.includes("/io.linkerd.mesh.Codec/ReadPath"))!;
    expect(line).toMatch(
      /^\S+ 127\.0\.0\.1 - - \[\d\d\/\d\d\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "POST \/io\.linkerd\.mesh\.Codec\/ReadPath HTTP\/2" 200 - "-" "grpc-node-js\/[^"]+"$/,
    );
  });

  it("closing the interface ends open streams and releases their watches", async () => {
    const ns = new Namespaces(new InMemoryDtabStore({ x: Dtab.read("/svc => /#/test") }), [
      namer.mounted,
    ]);
    const config = meshInterfaceSchema.parse({ kind: "io.l5d.mesh", port: 0 });
    const own = await meshInterfaceFactory
      .make(config, testBuildCtx)
      .listen({ namespaces: ns, log: silentLog });
    const client = new mesh.InterpreterClient(
      `127.0.0.1:${own.port}`,
      credentials.createInsecure(),
    );
    try {
      const cell = ns.store.observe("x") as VarCell<ActivityState<VersionedDtab | null>>;
      const s = reader(
        client.streamBoundTree({ root: p("/x"), name: p("/svc/hello"), dtab: undefined }),
      );
      await s.next();
      expect(cell.observerCount).toBeGreaterThan(0);
      await own.close();
      await until(() => cell.observerCount === 0, "the watches to be released");
      const e = (await s.next().catch((x: ServiceError) => x)) as ServiceError;
      expect(e.code).toBeDefined();
    } finally {
      client.close();
      await own.close();
    }
  });
});
