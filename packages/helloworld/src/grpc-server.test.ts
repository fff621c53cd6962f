import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { type SvcRequest, SvcResponse, type WorldServer, WorldService } from "@l5d/proto";
import { afterEach, describe, expect, it } from "vitest";
import { callGreeting, callStreamGreeting, createHelloClient } from "./client.js";
import { formatRpcError } from "./rpc-error.js";
import {
  type HelloWorldServer,
  type HelloWorldServerOptions,
  startHelloWorldServer,
} from "./server.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(opts: HelloWorldServerOptions): Promise<HelloWorldServer> {
  const s = await startHelloWorldServer({ addr: "127.0.0.1:0", protocol: "grpc", ...opts });
  cleanups.push(() => s.close());
  return s;
}

async function rpcError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return formatRpcError(err);
  }
  throw new Error("expected the call to fail");
}

/** A World stand-in that records what hello sends downstream. */
async function recordingWorld(): Promise<{
  address: string;
  calls: { metadata: Metadata; deadline: unknown }[];
}> {
  const calls: { metadata: Metadata; deadline: unknown }[] = [];
  const server = new Server();
  const impl: WorldServer = {
    greeting(call: ServerUnaryCall<SvcRequest, SvcResponse>, cb: sendUnaryData<SvcResponse>) {
      calls.push({ metadata: call.metadata, deadline: call.getDeadline() });
      cb(null, SvcResponse.create({ message: "stand-in!" }));
    },
  };
  server.addService(WorldService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  cleanups.push(() => server.forceShutdown());
  return { address: `127.0.0.1:${port}`, calls };
}

describe("gRPC hello/world server", () => {
  it("world alone answers World.Greeting with its text and registers only helloworld.World", async () => {
    const world = await start({ text: "world", podIp: "10.0.0.2" });
    expect(world.services).toEqual(["helloworld.World"]);
    expect(world.listenAddr).toBe(`127.0.0.1:${world.port}`);
    expect(await callGreeting(world.address, { service: "World" })).toBe("world (10.0.0.2)!");
    expect(await rpcError(callGreeting(world.address))).toMatch(
      /^rpc error: code = Unimplemented desc = /,
    );
  });

  it("hello registers only helloworld.Hello (any case of the text)", async () => {
    const hello = await start({ text: "HeLLo" });
    expect(hello.services).toEqual(["helloworld.Hello"]);
    expect(await callGreeting(hello.address)).toBe("HeLLo!");
    expect(await rpcError(callGreeting(hello.address, { service: "World" }))).toMatch(
      /code = Unimplemented/,
    );
  });

  it("hello -> world gives the tutorial's strings with and without POD_IP", async () => {
    const world = await start({ text: "world", podIp: "10.0.0.2" });
    const hello = await start({ text: "Hello", podIp: "10.0.0.1", target: world.address });
    expect(await callGreeting(hello.address)).toBe("Hello (10.0.0.1) world (10.0.0.2)!!");

    const world2 = await start({ text: "world" });
    const hello2 = await start({ text: "Hello", target: world2.address });
    expect(await callGreeting(hello2.address)).toBe("Hello world!!");
  });

  it("StreamGreeting sends 5 replies, each through the downstream", async () => {
    const world = await start({ text: "world" });
    const hello = await start({ text: "Hello", target: world.address });
    const seen: string[] = [];
    const replies = await callStreamGreeting(hello.address, { onMessage: (m) => seen.push(m) });
    expect(replies).toEqual(Array(5).fill("Hello world!!"));
    expect(seen).toEqual(replies);
  });

  it("failure rate 1.0 answers Unknown 'server error', on unary and streaming calls", async () => {
    const hello = await start({ text: "Hello", failureRate: 1 });
    expect(await rpcError(callGreeting(hello.address))).toBe(
      "rpc error: code = Unknown desc = server error",
    );
    expect(await rpcError(callStreamGreeting(hello.address))).toBe(
      "rpc error: code = Unknown desc = server error",
    );
  });

  it("passes a downstream failure through with its code and message", async () => {
    const world = await start({ text: "world", failureRate: 1 });
    const hello = await start({ text: "Hello", target: world.address });
    expect(await rpcError(callGreeting(hello.address))).toBe(
      "rpc error: code = Unknown desc = server error",
    );
  });

  it("a failure rate of 0.5 fails the calls whose random draw is below it", async () => {
    const draws = [0.9, 0.1, 0.6, 0.4];
    const hello = await start({
      text: "Hello",
      failureRate: 0.5,
      random: () => draws.shift() ?? 1,
    });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(await callGreeting(hello.address).catch((e: unknown) => formatRpcError(e)));
    }
    expect(outcomes).toEqual([
      "Hello!",
      "rpc error: code = Unknown desc = server error",
      "Hello!",
      "rpc error: code = Unknown desc = server error",
    ]);
  });

  it("latency delays each reply; a shorter client deadline gives DeadlineExceeded", async () => {
    const hello = await start({ text: "Hello", latencyMs: 150 });
    const t0 = performance.now();
    expect(await callGreeting(hello.address)).toBe("Hello!");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(await rpcError(callGreeting(hello.address, { timeoutMs: 30 }))).toMatch(
      /^rpc error: code = DeadlineExceeded desc = /,
    );
  });

  it("a downstream that is down gives the client Unavailable", async () => {
    const world = await start({ text: "world" });
    const deadAddress = world.address;
    await world.close();
    const hello = await start({ text: "Hello", target: deadAddress });
    expect(await rpcError(callGreeting(hello.address, { timeoutMs: 5000 }))).toMatch(
      /^rpc error: code = Unavailable desc = /,
    );
  });

  it("copies l5d-ctx-* metadata (any case) and the deadline onto the downstream call", async () => {
    const world = await recordingWorld();
    const hello = await start({ text: "Hello", target: world.address });
    const reply = await callGreeting(hello.address, {
      timeoutMs: 20_000,
      metadata: [
        ["l5d-ctx-dtab", "/grpc/World=>/srv/world-v2"],
        ["L5D-Ctx-Trace", "abc"],
        ["l5d-ctx-trace", "def"],
        ["l5d-dtab", "/not/copied=>/x"],
        ["x-other", "nope"],
      ],
    });
    expect(reply).toBe("Hello stand-in!!");
    expect(world.calls).toHaveLength(1);
    const { metadata, deadline } = world.calls[0]!;
    expect(metadata.get("l5d-ctx-dtab")).toEqual(["/grpc/World=>/srv/world-v2"]);
    // node:http2 joins a repeated header into one value on the receiving side
    expect(metadata.get("l5d-ctx-trace").join(", ")).toBe("abc, def");
    expect(metadata.get("l5d-dtab")).toEqual([]);
    expect(metadata.get("x-other")).toEqual([]);
    // grpc-js reports a server call's deadline as a Date or epoch milliseconds
    const left = (deadline instanceof Date ? deadline.getTime() : Number(deadline)) - Date.now();
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(20_000);
  });

  it("without an incoming deadline the downstream call has none", async () => {
    const world = await recordingWorld();
    const hello = await start({ text: "Hello", target: world.address });
    await callGreeting(hello.address);
    expect(world.calls[0]?.deadline).toBe(Number.POSITIVE_INFINITY);
  });

  it("shutdown lets an in-flight call complete, then refuses new connections", async () => {
    // 1 s of latency: the in-flight call is still running when shutdown starts even when a
    // loaded CI machine runs the 100 ms timer late (with 300 ms it once finished first)
    const hello = await start({ text: "Hello", latencyMs: 1000 });
    const client = createHelloClient(hello.address);
    cleanups.push(() => client.close());
    expect(await callGreeting(client)).toBe("Hello!"); // connected before the in-flight call
    const inFlight = callGreeting(client);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    await hello.shutdown();
    expect(performance.now() - t0).toBeGreaterThan(100);
    expect(await inFlight).toBe("Hello!");
    expect(await rpcError(callGreeting(hello.address, { timeoutMs: 2000 }))).toMatch(
      /code = (Unavailable|DeadlineExceeded)/,
    );
  });

  it("shutdown cancels calls still running after shutdownTimeoutMs", async () => {
    const hello = await start({ text: "Hello", latencyMs: 5000, shutdownTimeoutMs: 100 });
    const inFlight = rpcError(callGreeting(hello.address));
    await new Promise((r) => setTimeout(r, 100));
    await hello.shutdown();
    expect(await inFlight).toMatch(/code = (Unavailable|Cancelled|Canceled|Internal)/);
  });
});
