import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { grpcCall, grpcFrame, probe } from "./grpc.js";
import { HTTP1_BODY } from "./http1.js";
import { Http1ProbeError, probeH1 } from "./http1-run.js";
import { freePort, waitForPort } from "./net.js";
import { pacedLoad } from "./paced.js";
import { buildPacer, pacerLoad } from "./pacer.js";
import { sampleTrees } from "./proc.js";
import { Supervisor } from "./supervisor.js";

const benchDir = new URL("..", import.meta.url).pathname;
const empty = grpcFrame(new Uint8Array(0));

describe("backend, naive proxy and supervisor on loopback", () => {
  const sup = new Supervisor();
  afterEach(async () => {
    await sup.stopAll();
  });

  async function startBackend(): Promise<{ port: number; pid: number }> {
    const port = await freePort();
    const child = sup.spawn("backend", process.execPath, [
      join(benchDir, "backend.mjs"),
      String(port),
    ]);
    await waitForPort(port, 10_000, child);
    return { port, pid: child.pid };
  }

  it("the backend answers unary, stream and echo calls with grpc-status 0", async () => {
    const { port, pid } = await startBackend();
    const unary = await probe(port, "/helloworld.World/Greeting", empty, 1);
    expect(unary.messages[0]!.subarray(2).toString()).toBe("world!");
    const stream = await probe(port, "/bench.Bench/Stream", empty, 7, { "x-bench-count": "7" });
    expect(stream.messages).toHaveLength(7);
    const big = grpcFrame(Buffer.alloc(200_000, 1));
    const echo = await probe(port, "/bench.Bench/Echo", big, 1);
    expect(echo.messages[0]!.length).toBe(200_000);
    const unknown = await grpcCall(port, "/nope.Nope/Nope", empty);
    expect(unknown.grpcStatus).toBe("12");
    const usage = sampleTrees([pid]);
    expect(usage.pids).toContain(pid);
    expect(usage.rssKb).toBeGreaterThan(1000);
  });

  it("the naive proxy forwards calls, trailers included, and the paced client measures them", async () => {
    const backend = await startBackend();
    const port = await freePort();
    const proxy = sup.spawn("naive", process.execPath, [
      join(benchDir, "naive-proxy.mjs"),
      String(port),
      `127.0.0.1:${backend.port}`,
    ]);
    await waitForPort(port, 10_000, proxy);
    const r = await probe(port, "/bench.Bench/Stream", empty, 50, { "x-bench-count": "50" });
    expect(r.grpcStatus).toBe("0");
    const trailersOnly = await grpcCall(port, "/nope.Nope/Nope", empty);
    expect(trailersOnly.grpcStatus).toBe("12");
    const paced = await pacedLoad({
      port,
      path: "/helloworld.World/Greeting",
      body: empty,
      rate: 200,
      durationS: 0.5,
      connections: 2,
    });
    expect(paced.sent).toBe(100);
    expect(paced.ok).toBe(100);
    expect(paced.latenciesUs.every((l) => l > 0)).toBe(true);
  });

  it("the C paced generator sends every request on schedule and times each response", async () => {
    const backend = await startBackend();
    const dir = mkdtempSync(join(tmpdir(), "pacer-test-"));
    try {
      const built = buildPacer(dir);
      if (!("path" in built)) throw new Error(`cannot build pacer.c: ${built.reason}`);
      const r = await pacerLoad(built.path, {
        port: backend.port,
        path: "/helloworld.World/Greeting",
        body: empty,
        rate: 400,
        durationS: 0.5,
        connections: 3,
        drainMs: 2000,
      });
      expect(r.sent).toBe(200);
      expect(r.ok).toBe(200);
      expect(r.failed).toBe(0);
      expect(r.latenciesUs).toHaveLength(200);
      expect(r.latenciesUs.every((l) => l > 0 && l < 2_000_000)).toBe(true);
      // it kept to the schedule: 200 requests at 400/s take ~0.5 s, not a burst
      expect(r.achievedRps).toBeGreaterThan(250);
      expect(r.achievedRps).toBeLessThan(600);
      expect(r.lagUs.every((l) => l >= 0)).toBe(true);
      // a path the backend does not serve: answered (grpc-status 12), still timed as complete
      const unknown = await pacerLoad(built.path, {
        port: backend.port,
        path: "/nope.Nope/Nope",
        body: empty,
        rate: 100,
        durationS: 0.1,
        connections: 1,
        drainMs: 1000,
      });
      expect(unknown.ok).toBe(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the HTTP/1.1 backend answers 200 with its 10-byte body on a kept-alive connection", async () => {
    const port = await freePort();
    const child = sup.spawn("backend-http1", process.execPath, [
      join(benchDir, "backend-http1.mjs"),
      String(port),
    ]);
    await waitForPort(port, 10_000, child);
    await probeH1(port);
    const first = await fetch(`http://127.0.0.1:${port}/any/path?x=1`, {
      method: "POST",
      body: "x",
    });
    expect(first.status).toBe(200);
    expect(first.headers.get("content-length")).toBe("10");
    expect(first.headers.get("connection")).toBe("keep-alive");
    expect(await first.text()).toBe(HTTP1_BODY);
  });

  it("probeH1 rejects an answer that is not the backend's", async () => {
    const other = createServer((_req, res) => res.writeHead(502).end("bad gateway"));
    await new Promise<void>((r) => other.listen(0, "127.0.0.1", r));
    const addr = other.address();
    const port = typeof addr === "object" && addr ? addr.port : 0;
    try {
      await expect(probeH1(port)).rejects.toThrow(Http1ProbeError);
      await expect(probeH1(port)).rejects.toThrow(/HTTP 502/);
    } finally {
      other.close();
    }
    await expect(probeH1(await freePort())).rejects.toThrow(/ECONNREFUSED/);
  });

  it("stop() ends the process and stopAll() leaves nothing running", async () => {
    const { pid } = await startBackend();
    await startBackend();
    expect(sup.size).toBe(2);
    await sup.stopAll();
    expect(sup.size).toBe(0);
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
