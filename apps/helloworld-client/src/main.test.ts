import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type HelloWorldServer,
  type HelloWorldServerOptions,
  startHelloWorldServer,
} from "@l5d/helloworld";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

const servers: HelloWorldServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function server(opts: HelloWorldServerOptions): Promise<HelloWorldServer> {
  const s = await startHelloWorldServer({ addr: "127.0.0.1:0", protocol: "grpc", ...opts });
  servers.push(s);
  return s;
}

/** Runs the built client to completion (bounded by 20 s). */
function client(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(MAIN, args, {
      env: { PATH: process.env.PATH ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`client timed out: ${stdout} ${stderr}`));
    }, 20_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run pnpm build first`);
});

describe("helloworld-client binary", () => {
  it("prints hello -> world's reply and exits 0", async () => {
    const world = await server({ text: "world", podIp: "10.0.0.2" });
    const hello = await server({ text: "Hello", podIp: "10.0.0.1", target: world.address });
    expect(await client([hello.address])).toEqual({
      code: 0,
      stdout: "Hello (10.0.0.1) world (10.0.0.2)!!\n",
      stderr: "",
    });
  });

  it("-streaming prints the 5 replies", async () => {
    const world = await server({ text: "world" });
    const hello = await server({ text: "Hello", target: world.address });
    const r = await client(["-streaming", hello.address]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Hello world!!\n".repeat(5));
  });

  it("prints `rpc error: code = Unknown desc = server error` and exits 1", async () => {
    const hello = await server({ text: "Hello", failureRate: 1 });
    expect(await client([hello.address])).toEqual({
      code: 1,
      stdout: "",
      stderr: "rpc error: code = Unknown desc = server error\n",
    });
  });

  it("sees Unavailable when hello's downstream is down", async () => {
    const world = await server({ text: "world" });
    const dead = world.address;
    await world.close();
    const hello = await server({ text: "Hello", target: dead });
    const r = await client(["-timeout=5s", hello.address]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rpc error: code = Unavailable desc = /);
  });

  it("-timeout gives DeadlineExceeded on a slow server", async () => {
    const hello = await server({ text: "Hello", latencyMs: 2000 });
    const r = await client([hello.address, "-timeout", "100ms"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rpc error: code = DeadlineExceeded desc = /);
  });

  it("wrong usage prints the usage line and exits 1; a bad flag exits 2", async () => {
    const none = await client([]);
    expect(none.code).toBe(1);
    expect(none.stderr.split("\n")[0]).toBe("Usage: helloworld-client <host>:<port>");
    const two = await client(["a:1", "b:2"]);
    expect(two.code).toBe(1);
    const bad = await client(["-timeout=x", "a:1"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe('invalid value "x" for flag -timeout: parse error');
  });

  it("-n/-c load mode prints a summary; errors make it exit 1", async () => {
    const hello = await server({ text: "Hello" });
    const ok = await client(["-n", "50", "-c", "5", hello.address]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^requests: 50 {2}ok: 50 {2}errors: 0\nlatency ms: p50=[\d.]+ p90=[\d.]+ p99=[\d.]+ max=[\d.]+\nthroughput: [\d.]+ req\/s over [\d.]+ s\n$/,
    );
    const failing = await server({ text: "Hello", failureRate: 1 });
    const bad = await client(["-n=4", "-c=2", failing.address]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("requests: 4  ok: 0  errors: 4\nerrors by code: Unknown=4\n");
  });
});
