/**
 * The esbuild bundle the image runs (dist/bundle/main.js, written by scripts/bundle.mjs), as a
 * real process: it routes a gRPC call, serves the admin UI and its files, checks configs, and
 * loads nothing from node_modules at run time except `@kubernetes/client-node`, and that only
 * for configs with a k8s namer. `pnpm test` builds first; a missing bundle fails here, loudly.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callGreeting, startHelloWorldServer } from "@l5d/helloworld";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort, stopChild, waitForAdminPing } from "./support.js";

const root = new URL("../../../../", import.meta.url).pathname;
const bundleDir = join(root, "apps/l5d/dist/bundle");
const bundle = join(bundleDir, "main.js");
const K8S = "@kubernetes/client-node";
const dir = mkdtempSync(join(tmpdir(), "l5d-bundle-test-"));

const cleanup: Array<() => PromiseLike<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  if (!existsSync(bundle)) {
    throw new Error(`${bundle} is missing: run \`pnpm --filter @l5d/l5d build\` (pnpm test does)`);
  }
});

/** Runs the bundle to completion (`--check`, `dtab`), with NODE_DEBUG=module tracing `require`s. */
function l5dSync(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bundle, ...args], {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, NODE_DEBUG: "module", ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The packages the bundle's own code `require`d, built-ins aside (NODE_DEBUG=module prints one
 * `Module._load REQUEST <name> parent: <file>` line per `require`).
 */
function requiredPackages(stderr: string): string[] {
  const names = [...stderr.matchAll(/Module\._load REQUEST (\S+) parent: (\S+)/g)]
    .filter((m) => m[2]!.startsWith(`${bundleDir}/`))
    .map((m) => m[1]!);
  return [...new Set(names.filter((n) => !isBuiltin(n)))];
}

interface Daemon {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
}

/** Starts the bundle on `cfg`; stopped (SIGTERM, then SIGKILL after 10 s) through `cleanup`. */
function startBundle(cfg: string): Daemon {
  const child = spawn(process.execPath, [bundle, cfg], {
    env: { ...process.env, NODE_DEBUG: "module", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => {
    out += s;
  });
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    err += s;
  });
  cleanup.push(() => stopChild(child));
  return { child, stdout: () => out, stderr: () => err };
}

