// `pnpm dev` (scripts/dev.mjs --once): the Kubernetes mode on loopback answers through the
// tutorial's config and the API stand-in on 127.0.0.1:8001; `--fs` forces the io.l5d.fs demo;
// `--http` runs the HTTP/1.1 edition; `--namerd` the fs demo with its dtab served by namerd.
// Both leave nothing listening behind. SKIPPED (with a message) when the demo's addresses are
// busy (a `pnpm dev` already running) or cannot be bound on this OS.
import { connect, createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { runInNamespace } from "./lab-process.js";
import { repoRoot } from "./repo-root.js";

const root = repoRoot();

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

function isOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

const DEMO_PORTS: [string, number][] = [
  ["127.0.0.1", 8001],
  ["127.0.1.1", 4140],
  ["127.0.1.1", 4141],
  ["127.0.1.1", 9990],
  ["127.0.2.1", 4140],
  ["127.0.2.1", 4141],
  ["127.0.2.1", 9990],
  ["127.0.1.10", 7777],
  ["127.0.2.10", 7778],
  ["127.0.3.1", 4180],
  ["127.0.3.1", 9991],
];

async function busy(): Promise<string | undefined> {
  for (const [h, p] of DEMO_PORTS) if (!(await canListen(h, p))) return `${h}:${p}`;
  return undefined;
}

/** Skips the test (saying why) when a demo address is taken. */
async function skipIfBusy(ctx: { skip(): void }): Promise<void> {
  const b = await busy();
  if (b === undefined) return;
  console.warn(`SKIPPED: cannot listen on ${b} (a pnpm dev running, or an OS without 127.0.0.0/8)`);
  ctx.skip();
}

function dev(...args: string[]) {
  return runInNamespace({
    ns: undefined,
    name: "dev",
    cwd: root,
    args: ["scripts/dev.mjs", "--once", ...args],
    env: { L5D_DEV_QUIET: "1" },
    timeoutMs: 60_000,
  });
}

describe("pnpm dev", () => {
  it("Kubernetes mode: prints the tutorial's answer over the loopback nodes and exits 0", async (ctx) => {
    await skipIfBusy(ctx);
    const r = await dev();
    expect(r.stdout).toContain("Kubernetes mode");
    expect(r.stdout.split("\n")).toContain("Hello (127.0.1.10) world (127.0.2.10)!!");
    expect(r.stdout).toContain("http://127.0.1.1:9990/");
    expect(r.stdout).toContain("http://127.0.2.1:9990/");
    expect(r.code).toBe(0);
    for (const [h, p] of DEMO_PORTS) expect(await isOpen(h, p), `${h}:${p} still open`).toBe(false);
  }, 70_000);

  it("--fs: the io.l5d.fs demo", async (ctx) => {
    await skipIfBusy(ctx);
    const r = await dev("--fs");
    expect(r.stdout).not.toContain("Kubernetes mode");
    expect(r.stdout.split("\n")).toContain("Hello (127.0.1.1) world (127.0.2.1)!!");
    expect(r.code).toBe(0);
    for (const [h, p] of DEMO_PORTS) expect(await isOpen(h, p), `${h}:${p} still open`).toBe(false);
  }, 70_000);

  it("--http: the series' HTTP/1.1 edition through protocol: http routers", async (ctx) => {
    await skipIfBusy(ctx);
    const r = await dev("--http");
    expect(r.stdout).toContain("--http: the series' HTTP/1.1 edition");
    expect(r.stdout.split("\n")).toContain("Hello (127.0.1.1) world (127.0.2.1)!!");
    expect(r.stdout).toContain("http_proxy=127.0.1.1:4140 curl http://hello");
    expect(r.code).toBe(0);
    for (const [h, p] of DEMO_PORTS) expect(await isOpen(h, p), `${h}:${p} still open`).toBe(false);
  }, 70_000);

  it("--namerd: the fs demo's answer with the dtab served by a namerd child process", async (ctx) => {
    await skipIfBusy(ctx);
    const r = await dev("--namerd");
    expect(r.stdout).toContain("--namerd: the io.l5d.fs demo with its dtab served by namerd");
    expect(r.stdout.split("\n")).toContain("Hello (127.0.1.1) world (127.0.2.1)!!");
    expect(r.stdout).toContain("http://127.0.3.1:9991/ (namerd");
    expect(r.code).toBe(0);
    for (const [h, p] of DEMO_PORTS) expect(await isOpen(h, p), `${h}:${p} still open`).toBe(false);
  }, 70_000);

  it("--tls: the HTTP/1.1 edition with TLS between the nodes (linkerd-tls.yml)", async (ctx) => {
    await skipIfBusy(ctx);
    const r = await dev("--tls");
    expect(r.stdout).toContain("--tls: the series' TLS edition");
    expect(r.stdout.split("\n")).toContain("Hello (127.0.1.1) world (127.0.2.1)!!");
    expect(r.stdout).toMatch(
      /plaintext to node B's incoming router \(127\.0\.2\.1:4141\): refused/,
    );
    expect(r.code).toBe(0);
    for (const [h, p] of DEMO_PORTS) expect(await isOpen(h, p), `${h}:${p} still open`).toBe(false);
  }, 70_000);

  it("falls back to the io.l5d.fs demo, saying why, when 127.0.0.1:8001 is taken", async (ctx) => {
    await skipIfBusy(ctx);
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(8001, "127.0.0.1", resolve));
    try {
      const r = await dev();
      expect(r.stdout).toMatch(
        /Kubernetes mode unavailable: cannot listen on 127\.0\.0\.1:8001 .*falling back to the io\.l5d\.fs demo/,
      );
      expect(r.stdout.split("\n")).toContain("Hello (127.0.1.1) world (127.0.2.1)!!");
      expect(r.code).toBe(0);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }, 70_000);
});
