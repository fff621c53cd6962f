import { afterEach, describe, expect, it } from "vitest";
import { formatLoadSummary, percentile, runLoad } from "./load.js";
import { type HelloWorldServer, startHelloWorldServer } from "./server.js";

const servers: HelloWorldServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function hello(failureRate = 0): Promise<HelloWorldServer> {
  const s = await startHelloWorldServer({ addr: "127.0.0.1:0", text: "Hello", failureRate });
  servers.push(s);
  return s;
}

describe("runLoad", () => {
  it("sends N calls with C in flight and counts them", async () => {
    const s = await hello();
    const summary = await runLoad(s.address, { requests: 40, concurrency: 4 });
    expect(summary).toMatchObject({ requests: 40, ok: 40, errors: 0, errorsByCode: {} });
    expect(summary.latencyMs.p50).toBeGreaterThan(0);
    expect(summary.latencyMs.p50).toBeLessThanOrEqual(summary.latencyMs.p99);
    expect(summary.latencyMs.p99).toBeLessThanOrEqual(summary.latencyMs.max);
    expect(summary.requestsPerSecond).toBeGreaterThan(0);
  });

  it("counts errors by grpc-go code name, also for streaming calls", async () => {
    const s = await hello(1);
    const summary = await runLoad(s.address, { requests: 6, concurrency: 2, streaming: true });
    expect(summary).toMatchObject({ ok: 0, errors: 6, errorsByCode: { Unknown: 6 } });
    const text = formatLoadSummary(summary);
    expect(text).toContain("requests: 6  ok: 0  errors: 6\nerrors by code: Unknown=6\n");
    expect(text).toMatch(/latency ms: p50=\d+\.\d\d p90=\d+\.\d\d p99=\d+\.\d\d max=\d+\.\d\d\n/);
    expect(text).toMatch(/throughput: \d+\.\d req\/s over \d+\.\d{3} s\n$/);
  });

  it("counts Unavailable when nothing listens", async () => {
    const s = await hello();
    const address = s.address;
    await s.close();
    const summary = await runLoad(address, { requests: 3, concurrency: 3, timeoutMs: 5000 });
    expect(summary.errorsByCode).toEqual({ Unavailable: 3 });
  });
});

describe("percentile", () => {
  it("uses the nearest rank", () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 90)).toBe(90);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBe(0);
  });
});