describe("the l5d bundle (dist/bundle/main.js)", () => {
  it("runs the daemon: a gRPC call reaches a real backend, admin, metrics and UI files answer, SIGTERM stops it", async () => {
    const w = await startHelloWorldServer({ addr: "127.0.0.1:0", text: "world" });
    cleanup.push(() => w.close());
    const [adminPort, port] = [await freePort(), await freePort()];
    const cfg = join(dir, "l5d.yaml");
    writeFileSync(
      cfg,
      `admin: {ip: 127.0.0.1, port: ${adminPort}}
routers:
- protocol: h2
  label: outgoing
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: /svc => /$/inet/127.0.0.1/${w.port};
  servers: [{ip: 127.0.0.1, port: ${port}}]
`,
    );
    const d = startBundle(cfg);
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    await waitForAdminPing(d.child, adminUrl, () => `${d.stdout()}\n${d.stderr()}`);

    expect(await callGreeting(`127.0.0.1:${port}`, { service: "World" })).toBe("world!");

    const ping = await fetch(`${adminUrl}/admin/ping`);
    expect(await ping.text()).toBe("pong");
    const metrics = (await (await fetch(`${adminUrl}/admin/metrics.json`)).json()) as Record<
      string,
      number
    >;
    expect(metrics[`rt/outgoing/server/127.0.0.1/${port}/requests`]).toBe(1);
    expect(metrics[`rt/outgoing/server/127.0.0.1/${port}/success`]).toBe(1);

    // the UI's files are found beside the bundle's code (scripts/bundle.mjs copies them there)
    const page = await (await fetch(`${adminUrl}/`)).text();
    expect(page).toBe(readFileSync(join(root, "apps/l5d/src/admin/assets/dashboard.html"), "utf8"));
    const js = await fetch(`${adminUrl}/files/dashboard.js`);
    expect(js.status).toBe(200);
    expect(await js.text()).toBe(
      readFileSync(join(root, "apps/l5d/src/admin/assets/dashboard.js"), "utf8"),
    );

    expect(await stopChild(d.child)).toBe(0);
    // pino logged (synchronously to fd 1, no transport worker) from the bundled code
    const lines = d
      .stdout()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { msg: string });
    expect(lines.map((l) => l.msg)).toContain(`serving outgoing on 127.0.0.1:${port}`);
    expect(lines.at(-1)?.msg).toBe("stopped");
    // everything the daemon ran was in the bundle: no require() of any package at all
    expect(requiredPackages(d.stderr())).toEqual([]);
  });

  it("--check of a bad config fails, naming the key path", () => {
    const cfg = join(dir, "bad.yaml");
    writeFileSync(
      cfg,
      "routers:\n- protocol: h2\n  identifier: {kind: io.l5d.header.path, segments: 0}\n  servers: [{port: 4140}]\n",
    );
    const r = l5dSync(["--check", cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("routers[0].identifier.segments: expected a positive integer");
  });

  it("loads @kubernetes/client-node from node_modules only when a k8s namer is configured", () => {
    const k8s = l5dSync(["--check", join(root, "deploy/examples/linkerd-grpc.yaml")], {
      POD_IP: "10.196.1.5",
    });
    expect(k8s.stdout).toContain("ok (2 router(s), 1 namer(s))");
    expect(k8s.code).toBe(0);
    expect(requiredPackages(k8s.stderr)).toEqual([K8S]);

    const cfg = join(dir, "fs.yaml");
    writeFileSync(
      cfg,
      `namers: [{kind: io.l5d.fs, rootDir: ${dir}}]
routers:
- protocol: h2
  dtab: /svc => /#/io.l5d.fs;
  servers: [{port: 4140}]
`,
    );
    const fs = l5dSync(["--check", cfg]);
    expect(fs.stdout).toContain("ok (1 router(s), 1 namer(s))");
    expect(requiredPackages(fs.stderr)).toEqual([]);
  });

  it("runs `l5d dtab show`", () => {
    const r = l5dSync(["dtab", "show", "/svc=>/#/io.l5d.fs"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("/svc=>/#/io.l5d.fs");
  });

  it("keeps the gRPC stack (@grpc/grpc-js, the mesh clients) out of what the daemon loads at start: only io.l5d.mesh's dynamic import reaches it", () => {
    const meta = JSON.parse(readFileSync(join(bundleDir, "../bundle.meta.json"), "utf8")) as {
      outputs: Record<
        string,
        { inputs: Record<string, unknown>; imports: Array<{ path: string; kind: string }> }
      >;
    };
    // the chunks the daemon's start evaluates: main.js, then static imports, then the daemon
    // chunk main.js imports dynamically at once (and its static imports)
    const outputs = meta.outputs;
    const staticClosure = (start: string[]): Set<string> => {
      const seen = new Set<string>();
      const todo = [...start];
      while (todo.length > 0) {
        const f = todo.pop() as string;
        if (seen.has(f)) continue;
        seen.add(f);
        for (const i of outputs[f]?.imports ?? [])
          if (i.kind === "import-statement" && i.path in outputs) todo.push(i.path);
      }
      return seen;
    };
    const daemon = Object.keys(outputs).find((f) => /\/daemon-[^/]+\.js$/.test(f)) as string;
    const atStart = staticClosure(["dist/bundle/main.js", daemon]);
    const grpcIn = (f: string) =>
      Object.keys(outputs[f]?.inputs ?? {}).some((k) => k.includes("@grpc/grpc-js"));
    expect([...atStart].filter(grpcIn)).toEqual([]);
    // positive control: it is in the bundle, in a chunk the daemon imports dynamically
    const lazy = (outputs[daemon]?.imports ?? [])
      .filter((i) => i.kind === "dynamic-import")
      .map((i) => i.path);
    expect(lazy.some((f) => /mesh-interpreter-/.test(f) && grpcIn(f))).toBe(true);
  });

  it("contains no @kubernetes/client-node code, only the run-time require of it", () => {
    // esbuild's metafile (scripts/bundle.mjs): every input bundled and every import left out
    const meta = JSON.parse(readFileSync(join(bundleDir, "../bundle.meta.json"), "utf8")) as {
      inputs: Record<string, unknown>;
      outputs: Record<string, { imports: Array<{ path: string; external?: boolean }> }>;
    };
    const inputs = Object.keys(meta.inputs);
    expect(inputs.filter((p) => p.includes(K8S))).toEqual([]);
    // positive control: dependencies and our packages are in it
    expect(inputs.some((p) => p.includes("node_modules/zod/"))).toBe(true);
    expect(inputs).toContain("dist/daemon.js");
    const externals = Object.values(meta.outputs).flatMap((o) =>
      o.imports.filter((i) => i.external).map((i) => i.path),
    );
    expect(externals.filter((p) => !isBuiltin(p))).toEqual([]);
    // the one package it loads, through createRequire (not an import esbuild sees)
    let mentions = 0;
    for (const f of readdirSync(bundleDir).filter((n) => n.endsWith(".js"))) {
      mentions += readFileSync(join(bundleDir, f), "utf8").split(`("${K8S}")`).length - 1;
    }
    expect(mentions).toBe(1);
  });
});
