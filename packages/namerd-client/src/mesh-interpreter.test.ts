/**
 * `io.l5d.mesh` on its own: Linkerd's config keys and defaults, the factory (transformers,
 * state, cleanup), and a namerd that is not there: binds and delegations fail with a message
 * naming namerd and its address, and the retries go on. (Against a real namerd:
 * apps/namerd/src/interfaces/mesh-linker.test.ts, which can depend on both sides.)
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Activity, Dtab, type NameTreeTransformer, Path } from "@l5d/dtab";
import { afterAll, describe, expect, it } from "vitest";
import { MeshInterpreter, meshChannel } from "./mesh-interpreter.js";
import { meshInterpreterFactory } from "./mesh-interpreter-factory.js";
import { meshInterpreterSchema } from "./mesh-interpreter-schema.js";

const silent = { info() {}, warn() {}, error() {}, debug() {} };
const closers: Array<() => void | Promise<void>> = [];

afterAll(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

describe("config", () => {
  it("has Linkerd's keys and defaults", () => {
    const c = meshInterpreterSchema.parse({ kind: "io.l5d.mesh", dst: "/$/inet/namerd/4321" });
    expect(c.dst.show).toBe("/$/inet/namerd/4321");
    expect(c.root.show).toBe("/default");
    expect(c.retry).toEqual({ baseSeconds: 1, maxSeconds: 600 });
    expect(c.failureThreshold).toEqual({ minPeriodMs: 5000, closeTimeoutMs: 4000 });
    expect(c.tls).toBeUndefined();
    const full = meshInterpreterSchema.parse({
      kind: "io.l5d.mesh",
      experimental: true,
      dst: "/$/inet/127.1/4321",
      root: "/prod",
      retry: { baseSeconds: 2, maxSeconds: 30 },
      tls: { commonName: "namerd", trustCerts: ["/ca.pem"], disableValidation: false },
      failureThreshold: { minPeriodMs: 1000 },
      initialStreamWindowSizeKB: 1024,
    });
    expect(full.root.show).toBe("/prod");
    expect(full.failureThreshold).toEqual({ minPeriodMs: 1000, closeTimeoutMs: 4000 });
  });

  it("rejects a missing dst, a deep root, a bad path, base above max and unknown keys", () => {
    const errs = (v: unknown) => {
      const r = meshInterpreterSchema.safeParse(v);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    };
    expect(errs({ kind: "io.l5d.mesh" })[0]).toMatch(/^dst: /);
    expect(errs({ kind: "io.l5d.mesh", dst: "/$/inet/x/1", root: "/a/b" })).toEqual([
      "root: root may only contain a single path element",
    ]);
    expect(errs({ kind: "io.l5d.mesh", dst: "no-slash" })[0]).toMatch(/^dst: invalid path/);
    expect(
      errs({ kind: "io.l5d.mesh", dst: "/$/inet/x/1", retry: { baseSeconds: 9, maxSeconds: 1 } }),
    ).toEqual(["retry: baseSeconds must not exceed maxSeconds"]);
    expect(errs({ kind: "io.l5d.mesh", dst: "/$/inet/x/1", namespace: "default" })).toHaveLength(1);
  });

  it("turns failureThreshold, the window size and TLS into channel settings", () => {
    const c = meshInterpreterSchema.parse({
      kind: "io.l5d.mesh",
      dst: "/$/inet/127.1/4321",
      retry: { baseSeconds: 5, maxSeconds: 600 },
      failureThreshold: { minPeriodMs: 2000, closeTimeoutMs: 1000 },
      initialStreamWindowSizeKB: 64,
      tls: { commonName: "namerd.example", disableValidation: true },
    });
    const { channelOptions } = meshChannel(c);
    expect(channelOptions).toMatchObject({
      "grpc.keepalive_time_ms": 2000,
      "grpc.keepalive_timeout_ms": 1000,
      "grpc-node.flow_control_window": 65536,
      "grpc.ssl_target_name_override": "namerd.example",
      "grpc.initial_reconnect_backoff_ms": 1000,
      "grpc.max_reconnect_backoff_ms": 30000,
    });
  });
});

describe("factory", () => {
  it("applies the router's transformers, keeps state() and closes with the router", async () => {
    const onClose: Array<() => void | Promise<void>> = [];
    const identity: NameTreeTransformer = { prefix: Path.read("/identity"), transform: (t) => t };
    const config = meshInterpreterSchema.parse({
      kind: "io.l5d.mesh",
      dst: `/$/inet/127.0.0.1/${await closedPort()}`,
      root: "/edge",
    });
    const interp = meshInterpreterFactory.make(config, {
      env: {},
      log: silent,
      onClose: (f) => onClose.push(f),
      services: { transformers: [identity] },
    }) as ReturnType<typeof meshInterpreterFactory.make> & { state(): { namespace: string } };
    expect(interp.state().namespace).toBe("edge");
    expect(onClose).toHaveLength(1);
    for (const f of onClose) await f();
  });
});

describe("factory: the interpreter is loaded on first use (mesh-interpreter-factory.ts)", () => {
  const make = (config: ReturnType<typeof meshInterpreterSchema.parse>) =>
    meshInterpreterFactory.make(config, {
      env: {},
      log: silent,
      onClose: (f) => closers.push(f),
      services: {},
    }) as ReturnType<typeof meshInterpreterFactory.make> & {
      state(): { namespace: string; address?: string };
    };

  it("a bind through it fails naming namerd and its address, as the interpreter's own does", async () => {
    const port = await closedPort();
    const interp = make(
      meshInterpreterSchema.parse({
        kind: "io.l5d.mesh",
        dst: `/$/inet/127.0.0.1/${port}`,
        retry: { baseSeconds: 1, maxSeconds: 1 },
      }),
    );
    // before the module is loaded: the namespace and no address yet
    expect(interp.state()).toMatchObject({ namespace: "default", connected: false });
    const err = await Activity.toPromise(interp.bind(Dtab.empty, Path.read("/svc/a")), 8_000).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      new RegExp(
        `^namerd /\\$/inet/127\\.0\\.0\\.1/${port} \\(127\\.0\\.0\\.1:${port}\\) is unavailable: `,
      ),
    );
    // now the loaded interpreter's state (the address it dialled)
    expect(interp.state().address).toBe(`127.0.0.1:${port}`);
    await expect(interp.delegate?.(Dtab.empty, Path.read("/svc/a"))).rejects.toThrow(
      `(127.0.0.1:${port})`,
    );
  });

  it("a TLS file that cannot be read fails when the router is built, naming the file", () => {
    const config = meshInterpreterSchema.parse({
      kind: "io.l5d.mesh",
      dst: "/$/inet/127.0.0.1/4321",
      tls: { commonName: "namerd", trustCerts: ["/nonexistent/namerd-ca.pem"] },
    });
    expect(() => make(config)).toThrow("/nonexistent/namerd-ca.pem");
  });

  it("a readable client key or certificate that TLS cannot use fails when the router is built, naming the files", () => {
    const dir = mkdtempSync(join(tmpdir(), "mesh-tls-"));
    writeFileSync(join(dir, "key.pem"), "not a key\n");
    writeFileSync(join(dir, "cert.pem"), "not a cert\n");
    const config = meshInterpreterSchema.parse({
      kind: "io.l5d.mesh",
      dst: "/$/inet/127.0.0.1/4321",
      tls: {
        commonName: "namerd",
        clientAuth: { certPath: join(dir, "cert.pem"), keyPath: join(dir, "key.pem") },
      },
    });
    expect(() => make(config)).toThrow(
      `tls: cannot use ${join(dir, "cert.pem")}, ${join(dir, "key.pem")}`,
    );
  });
});

describe("namerd not there", () => {
  it("a bind fails naming namerd and its address, and keeps retrying", async () => {
    const port = await closedPort();
    const interp = new MeshInterpreter({
      dst: Path.read(`/$/inet/127.0.0.1/${port}`),
      root: Path.read("/default"),
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
          `^namerd /\\$/inet/127\\.0\\.0\\.1/${port} \\(127\\.0\\.0\\.1:${port}\\) is unavailable: `,
        ),
      );
      const start = interp.state().reconnects;
      const deadline = Date.now() + 3_000;
      while (interp.state().reconnects < start + 2 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(interp.state()).toMatchObject({
        connected: false,
        streams: 1,
        address: `127.0.0.1:${port}`,
      });
      expect(interp.state().reconnects).toBeGreaterThanOrEqual(start + 2);
      expect(interp.state().lastError).toBeTruthy();
    } finally {
      sub.close();
    }
    expect(interp.state().streams).toBe(0);
  });

  it("a dst that names no address is named in the error", async () => {
    const interp = new MeshInterpreter({
      dst: Path.read("/$/nil"),
      root: Path.read("/default"),
      retry: { baseMs: 20, maxMs: 50 },
    });
    closers.push(() => interp.close());
    const err = await Activity.toPromise(interp.bind(Dtab.empty, Path.read("/svc/a")), 8_000).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toBe(
      "namerd /$/nil is unavailable: cannot resolve namerd at /$/nil: it does not name one address",
    );
  });

  it("a delegation rejects naming namerd", async () => {
    const port = await closedPort();
    const interp = new MeshInterpreter({
      dst: Path.read(`/$/inet/127.0.0.1/${port}`),
      root: Path.read("/default"),
      retry: { baseMs: 20, maxMs: 50 },
    });
    closers.push(() => interp.close());
    await expect(interp.delegate(Dtab.empty, Path.read("/svc/a"))).rejects.toThrow(
      new RegExp(`namerd /\\$/inet/127\\.0\\.0\\.1/${port} \\(127\\.0\\.0\\.1:${port}\\)`),
    );
  });
});
