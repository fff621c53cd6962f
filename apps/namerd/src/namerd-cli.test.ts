/**
 * The `namerd` command as a process: `--check` on good and bad configs, a bad config refusing
 * to start, and a real start serving the admin and the HTTP API until `POST /admin/shutdown`.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const main = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "namerd-cli-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { timeout: 20_000 }, (e, out, err) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }),
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe("namerd command", () => {
  it("--check validates a good config", async () => {
    const f = file(
      "ok.yaml",
      "storage:\n  kind: io.l5d.inMemory\ninterfaces:\n- kind: io.l5d.httpController\n",
    );
    const r = await run(["--check", f]);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toBe(`${f}: ok (storage io.l5d.inMemory, 0 namer(s), 1 interface(s))\n`);
  });

  it("a bad config names the key and the reason, and nothing starts", async () => {
    const f = file(
      "bad.yaml",
      "storage:\n  kind: io.l5d.inMemory\n  namespaces:\n    x: '/a =>'\n",
    );
    const r = await run([f]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`invalid config ${f}`);
    expect(r.err).toContain("storage.namespaces.x");
    expect(r.err).toContain("invalid dtab");
  });

  it("starts, serves the admin and the API, and stops on POST /admin/shutdown", async () => {
    const api = await freePort();
    let admin = await freePort();
    // distinct: the OS may offer the port just released again
    for (let i = 0; admin === api && i < 50; i++) admin = await freePort();
    const f = file(
      "run.yaml",
      `admin: {port: ${admin}}\nstorage:\n  kind: io.l5d.inMemory\n  namespaces:\n    default: /svc => /$/inet/127.0.0.1/1\ninterfaces:\n- kind: io.l5d.httpController\n  port: ${api}\n`,
    );
    const child = spawn(process.execPath, [main, f], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    const deadline = Date.now() + 15_000;
    let ping = "";
    while (Date.now() < deadline) {
      ping = await fetch(`http://127.0.0.1:${admin}/admin/ping`).then(
        (r) => r.text(),
        () => "",
      );
      if (ping === "pong") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ping).toBe("pong");
    expect(await (await fetch(`http://127.0.0.1:${api}/api/1/dtabs`)).json()).toEqual(["default"]);
    expect((await fetch(`http://127.0.0.1:${admin}/admin/health`)).status).toBe(200);
    const dash = await (await fetch(`http://127.0.0.1:${admin}/`)).text();
    expect(dash).toContain("<title>namerd</title>");
    expect(
      (await fetch(`http://127.0.0.1:${admin}/admin/shutdown`, { method: "POST" })).status,
    ).toBe(200);
    expect(await exited).toBe(0);
  });
});
