/**
 * namerd's `io.l5d.thriftNameInterpreter` on loopback, against l5d's `io.l5d.namerd`
 * interpreter and against raw ThriftMux sessions speaking the namer IDL: bind, addr, dtab and
 * delegate; the long-poll stamps; a dtab change reaching the interpreter through a held poll;
 * namerd stopped (last tree kept) and restarted (updates resume); malformed requests answered
 * with thrift exceptions while the session carries on; a client that skips Tinit; TLS; the
 * observer cache's bound; oversized frames.
 */
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Activity,
  type ActivityState,
  Addr,
  address,
  Dtab,
  NameBound,
  NameTree,
  Path,
} from "@l5d/dtab";
import { NamerdThriftInterpreter, thrift } from "@l5d/namerd-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  silentLog,
  testBuildCtx,
  testNamespaces,
  writeSelfSignedCert,
} from "../__tests__/namerd-testkit.js";
import type { ListeningInterface } from "./namerd-interface.js";
import { thriftInterfaceFactory, thriftInterfaceSchema } from "./thrift-interface.js";

const { namer, store, namespaces } = testNamespaces({
  default: "/svc => /#/test",
  other: "/svc => /$/inet/127.0.0.1/9000",
});
const closers: Array<() => unknown> = [];
let iface: ListeningInterface;

async function listen(port = 0, extra: Record<string, unknown> = {}): Promise<ListeningInterface> {
  const config = thriftInterfaceSchema.parse({
    kind: "io.l5d.thriftNameInterpreter",
    port,
    ...extra,
  });
  return thriftInterfaceFactory.make(config, testBuildCtx).listen({ namespaces, log: silentLog });
}

beforeAll(async () => {
  iface = await listen();
});

afterAll(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await iface.close();
});

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

function interpreter(port: number, namespace = "default"): NamerdThriftInterpreter {
  const i = new NamerdThriftInterpreter({
    dst: Path.read(`/$/inet/127.0.0.1/${port}`),
    namespace,
    retry: { baseMs: 50, maxMs: 200 },
    pingIntervalMs: 200,
    pingTimeoutMs: 1_000,
  });
  closers.push(() => i.close());
  return i;
}

/** Observes an activity, keeping every state. */
function watch<T>(act: Activity<T>) {
  const states: ActivityState<T>[] = [];
  const sub = act.observe((s) => states.push(s));
  closers.push(() => sub.close());
  const last = () => states.at(-1);
  return { states, sub, last };
}

/** A raw ThriftMux session to namerd, calling through the codec directly. */
async function rawSession(port = iface.port) {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  const session = new thrift.MuxClientSession(socket, { pingIntervalMs: 0 });
  closers.push(() => session.close());
  await session.handshake();
  let seq = 100;
  const call = async <Req, Rep, Fail>(
    m: thrift.NamerMethod<Req, Rep, Fail>,
    req: Req,
    signal?: AbortSignal,
  ) => thrift.decodeReply(m, await session.dispatch(thrift.encodeCall(m, seq++, req), signal));
  return { session, call };
}

const nameRef = (path: string, ns = "default", stamp: Buffer = Buffer.alloc(0)) => ({
  stamp,
  name: Path.read(path),
  ns,
});

describe("config", () => {
  it("has Linkerd's keys and defaults", () => {
    const c = thriftInterfaceSchema.parse({ kind: "io.l5d.thriftNameInterpreter" });
    expect(c).toMatchObject({ ip: "127.0.0.1", port: 4100 });
    expect(c.cache).toEqual({
      bindingCacheActive: 1000,
      bindingCacheInactive: 100,
      bindingCacheInactiveTTLSecs: 600,
      addrCacheActive: 1000,
      addrCacheInactive: 100,
      addrCacheInactiveTTLSecs: 600,
    });
    const r = thriftInterfaceSchema.safeParse({
      kind: "io.l5d.thriftNameInterpreter",
      cache: { bindingCacheActive: 0, nope: 1 },
      bogus: true,
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join("."))).toEqual(
      expect.arrayContaining(["cache.bindingCacheActive", "cache", ""]),
    );
  });
});

