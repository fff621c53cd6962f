/**
 * `io.l5d.namerd` on its own: Linkerd's config keys and defaults, the factory, a namerd that
 * is not there (binds fail naming namerd and its address, retries go on), and what the
 * interpreter puts on the wire, checked by a ThriftMux server on loopback that records each
 * request: the local dtab in BindReq.dtab, the namespace, stamps sent back, Tdiscarded on
 * release. (Against a real namerd: apps/namerd/src/interfaces/thrift-interface.test.ts.)
 */
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { Activity, type Addr, Dtab, NameTree, type NameTreeTransformer, Path } from "@l5d/dtab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  NamerdThriftInterpreter,
  namerdThriftInterpreterFactory,
  namerdThriftInterpreterSchema,
} from "./namerd-thrift-interpreter.js";
import { MuxServerSession } from "./thrift/mux-server-session.js";
import {
  addrMethod,
  type BindReq,
  bindMethod,
  encodeReply,
  readCallArgs,
  readCallHeader,
} from "./thrift/namer-idl.js";

const silent = { info() {}, warn() {}, error() {}, debug() {} };
const closers: Array<() => void | Promise<void>> = [];

afterAll(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("config", () => {
  it("has Linkerd's keys and defaults", () => {
    const c = namerdThriftInterpreterSchema.parse({
      kind: "io.l5d.namerd",
      dst: "/$/inet/namerd.default.svc.cluster.local/4100",
    });
    expect(c.dst.show).toBe("/$/inet/namerd.default.svc.cluster.local/4100");
    expect(c.namespace).toBe("default");
    expect(c.retry).toEqual({ baseSeconds: 5, maxSeconds: 600 });
    expect(c.failureThreshold).toEqual({ minPeriodMs: 5000, closeTimeoutMs: 4000 });
    expect(c.tls).toBeUndefined();
    const full = namerdThriftInterpreterSchema.parse({
      kind: "io.l5d.namerd",
      experimental: true,
      dst: "/$/inet/127.1/4100",
      namespace: "internal",
      retry: { baseSeconds: 1, maxSeconds: 30 },
      tls: { commonName: "namerd", caCert: "/ca.pem" },
      failureThreshold: { closeTimeoutMs: 1000 },
    });
    expect(full.namespace).toBe("internal");
    expect(full.tls).toEqual({ commonName: "namerd", caCert: "/ca.pem" });
    expect(full.failureThreshold).toEqual({ minPeriodMs: 5000, closeTimeoutMs: 1000 });
  });

  it("rejects a missing dst, bad values and unknown keys", () => {
    const errs = (v: unknown) => {
      const r = namerdThriftInterpreterSchema.safeParse(v);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    };
    expect(errs({ kind: "io.l5d.namerd" })[0]).toMatch(/^dst: /);
    expect(errs({ kind: "io.l5d.namerd", dst: "nope" })[0]).toMatch(/^dst: invalid path/);
    expect(
      errs({ kind: "io.l5d.namerd", dst: "/$/inet/x/1", retry: { baseSeconds: 9, maxSeconds: 1 } }),
    ).toEqual(["retry: baseSeconds must not exceed maxSeconds"]);
    expect(errs({ kind: "io.l5d.namerd", dst: "/$/inet/x/1", tls: {} })[0]).toMatch(
      /^tls.commonName/,
    );
    expect(errs({ kind: "io.l5d.namerd", dst: "/$/inet/x/1", root: "/x" })).toHaveLength(1);
    expect(errs({ kind: "io.l5d.namerd", dst: "/$/inet/x/1", namespace: "a/b" })).toHaveLength(1);
  });
});

describe("factory", () => {
  it("applies the router's transformers, keeps state() and closes with the router", async () => {
    const onClose: Array<() => void | Promise<void>> = [];
    const identity: NameTreeTransformer = { prefix: Path.read("/identity"), transform: (t) => t };
    const config = namerdThriftInterpreterSchema.parse({
      kind: "io.l5d.namerd",
      dst: `/$/inet/127.0.0.1/${await closedPort()}`,
      namespace: "edge",
    });
    const interp = namerdThriftInterpreterFactory.make(config, {
      env: {},
      log: silent,
      onClose: (f) => onClose.push(f),
      services: { transformers: [identity] },
    }) as ReturnType<typeof namerdThriftInterpreterFactory.make> & {
      state(): { namespace: string };
    };
    expect(interp.state().namespace).toBe("edge");
    expect(onClose).toHaveLength(1);
    for (const f of onClose) await f();
  });

  it("names an unreadable caCert", async () => {
    const config = namerdThriftInterpreterSchema.parse({
      kind: "io.l5d.namerd",
      dst: "/$/inet/127.0.0.1/4100",
      tls: { commonName: "namerd", caCert: "/nonexistent/ca.pem" },
    });
    expect(() =>
      namerdThriftInterpreterFactory.make(config, {
        env: {},
        log: silent,
        onClose: () => {},
        services: {},
      }),
    ).toThrow(/tls.caCert: cannot read \/nonexistent\/ca.pem/);
  });
});

describe("namerd not there", () => {
  it("a bind fails naming namerd and its address, and keeps retrying", async () => {
    const port = await closedPort();
    const interp = new NamerdThriftInterpreter({
      dst: Path.read(`/$/inet/127.0.0.1/${port}`),
      namespace: "default",
      retry: { baseMs: 20, maxMs: 50 },
    });
    closers.push(() => interp.close());
    const act = interp.bind(Dtab.read("/x=>/y"), Path.read("/svc/hello"));
    const sub = act.observe(() => {});
    try {
      const err = await Activity.toPromise(act, 5_000).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(
        new RegExp(
          `^namerd /\\$/inet/127\\.0\\.0\\.1/${port} \\(127\\.0\\.0\\.1:${port}\\) is unavailable: .*ECONNREFUSED`,
        ),
      );
      await until(() => interp.state().reconnects >= 2);
      expect(interp.state()).toMatchObject({
        connected: false,
        streams: 1,
        address: `127.0.0.1:${port}`,
      });
      expect(interp.state().lastError).toMatch(/ECONNREFUSED/);
    } finally {
      sub.close();
    }
    expect(interp.state().streams).toBe(0);
  });

  it("a delegation rejects naming namerd", async () => {
    const port = await closedPort();
    const interp = new NamerdThriftInterpreter({
      dst: Path.read(`/$/inet/127.0.0.1/${port}`),
      namespace: "default",
      retry: { baseMs: 20, maxMs: 50 },
    });
    closers.push(() => interp.close());
    await expect(interp.delegate(Dtab.empty, Path.read("/svc/a"))).rejects.toThrow(
      new RegExp(`namerd /\\$/inet/127\\.0\\.0\\.1/${port} \\(127\\.0\\.0\\.1:${port}\\)`),
    );
  });
});

describe("on the wire", () => {
  /** Every bind and addr request the server got, and the stamp it answers with next. */
  const binds: BindReq[] = [];
  const addrStamps: string[] = [];
  let discards = 0;
  let server: Server;
  let port: number;
  const sessions: MuxServerSession[] = [];
  let addrVersion = 1;
  const addrWaiters = new Set<() => void>();

  beforeAll(async () => {
    server = createServer((s) => {
      sessions.push(
        new MuxServerSession(s, async (req, signal) => {
          const { header, reader } = readCallHeader(req.body);
          const call = readCallArgs(header, reader);
          signal.addEventListener("abort", () => discards++);
          if (call.method === "bind") {
            binds.push(call.req);
            // answer the first poll at once; hold the next ones (nothing changes)
            if (call.req.name.stamp.length > 0) await new Promise(() => {});
            return encodeReply(bindMethod, call.seqid, {
              ok: {
                stamp: Buffer.from("b1"),
                tree: {
                  root: {
                    type: "leaf",
                    name: { id: Path.read("/#/io.l5d.fs/hello"), residual: Path.read("/r") },
                  },
                  nodes: new Map(),
                },
                ns: call.req.name.ns,
              },
            });
          }
          if (call.method === "addr") {
            addrStamps.push(call.req.name.stamp.toString());
            // hold while the client already has the current version
            while (call.req.name.stamp.toString() === `a${addrVersion}`)
              await new Promise<void>((r) => addrWaiters.add(r));
            return encodeReply(addrMethod, call.seqid, {
              ok: {
                stamp: Buffer.from(`a${addrVersion}`),
                value: {
                  type: "bound",
                  bound: {
                    addresses: Array.from({ length: addrVersion }, (_, i) => ({
                      ip: Buffer.from([127, 0, 0, 1]),
                      port: 9000 + i,
                    })),
                  },
                },
              },
            });
          }
          throw new Error(`unexpected ${call.method}`);
        }),
      );
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const s of sessions) s.close();
    await new Promise((r) => server.close(r));
  });

  it("sends the local dtab and namespace, long-polls with stamps, and discards on release", async () => {
    const interp = new NamerdThriftInterpreter({
      dst: Path.read(`/$/inet/127.0.0.1/${port}`),
      namespace: "internal",
      retry: { baseMs: 20, maxMs: 50 },
    });
    closers.push(() => interp.close());
    const act = interp.bind(Dtab.read("/svc=>/#/io.l5d.fs;/x=>/y"), Path.read("/svc/hello"));
    const trees: string[] = [];
    const addrs: Addr[] = [];
    let addrSub: { close(): void } | undefined;
    const sub = act.observe((s) => {
      if (s.kind !== "ok") return;
      trees.push(NameTree.show(s.value));
      if (!addrSub && s.value.type === "leaf")
        addrSub = s.value.value.addr.observe((a) => addrs.push(a));
    });
    await until(() => binds.length >= 2 && addrs.some((a) => a.type === "bound"));
    expect(trees).toEqual(["/#/io.l5d.fs/hello"]);
    expect(binds[0]).toMatchObject({ dtab: "/svc=>/#/io.l5d.fs;/x=>/y", clientId: Path.empty });
    expect(binds[0]!.name.ns).toBe("internal");
    expect(binds[0]!.name.name.show).toBe("/svc/hello");
    // the first poll has no stamp; the next one sends back namerd's
    expect(binds[0]!.name.stamp.length).toBe(0);
    expect(binds[1]!.name.stamp.toString()).toBe("b1");
    expect(interp.state()).toMatchObject({ connected: true, address: `127.0.0.1:${port}` });
    expect(interp.state().lastUpdate).toBeTruthy();

    // a change namerd announces reaches the address Var through the held poll
    addrVersion = 2;
    for (const w of [...addrWaiters]) w();
    await until(() => addrs.some((a) => a.type === "bound" && a.addrs.length === 2));
    await until(() => addrStamps.length >= 3);
    expect(addrStamps.slice(0, 3)).toEqual(["", "a1", "a2"]);

    // releasing the bind and the address discards the held polls
    const before = discards;
    addrSub?.close();
    sub.close();
    await until(() => discards >= before + 2);
    expect(interp.state().streams).toBe(0);
  });
});
