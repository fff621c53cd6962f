import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  callGreeting,
  callStreamGreeting,
  createHelloClient,
  formatRpcError,
} from "@l5d/helloworld";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | string | null>;
}

const procs: Proc[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (p.child.exitCode === null) p.child.kill("SIGKILL");
});

/** Runs the built binary (directly, as its `hello`/`helloworld` bin: shebang + exec bit). */
function run(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(MAIN, args, {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
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
  const p = { child, stdout: () => out, stderr: () => err, exited };
  procs.push(p);
  return p;
}

/** Waits (bounded) for the startup line and returns the bound `host:port`. */
async function started(p: Proc): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const m = /^starting (?:gRPC|HTTP) server on (\S+)\n/m.exec(p.stdout());
    if (m) return m[1] as string;
    if (p.child.exitCode !== null) throw new Error(`exited ${p.child.exitCode}: ${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no startup line; stdout=${p.stdout()} stderr=${p.stderr()}`);
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run pnpm build first`);
});

describe("hello binary", () => {
  it("hello -> world (same binary, TARGET_WORLD=world) with POD_IPs", async () => {
    const world = run(["-addr=127.0.0.1:0", "-protocol=grpc"], {
      TARGET_WORLD: "world",
      POD_IP: "10.0.0.2",
    });
    const worldAddr = await started(world);
    const hello = run(
      ["--addr", "127.0.0.1:0", "-text=Hello", `-target=${worldAddr}`, "-protocol", "grpc"],
      { POD_IP: "10.0.0.1" },
    );
    const helloAddr = await started(hello);
    expect(hello.stdout()).toBe(`starting gRPC server on ${helloAddr}\n`);
    expect(await callGreeting(helloAddr)).toBe("Hello (10.0.0.1) world (10.0.0.2)!!");
    expect(await callStreamGreeting(helloAddr)).toEqual(
      Array(5).fill("Hello (10.0.0.1) world (10.0.0.2)!!"),
    );
  });

  it("hello -> world without POD_IP gives `Hello world!!`", async () => {
    const world = run(["-addr=127.0.0.1:0", "-protocol=grpc"], { TARGET_WORLD: "world" });
    const hello = run(["-addr=127.0.0.1:0", `-target=${await started(world)}`, "-protocol=grpc"]);
    expect(await callGreeting(await started(hello))).toBe("Hello world!!");
  });

  it("-failure-rate=1.0 answers Unknown server error", async () => {
    const hello = run(["-addr=127.0.0.1:0", "-protocol=grpc", "-failure-rate=1.0"]);
    const addr = await started(hello);
    const err = await callGreeting(addr).then(
      () => "no error",
      (e: unknown) => formatRpcError(e),
    );
    expect(err).toBe("rpc error: code = Unknown desc = server error");
  });

  it("defaults to the HTTP protocol like the original", async () => {
    const p = run(["-addr=127.0.0.1:0", "-json"], { POD_IP: "10.0.0.1" });
    const addr = await started(p);
    expect(p.stdout()).toBe(`starting HTTP server on ${addr}\n`);
    const res = await fetch(`http://${addr}/`);
    expect(await res.json()).toEqual({ api_result: "Hello (10.0.0.1)" });
  });

  it("rejects an unsupported protocol with exit 1", async () => {
    const p = run(["-protocol=thrift"]);
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toBe("unsupported protocol: thrift\n");
    expect(p.stdout()).toBe("");
  });

  it("rejects bad flags with Go's message, usage and exit 2", async () => {
    const p = run(["-latency=soon"]);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toMatch(
      /^invalid value "soon" for flag -latency: parse error\nUsage of helloworld:\n/,
    );
    const q = run(["-nope"]);
    expect(await q.exited).toBe(2);
    expect(q.stderr()).toMatch(/^flag provided but not defined: -nope\n/);
  });

  it("exits 1 when the port is taken", async () => {
    const first = run(["-addr=127.0.0.1:0", "-protocol=grpc"]);
    const addr = await started(first);
    const second = run([`-addr=${addr}`, "-protocol=grpc"]);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).not.toBe("");
  });

  it("SIGTERM mid-call: prints the shutdown line, the call completes, exit 0", async () => {
    const p = run(["-addr=127.0.0.1:0", "-protocol=grpc", "-latency=800ms"]);
    const addr = await started(p);
    const client = createHelloClient(addr);
    try {
      // warm the connection up, so the in-flight call surely reached the server before the signal
      expect(await callGreeting(client)).toBe("Hello!");
      const call = callGreeting(client);
      await new Promise((r) => setTimeout(r, 300));
      p.child.kill("SIGTERM");
      expect(await call).toBe("Hello!");
      expect(await p.exited).toBe(0);
    } finally {
      client.close();
    }
    expect(p.stdout()).toBe(
      `starting gRPC server on ${addr}\nshutting down gRPC server on ${addr}\n`,
    );
  });

  it("SIGINT with nothing in flight exits 0 promptly", async () => {
    const p = run(["-addr=127.0.0.1:0", "-protocol=grpc"]);
    const addr = await started(p);
    p.child.kill("SIGINT");
    expect(await p.exited).toBe(0);
    expect(p.stdout()).toContain(`shutting down gRPC server on ${addr}\n`);
  });
});
