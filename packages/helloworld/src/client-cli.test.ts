import { type Metadata, Server, ServerCredentials } from "@grpc/grpc-js";
import { SvcResponse, type WorldServer, WorldService } from "@l5d/proto";
import { afterEach, describe, expect, it } from "vitest";
import { ClientUsageError, parseClientCommandLine, runClientCli } from "./client-cli.js";
import { GoFlagError } from "./go-flags.js";
import { type HelloWorldServer, startHelloWorldServer } from "./server.js";

const servers: HelloWorldServer[] = [];
const grpcServers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const s of grpcServers.splice(0)) s.forceShutdown();
});

/** A World stand-in that records the metadata of each call. */
async function recordingWorld(): Promise<{ address: string; seen: Metadata[] }> {
  const seen: Metadata[] = [];
  const server = new Server();
  const impl: WorldServer = {
    greeting(call, cb) {
      seen.push(call.metadata);
      cb(null, SvcResponse.create({ message: "world!" }));
    },
  };
  server.addService(WorldService, impl);
  grpcServers.push(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { address: `127.0.0.1:${port}`, seen };
}

async function hello(opts: { failureRate?: number; target?: string } = {}) {
  const s = await startHelloWorldServer({ addr: "127.0.0.1:0", text: "Hello", ...opts });
  servers.push(s);
  return s;
}

async function run(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runClientCli({
    argv,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

describe("parseClientCommandLine", () => {
  it("parses flags before or after the address", () => {
    expect(parseClientCommandLine(["localhost:4140"])).toEqual({
      target: "localhost:4140",
      streaming: false,
      timeoutMs: 0,
      load: undefined,
      metadata: [],
    });
    expect(
      parseClientCommandLine([
        "-streaming",
        "h:1",
        "-timeout=2s",
        "-metadata",
        "L5d-Dtab=/grpc/World=>/srv/world-v2",
        "-n",
        "10",
      ]),
    ).toEqual({
      target: "h:1",
      streaming: true,
      timeoutMs: 2000,
      load: { requests: 10, concurrency: 1 },
      metadata: [["l5d-dtab", "/grpc/World=>/srv/world-v2"]],
    });
  });

  it("rejects a missing or extra address, bad metadata, and -n 0", () => {
    expect(() => parseClientCommandLine([])).toThrow(ClientUsageError);
    expect(() => parseClientCommandLine(["a:1", "b:2"])).toThrow(ClientUsageError);
    expect(() => parseClientCommandLine(["-metadata=novalue", "a:1"])).toThrow(GoFlagError);
    expect(() => parseClientCommandLine(["-n=0", "a:1"])).toThrow(GoFlagError);
  });
});

describe("runClientCli", () => {
  it("prints the reply and returns 0", async () => {
    const s = await hello();
    expect(await run([s.address])).toEqual({ code: 0, stdout: "Hello!\n", stderr: "" });
  });

  it("-streaming prints the 5 replies on their own lines", async () => {
    const s = await hello();
    const r = await run(["-streaming", s.address]);
    expect(r).toEqual({ code: 0, stdout: "Hello!\n".repeat(5), stderr: "" });
  });

  it("prints grpc-go's error format and returns 1", async () => {
    const s = await hello({ failureRate: 1 });
    expect(await run([s.address])).toEqual({
      code: 1,
      stdout: "",
      stderr: "rpc error: code = Unknown desc = server error\n",
    });
  });

  it("prints usage and returns 1 on a wrong argument count, 2 on a bad flag", async () => {
    const none = await run([]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^Usage: helloworld-client <host>:<port>\n {2}-c int\n/);
    const bad = await run(["-bogus", "a:1"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^flag provided but not defined: -bogus\nUsage: helloworld-client/);
  });

  it("-n/-c prints a summary and returns 1 when any call failed", async () => {
    const ok = await hello();
    const r = await run(["-n", "20", "-c", "4", ok.address]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^requests: 20 {2}ok: 20 {2}errors: 0\nlatency ms: p50=/);
    const failing = await hello({ failureRate: 1 });
    const f = await run(["-n=3", failing.address]);
    expect(f.code).toBe(1);
    expect(f.stdout).toContain("errors by code: Unknown=3\n");
  });

  it("-metadata sends extra metadata; hello forwards the l5d-ctx-* keys to world", async () => {
    const world = await recordingWorld();
    const s = await hello({ target: world.address });
    const r = await run([
      "-metadata",
      "l5d-ctx-dtab=/grpc/World=>/srv/world-v2",
      "-metadata=l5d-dtab=/x=>/y",
      s.address,
    ]);
    expect(r).toEqual({ code: 0, stdout: "Hello world!!\n", stderr: "" });
    expect(world.seen).toHaveLength(1);
    expect(world.seen[0]?.get("l5d-ctx-dtab")).toEqual(["/grpc/World=>/srv/world-v2"]);
    expect(world.seen[0]?.get("l5d-dtab")).toEqual([]);
  });
});