describe("io.l5d.namerd against namerd", () => {
  it("binds, and follows addresses and dtab changes through the long polls", async () => {
    const hello = namer.cell("hello");
    hello.update(Addr.bound([address("127.0.0.1", 8080)]));
    const interp = interpreter(iface.port);
    const w = watch(interp.bind(Dtab.empty, Path.read("/svc/hello/extra")));
    await until(() => w.last()?.kind === "ok");
    const s = w.last()!;
    if (s.kind !== "ok" || s.value.type !== "leaf") throw new Error("expected a leaf");
    expect(s.value.value.id.show).toBe("/#/test/hello");
    expect(s.value.value.residual.show).toBe("/extra");

    // addresses: the first set, then a change pushed through the held addr poll
    const addrs: Addr[] = [];
    const asub = s.value.value.addr.observe((a) => addrs.push(a));
    closers.push(() => asub.close());
    await until(() => addrs.at(-1)?.type === "bound");
    expect(addrs.at(-1)).toEqual(Addr.bound([address("127.0.0.1", 8080)]));
    hello.update(
      Addr.bound([address("127.0.0.1", 8080), address("127.0.0.2", 8081, { nodeName: "n2" }, 3)]),
    );
    const count = (a: Addr | undefined) => (a?.type === "bound" ? a.addrs.length : 0);
    await until(() => count(addrs.at(-1)) === 2);
    expect(addrs.at(-1)).toEqual(
      Addr.bound([address("127.0.0.1", 8080), address("127.0.0.2", 8081, { nodeName: "n2" }, 3)]),
    );

    // a dtab change in namerd reaches the interpreter without a new request from the router
    const v = await Activity.toPromise(store.observe("default"));
    await store.update("default", Dtab.read("/svc => /#/test/moved"), v!.version);
    await until(() => {
      const x = w.last();
      return x?.kind === "ok" && NameTree.show(x.value) === "/#/test/moved";
    });
    expect(interp.state()).toMatchObject({ connected: true, namespace: "default" });
    expect(interp.state().lastUpdate).toBeTruthy();
    await store.put("default", Dtab.read("/svc => /#/test"));
  });

  it("sends the request's local dtab along, and binds in the namespace asked for", async () => {
    const interp = interpreter(iface.port);
    const local = watch(
      interp.bind(Dtab.read("/svc/hello => /$/inet/127.0.0.1/9999"), Path.read("/svc/hello")),
    );
    await until(() => local.last()?.kind === "ok");
    const s = local.last()!;
    expect(s.kind === "ok" && NameTree.show(s.value)).toBe("/$/inet/127.0.0.1/9999");

    const other = interpreter(iface.port, "other");
    const o = watch(other.bind(Dtab.empty, Path.read("/svc/x")));
    await until(() => o.last()?.kind === "ok");
    const os = o.last()!;
    expect(os.kind === "ok" && NameTree.show(os.value)).toBe("/$/inet/127.0.0.1/9000");
  });

  it("watches the namespace's dtab and explains delegations", async () => {
    const interp = interpreter(iface.port);
    const d = watch(interp.dtab());
    await until(() => d.last()?.kind === "ok");
    const first = d.last()!;
    expect(first.kind === "ok" && first.value.show).toBe("/svc=>/#/test");

    namer.cell("deleg").update(Addr.bound([address("127.0.0.1", 7000)]));
    const tree = await interp.delegate(Dtab.read("/x=>/svc/deleg"), Path.read("/x"));
    expect(tree.type).toBe("delegate");
    const json = JSON.stringify(tree, (_k, val) =>
      val instanceof Path ? val.show : val instanceof NameBound ? val.id.show : val,
    );
    expect(json).toContain('"/#/test/deleg"');
    expect(json).toContain('"/svc/deleg"');

    await store.put("default", Dtab.read("/svc => /#/test;/extra => /#/test/e"));
    await until(() => {
      const x = d.last();
      return x?.kind === "ok" && x.value.show === "/svc=>/#/test;/extra=>/#/test/e";
    });
    await store.put("default", Dtab.read("/svc => /#/test"));
  });

  it("keeps the last tree while namerd is down, and resumes when it is back", async () => {
    const own = await listen();
    const port = own.port;
    const interp = interpreter(port);
    const w = watch(interp.bind(Dtab.empty, Path.read("/svc/resume")));
    await until(() => w.last()?.kind === "ok");
    const before = w.states.length;

    await own.close();
    await until(() => !interp.state().connected);
    await new Promise((r) => setTimeout(r, 300));
    // no failure was emitted: the router keeps routing with the last tree
    expect(w.states.slice(before).every((s) => s.kind === "ok")).toBe(true);
    const tree = w.last();
    expect(tree?.kind === "ok" && NameTree.show(tree.value)).toBe("/#/test/resume");
    expect(interp.state().lastError).toBeTruthy();

    const back = await listen(port);
    closers.push(() => back.close());
    await until(() => interp.state().connected);
    await store.put("default", Dtab.read("/svc => /#/test;/svc/resume => /#/test/resumed"));
    await until(() => {
      const x = w.last();
      return x?.kind === "ok" && NameTree.show(x.value) === "/#/test/resumed";
    });
    await store.put("default", Dtab.read("/svc => /#/test"));
  });
});

