import { afterEach, describe, expect, it } from "vitest";
import { callGreeting } from "./client.js";
import { GoFlagError } from "./go-flags.js";
import type { HelloWorldServer } from "./server.js";
import { parseServerCommandLine, runServerCli, UnsupportedProtocolError } from "./server-cli.js";

const servers: HelloWorldServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

function capture() {
  const out = { stdout: "", stderr: "" };
  return {
    out,
    io: {
      stdout: (t: string) => {
        out.stdout += t;
      },
      stderr: (t: string) => {
        out.stderr += t;
      },
    },
  };
}

describe("parseServerCommandLine", () => {
  it("applies the original defaults (protocol http, addr :7777, text Hello)", () => {
    expect(parseServerCommandLine([], {})).toEqual({
      addr: ":7777",
      text: "Hello",
      podIp: undefined,
      target: undefined,
      latencyMs: 0,
      failureRate: 0,
      json: false,
      protocol: "http",
      httpProxy: undefined,
    });
  });

  it("reads the manifests' flags and env: TARGET_WORLD replaces the text, POD_IP is kept", () => {
    const world = parseServerCommandLine(["-addr=:7778", "-protocol=grpc"], {
      TARGET_WORLD: "world",
      POD_IP: "10.196.1.243",
    });
    expect(world).toMatchObject({
      addr: ":7778",
      text: "world",
      podIp: "10.196.1.243",
      protocol: "grpc",
    });
    const hello = parseServerCommandLine(
      ["--addr", ":7777", "-text=Hello", "-target", "node-1:4140", "-protocol", "grpc"],
      { TARGET_WORLD: "", http_proxy: "node-1:4140" },
    );
    expect(hello).toMatchObject({ text: "Hello", target: "node-1:4140", httpProxy: "node-1:4140" });
    expect(
      parseServerCommandLine(["-latency=500ms", "-failure-rate=0.5", "-json"], {}),
    ).toMatchObject({ latencyMs: 500, failureRate: 0.5, json: true });
  });

  it("uses a configurable -text default (the world app's `world`)", () => {
    expect(parseServerCommandLine([], {}, { defaultText: "world" }).text).toBe("world");
    expect(parseServerCommandLine(["-text=earth"], {}, { defaultText: "world" }).text).toBe(
      "earth",
    );
  });

  it("rejects unknown protocols and bad flags", () => {
    expect(() => parseServerCommandLine(["-protocol=thrift"], {})).toThrow(
      new UnsupportedProtocolError("thrift"),
    );
    expect(() => parseServerCommandLine(["-latency=fast"], {})).toThrow(GoFlagError);
  });
});

describe("runServerCli", () => {
  it("starts a gRPC server and prints the startup line", async () => {
    const { out, io } = capture();
    const r = await runServerCli({
      ...io,
      argv: ["-addr=127.0.0.1:0", "-protocol=grpc"],
      env: { TARGET_WORLD: "world", POD_IP: "10.0.0.2" },
      handleSignals: false,
    });
    if (!("server" in r)) throw new Error(`exited ${r.exitCode}: ${out.stderr}`);
    servers.push(r.server);
    expect(out.stdout).toBe(`starting gRPC server on 127.0.0.1:${r.server.port}\n`);
    expect(await callGreeting(r.server.address, { service: "World" })).toBe("world (10.0.0.2)!");
  });

  it("prints the HTTP startup line in HTTP mode", async () => {
    const { out, io } = capture();
    const r = await runServerCli({
      ...io,
      argv: ["-addr=127.0.0.1:0"],
      env: {},
      handleSignals: false,
    });
    if (!("server" in r)) throw new Error(`exited ${r.exitCode}`);
    servers.push(r.server);
    expect(out.stdout).toBe(`starting HTTP server on 127.0.0.1:${r.server.port}\n`);
  });

  it("exits 1 with `unsupported protocol: <x>`", async () => {
    const { out, io } = capture();
    expect(await runServerCli({ ...io, argv: ["-protocol=udp"], env: {} })).toEqual({
      exitCode: 1,
    });
    expect(out.stderr).toBe("unsupported protocol: udp\n");
    expect(out.stdout).toBe("");
  });

  it("exits 2 with the error and usage on a bad flag, 0 on -h", async () => {
    const bad = capture();
    expect(await runServerCli({ ...bad.io, name: "hello", argv: ["-bogus"], env: {} })).toEqual({
      exitCode: 2,
    });
    expect(bad.out.stderr).toMatch(
      /^flag provided but not defined: -bogus\nUsage of hello:\n {2}-addr string\n/,
    );
    const help = capture();
    expect(await runServerCli({ ...help.io, argv: ["-h"], env: {} })).toEqual({ exitCode: 0 });
    expect(help.out.stderr).toContain(
      '-protocol string\n    \tAPI protocol: http or grpc (default "http")',
    );
  });

  it("exits 1 when the address is unusable", async () => {
    const { out, io } = capture();
    expect(await runServerCli({ ...io, argv: ["-addr=nope", "-protocol=grpc"], env: {} })).toEqual({
      exitCode: 1,
    });
    expect(out.stderr).toBe("listen tcp nope: missing port in address\n");
  });
});
