import { describe, expect, it } from "vitest";
import { ApertureBalancer } from "./balancer-aperture.js";
import { EwmaBalancer } from "./balancer-ewma.js";
import { HeapBalancer } from "./balancer-heap.js";
import { RoundRobinBalancer } from "./balancer-round-robin.js";
import { Endpoint } from "./load-balancer.js";

const ep = (port: number, weight = 1) => new Endpoint("127.0.0.1", port, weight, {});

describe("EwmaBalancer", () => {
  it("moves load away from an endpoint whose latency is high", () => {
    let now = 1;
    const b = new EwmaBalancer(10_000, 5, Math.random, () => now);
    const fast = ep(1);
    const slow = ep(2);
    b.update([fast, slow]);
    const counts = new Map<Endpoint, number>([
      [fast, 0],
      [slow, 0],
    ]);
    for (let i = 0; i < 2000; i++) {
      const e = b.pick()!;
      counts.set(e, counts.get(e)! + 1);
      now += 1;
      b.record(e, e === fast ? 2 : 50);
    }
    expect(counts.get(fast)! / 2000).toBeGreaterThan(0.85);
  });

  it("honours weights and avoids unavailable endpoints", () => {
    const b = new EwmaBalancer();
    const a = ep(1);
    const dead = ep(2);
    dead.available = false;
    b.update([a, dead]);
    for (let i = 0; i < 50; i++) expect(b.pick()).toBe(a);
    a.available = false;
    expect(b.pick()).toBeDefined();
  });
});

describe("RoundRobinBalancer", () => {
  it("cycles through endpoints, weighted smoothly, skipping unavailable ones", () => {
    const b = new RoundRobinBalancer();
    const a = ep(1, 1);
    const c = ep(2, 2);
    const d = ep(3, 1);
    b.update([a, c, d]);
    const picks = Array.from({ length: 8 }, () => b.pick()!.port);
    expect(picks.filter((p) => p === 2)).toHaveLength(4);
    expect(picks.filter((p) => p === 1)).toHaveLength(2);
    d.available = false;
    for (let i = 0; i < 20; i++) expect(b.pick()!.port).not.toBe(3);
    a.available = false;
    c.available = false;
    expect(b.pick()).toBeDefined();
  });
});

describe("HeapBalancer", () => {
  it("always picks the least loaded endpoint per unit of weight", () => {
    const b = new HeapBalancer();
    const eps = [ep(1), ep(2), ep(3, 2)];
    b.update(eps);
    for (let i = 0; i < 400; i++) b.pick()!.inflight++;
    expect(eps[0]!.inflight).toBe(100);
    expect(eps[1]!.inflight).toBe(100);
    expect(eps[2]!.inflight).toBe(200);
  });
});

describe("ApertureBalancer", () => {
  it("widens under load and narrows when idle, never below minAperture", () => {
    let now = 1;
    const b = new ApertureBalancer({ smoothWindowMs: 100, minAperture: 1 }, Math.random, () => now);
    const eps = Array.from({ length: 6 }, (_, i) => ep(i + 1));
    b.update(eps);
    expect(b.aperture).toBe(1);
    for (let i = 0; i < 200; i++) {
      now += 10;
      b.pick()!.inflight += 1;
    }
    expect(b.aperture).toBe(6);
    for (const e of eps) e.inflight = 0;
    for (let i = 0; i < 200; i++) {
      now += 10;
      b.pick();
    }
    expect(b.aperture).toBe(1);
    const used = new Set(Array.from({ length: 50 }, () => b.pick()));
    expect(used.size).toBe(1);
  });
});