describe("the namer service, called directly", () => {
  it("answers at once for a new stamp and holds a request with the current one", async () => {
    const { call } = await rawSession();
    const req = (stamp: Buffer = Buffer.alloc(0)) => ({
      dtab: "",
      name: nameRef("/svc/stamped", "default", stamp),
      clientId: Path.empty,
    });
    const r1 = await call(thrift.bindMethod, req());
    if (r1.kind !== "ok") throw new Error(`bind failed: ${JSON.stringify(r1)}`);
    expect(r1.value.stamp.length).toBe(8);
    expect(r1.value.ns).toBe("default");
    expect(r1.value.tree.root).toEqual({
      type: "leaf",
      name: { id: Path.read("/#/test/stamped"), residual: Path.empty },
    });
    // an unknown stamp: the current value, at once
    const r2 = await call(thrift.bindMethod, req(Buffer.from("stale")));
    expect(r2.kind === "ok" && r2.value.stamp).toEqual(r1.value.stamp);

    // the current stamp: held until the binding changes
    let answered = false;
    const held = call(thrift.bindMethod, req(r1.value.stamp)).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(answered).toBe(false);
    await store.put("default", Dtab.read("/svc => /#/test;/svc/stamped => /#/test/changed"));
    const r3 = await held;
    if (r3.kind !== "ok") throw new Error("expected a tree");
    expect(r3.value.stamp.equals(r1.value.stamp)).toBe(false);
    expect(r3.value.tree.root).toMatchObject({
      type: "leaf",
      name: { id: Path.read("/#/test/changed") },
    });
    await store.put("default", Dtab.read("/svc => /#/test"));
  });

  it("a discarded poll is forgotten: the session stays usable", async () => {
    const { call, session } = await rawSession();
    const first = await call(thrift.addrMethod, {
      name: nameRef("/#/test/disc"),
      clientId: Path.empty,
    });
    if (first.kind !== "ok") throw new Error("expected an address");
    expect(first.value.value).toEqual({ type: "neg" });
    const ac = new AbortController();
    const held = call(
      thrift.addrMethod,
      { name: nameRef("/#/test/disc", "default", first.value.stamp), clientId: Path.empty },
      ac.signal,
    );
    await new Promise((r) => setTimeout(r, 50));
    ac.abort(new Error("released"));
    await expect(held).rejects.toThrow("released");
    await until(() => session.outstanding === 0);
    const again = await call(thrift.dtabMethod, {
      stamp: Buffer.alloc(0),
      ns: "default",
      clientId: Path.empty,
    });
    expect(again.kind === "ok" && again.value.dtab).toBe("/svc=>/#/test");
  });

  it("answers malformed requests with thrift exceptions and IDL failures, and carries on", async () => {
    const { session, call } = await rawSession();
    const exception = async (body: Buffer) => {
      const r = thrift.decodeReply(thrift.bindMethod, await session.dispatch(body));
      if (r.kind !== "exception") throw new Error(`expected an exception, got ${r.kind}`);
      return r.error;
    };
    // not thrift at all
    const garbage = await session.dispatch(Buffer.from("definitely not thrift"));
    const g = thrift.decodeReply(thrift.bindMethod, garbage);
    expect(g.kind === "exception" && g.error.type).toBe(
      thrift.TApplicationExceptionType.PROTOCOL_ERROR,
    );
    // an unknown method
    const w = new thrift.ThriftWriter().messageBegin("resolve", 1, 9).fieldStop();
    const unknown = thrift.decodeReply(
      { ...thrift.bindMethod, name: "resolve" },
      await session.dispatch(Buffer.from(w.bytes())),
    );
    expect(unknown).toMatchObject({
      kind: "exception",
      error: { type: thrift.TApplicationExceptionType.UNKNOWN_METHOD },
    });
    // a bind call cut short
    const full = thrift.encodeCall(thrift.bindMethod, 1, {
      dtab: "",
      name: nameRef("/svc/x"),
      clientId: Path.empty,
    });
    const cut = await exception(full.subarray(0, full.length - 5));
    expect(cut.type).toBe(thrift.TApplicationExceptionType.PROTOCOL_ERROR);
    expect(cut.message).toMatch(/malformed bind request/);

    // requests namerd will not serve: the method's failure, naming why
    const bind = (dtab: string, path: string, ns = "default") =>
      call(thrift.bindMethod, { dtab, name: nameRef(path, ns), clientId: Path.empty });
    expect(await bind("/a=>", "/svc/x")).toMatchObject({
      kind: "failure",
      failure: { reason: expect.stringMatching(/^invalid dtab: /) },
    });
    expect(await bind("", "/")).toMatchObject({
      kind: "failure",
      failure: { reason: "empty path" },
    });
    expect(await bind("", "/svc/x", "no/such")).toMatchObject({
      kind: "failure",
      failure: { reason: expect.stringMatching(/invalid namespace/) },
    });
    expect(
      await call(thrift.addrMethod, { name: nameRef("/"), clientId: Path.empty }),
    ).toMatchObject({ kind: "failure", failure: { reason: "empty path" } });
    expect(
      await call(thrift.delegateMethod, {
        dtab: "",
        delegation: {
          stamp: Buffer.alloc(0),
          tree: {
            root: { path: Path.empty, dentry: "", contents: { type: "neg" } },
            nodes: new Map(),
          },
          ns: "default",
        },
        clientId: Path.empty,
      }),
    ).toMatchObject({ kind: "failure", failure: { reason: expect.stringMatching(/too complex/) } });

    // ... and the session still works
    const ok = await bind("", "/svc/fine");
    expect(ok.kind).toBe("ok");
  });

  it("serves a client that skips the Tinit handshake", async () => {
    const socket = connect(iface.port, "127.0.0.1");
    await once(socket, "connect");
    closers.push(() => socket.destroy());
    const chunks: Buffer[] = [];
    socket.on("data", (d: Buffer) => chunks.push(d));
    const body = thrift.encodeCall(thrift.dtabMethod, 3, {
      stamp: Buffer.alloc(0),
      ns: "other",
      clientId: Path.empty,
    });
    socket.write(
      thrift.encodeMessage({ type: "Tdispatch", tag: 2, contexts: [], dst: "", dtab: [], body }),
    );
    await until(() => {
      const b = Buffer.concat(chunks);
      return b.length >= 4 && b.length >= 4 + b.readUInt32BE(0);
    });
    const b = Buffer.concat(chunks);
    const m = thrift.decodeMessage(b.subarray(4, 4 + b.readUInt32BE(0)));
    if (m.type !== "Rdispatch") throw new Error(`expected Rdispatch, got ${m.type}`);
    expect(m.tag).toBe(2);
    const r = thrift.decodeReply(thrift.dtabMethod, m.body);
    expect(r.kind === "ok" && r.value.dtab).toBe("/svc=>/$/inet/127.0.0.1/9000");
  });

  it("refuses more concurrent observations than the active cache holds", async () => {
    const small = await listen(0, { cache: { bindingCacheActive: 1 } });
    closers.push(() => small.close());
    const { call } = await rawSession(small.port);
    const ask = (path: string, stamp?: Buffer) =>
      call(thrift.bindMethod, {
        dtab: "",
        name: nameRef(path, "default", stamp),
        clientId: Path.empty,
      });
    /** Asks once, then holds a poll with the stamp it got; returns the first answer and the poll. */
    const hold = async (path: string) => {
      const first = await ask(path);
      if (first.kind !== "ok") return { first, poll: undefined };
      const poll = ask(path, first.value.stamp);
      await new Promise((r) => setTimeout(r, 30));
      return { first, poll };
    };
    // two polls held on one key take one place
    const a = await hold("/svc/cacheA");
    expect(a.first.kind).toBe("ok");
    const a2 = ask("/svc/cacheA", a.first.kind === "ok" ? a.first.value.stamp : undefined);
    expect((await hold("/svc/cacheB")).first).toMatchObject({
      kind: "failure",
      failure: {
        reason: "The maximum number of concurrent observations has been reached (1)",
      },
    });
    // both answered at once by a change: the place is free again, once
    await store.put("default", Dtab.read("/svc => /#/test;/svc/cacheA => /#/test/other"));
    expect((await a.poll)?.kind).toBe("ok");
    expect((await a2).kind).toBe("ok");
    const b = await hold("/svc/cacheB");
    expect(b.first.kind).toBe("ok");
    expect((await hold("/svc/cacheC")).first.kind).toBe("failure");
    await store.put("default", Dtab.read("/svc => /#/test"));
    // cacheB's binding did not change: its poll stays held until the session ends
    void b.poll?.catch(() => {});
  });

  it("disconnects a peer announcing a frame over 16 MiB", async () => {
    const socket = connect(iface.port, "127.0.0.1");
    socket.on("error", () => {});
    await once(socket, "connect");
    const closed = once(socket, "close");
    socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x02, 0, 0, 2]));
    await closed;
    expect(socket.destroyed).toBe(true);
  });
});

