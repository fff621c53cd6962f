import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { callGreeting, formatRpcError } from "@l5d/helloworld";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | string | null>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal)),
  );
  const started = async (): Promise<string> => {
    for (let i = 0; i < 200; i++) {
      const m = /^starting gRPC server on (\S+)\n/m.exec(out);
      if (m) return m[1] as string;
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${err}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no startup line: ${out} ${err}`);
  };
  return { child, exited, started, stdout: () => out, stderr: () => err };
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run pnpm build first`);
});

describe("world binary", () => {
  it("serves helloworld.World with the manifest's args and env", async () => {
    const w = run(["-addr=127.0.0.1:0", "-protocol=grpc"], {
      TARGET_WORLD: "world",
      POD_IP: "10.196.1.243",
    });
    const addr = await w.started();
    expect(await callGreeting(addr, { service: "World" })).toBe("world (10.196.1.243)!");
    const wrong = await callGreeting(addr).catch((e: unknown) => formatRpcError(e));
    expect(wrong).toMatch(/^rpc error: code = Unimplemented desc = /);
  });

  it("defaults -text to `world`; TARGET_WORLD and -text override it", async () => {
    const a = run(["-addr=127.0.0.1:0", "-protocol=grpc"]);
    expect(await callGreeting(await a.started(), { service: "World" })).toBe("world!");
    const b = run(["-addr=127.0.0.1:0", "-protocol=grpc"], { TARGET_WORLD: "earth" });
    expect(await callGreeting(await b.started(), { service: "World" })).toBe("earth!");
    const c = run(["-addr=127.0.0.1:0", "-protocol=grpc", "-text=Hello"]);
    expect(await callGreeting(await c.started())).toBe("Hello!");
  });

  it("SIGTERM exits 0 after the shutdown line", async () => {
    const w = run(["-addr=127.0.0.1:0", "-protocol=grpc"]);
    const addr = await w.started();
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
    expect(w.stdout()).toBe(
      `starting gRPC server on ${addr}\nshutting down gRPC server on ${addr}\n`,
    );
  });

  it("rejects an unsupported protocol with exit 1", async () => {
    const w = run(["-protocol", "h3"]);
    expect(await w.exited).toBe(1);
    expect(w.stderr()).toBe("unsupported protocol: h3\n");
  });
});
