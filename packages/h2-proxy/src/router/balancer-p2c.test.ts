import { describe, expect, it } from "vitest";
import { P2cBalancer } from "./balancer-p2c.js";
import { Endpoint } from "./load-balancer.js";

const ep = (port: number, inflight = 0, weight = 1) => {
  const e = new Endpoint("127.0.0.1", port, weight, {});
  e.inflight = inflight;
  return e;
};

describe("P2cBalancer", () => {
  it("returns undefined with no endpoints and the only one with one", () => {
    const b = new P2cBalancer();
    expect(b.pick()).toBeUndefined();
    const a = ep(1);
    b.update([a]);
    expect(b.pick()).toBe(a);
  });

  it("never picks the most loaded of two endpoints", () => {
    const b = new P2cBalancer();
    const idle = ep(1, 0);
    const busy = ep(2, 10);
    b.update([idle, busy]);
    for (let i = 0; i < 200; i++) expect(b.pick()).toBe(idle);
  });

  it("spreads load over equal endpoints", () => {
    const b = new P2cBalancer();
    const eps = [ep(1), ep(2), ep(3), ep(4)];
    b.update(eps);
    const counts = new Map<number, number>();
    for (let i = 0; i < 4000; i++) {
      const e = b.pick()!;
      counts.set(e.port, (counts.get(e.port) ?? 0) + 1);
      e.inflight++; // requests stay in flight: p2c must keep them balanced
    }
    for (const e of eps) expect(e.inflight).toBeGreaterThan(900);
  });

  it("weights load: a weight-2 endpoint carries about twice the in-flight requests", () => {
    const b = new P2cBalancer();
    const light = ep(1, 0, 1);
    const heavy = ep(2, 0, 2);
    b.update([light, heavy]);
    for (let i = 0; i < 3000; i++) b.pick()!.inflight++;
    expect(heavy.inflight / light.inflight).toBeGreaterThan(1.8);
    expect(heavy.inflight / light.inflight).toBeLessThan(2.2);
  });

  it("avoids unavailable endpoints, but still picks one when all are unavailable", () => {
    const b = new P2cBalancer();
    const dead = ep(1);
    dead.available = false;
    const live = ep(2, 100);
    b.update([dead, live]);
    for (let i = 0; i < 100; i++) expect(b.pick()).toBe(live);
    live.available = false;
    expect(b.pick()).toBeDefined();
  });
});