describe("TLS", () => {
  const dir = mkdtempSync(join(tmpdir(), "thrift-tls-"));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  let tlsNamerd: ListeningInterface;

  beforeAll(async () => {
    writeSelfSignedCert(dir);
    tlsNamerd = await listen(0, { tls: { certPath: cert, keyPath: key } });
  });

  afterAll(async () => {
    await tlsNamerd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsInterp = (commonName: string) => {
    const i = new NamerdThriftInterpreter({
      dst: Path.read(`/$/inet/127.0.0.1/${tlsNamerd.port}`),
      namespace: "default",
      retry: { baseMs: 50, maxMs: 200 },
      tls: { commonName, ca: execFileSync("cat", [cert]) },
    });
    closers.push(() => i.close());
    return i;
  };

  it("binds through a namerd serving TLS, checking its certificate's name", async () => {
    const w = watch(tlsInterp("namerd.test").bind(Dtab.empty, Path.read("/svc/tls")));
    await until(() => w.last()?.kind === "ok");
    const s = w.last()!;
    expect(s.kind === "ok" && NameTree.show(s.value)).toBe("/#/test/tls");

    const bad = tlsInterp("someone.else");
    const err = await Activity.toPromise(bad.bind(Dtab.empty, Path.read("/svc/tls")), 5_000).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/is unavailable: .*someone\.else/);
  });
});

describe("closing", () => {
  it("a closed interface frees its port and ends its sessions", async () => {
    const own = await listen();
    const { session } = await rawSession(own.port);
    await own.close();
    await until(() => session.closed);
    // the port can be bound again
    const probe = createServer();
    await new Promise<void>((r, j) => {
      probe.once("error", j);
      probe.listen(own.port, "127.0.0.1", () => r());
    });
    await new Promise((r) => probe.close(r));
  });
});
