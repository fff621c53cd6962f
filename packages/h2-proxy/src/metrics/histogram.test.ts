import { describe, expect, it } from "vitest";
import { Histogram } from "./histogram.js";
import { MetricsRegistry, scopeOf } from "./metrics-registry.js";

describe("Histogram", () => {
  it("reports percentiles within bucket precision", () => {
    const h = new Histogram();
    for (let i = 1; i <= 1000; i++) h.add(i);
    const s = h.snapshot();
    expect(s.count).toBe(1000);
    expect(s.sum).toBe(500500);
    expect(s.min).toBe(1);
    expect(s.max).toBe(1000);
    expect(s.p50).toBeGreaterThan(490);
    expect(s.p50).toBeLessThan(510);
    expect(s.p99).toBeGreaterThan(970);
    expect(s.p99).toBeLessThanOrEqual(1000);
    expect(s.p9999).toBe(1000);
  });

  it("is zero when empty and handles sub-microsecond values", () => {
    const h = new Histogram();
    expect(h.snapshot().p50).toBe(0);
    h.add(0);
    h.add(0.0001);
    expect(h.snapshot()).toMatchObject({ count: 2, min: 0, max: 0 });
  });
});

describe("MetricsRegistry", () => {
  it("flattens counters, gauges and histograms with Linkerd names", () => {
    const r = new MetricsRegistry();
    r.counter("rt/outgoing/server/0.0.0.0/4140/requests").incr(3);
    r.gauge("rt/outgoing/server/0.0.0.0/4140/connections", () => 2);
    r.histogram("rt/outgoing/service/svc/x/request_latency_ms").add(5);
    const j = r.toFlatJson();
    expect(j["rt/outgoing/server/0.0.0.0/4140/requests"]).toBe(3);
    expect(j["rt/outgoing/server/0.0.0.0/4140/connections"]).toBe(2);
    expect(j["rt/outgoing/service/svc/x/request_latency_ms.count"]).toBe(1);
    expect(j["rt/outgoing/service/svc/x/request_latency_ms.p50"]).toBe(5);
    r.removeScope("rt/outgoing/service/svc/x");
    expect(r.toFlatJson()["rt/outgoing/service/svc/x/request_latency_ms.count"]).toBeUndefined();
  });

  it("refuses a name reused with another type", () => {
    const r = new MetricsRegistry();
    r.counter("a");
    expect(() => r.histogram("a")).toThrow(/another type/);
  });

  it("strips the leading slash of ids", () => {
    expect(scopeOf("/svc/helloworld.Hello")).toBe("svc/helloworld.Hello");
    expect(scopeOf("/%/io.l5d.port/4141/#/io.l5d.fs/x")).toBe("%/io.l5d.port/4141/#/io.l5d.fs/x");
  });
});

describe("metrics from other processes", () => {
  it("a histogram merged from two halves' data equals the histogram of the whole", () => {
    const whole = new Histogram();
    const a = new Histogram();
    const b = new Histogram();
    for (let i = 1; i <= 2000; i++) {
      const v = (i * 7919) % 1000;
      whole.add(v);
      (i % 2 === 0 ? a : b).add(v);
    }
    const merged = new Histogram();
    merged.merge(JSON.parse(JSON.stringify(a.data())));
    merged.merge(JSON.parse(JSON.stringify(b.data())));
    expect(merged.snapshot()).toEqual(whole.snapshot());
  });

  it("an empty histogram's data merges as nothing (its min is not Infinity on the wire)", () => {
    const d = JSON.parse(JSON.stringify(new Histogram().data()));
    expect(d).toEqual({ buckets: [], count: 0, sum: 0, min: 0, max: 0 });
    const h = new Histogram();
    h.add(5);
    h.merge(d);
    expect(h.snapshot()).toMatchObject({ count: 1, min: 5, max: 5 });
  });

  it("a registry sums its sources' counters and gauges and merges their histograms", () => {
    const own = new MetricsRegistry();
    own.counter("rt/x/requests").incr(2);
    own.gauge("rt/x/connections", () => 1);
    const w1 = new MetricsRegistry();
    w1.counter("rt/x/requests").incr(3);
    w1.gauge("rt/x/connections", () => 4);
    w1.histogram("rt/x/latency_ms").add(10);
    const w2 = new MetricsRegistry();
    w2.counter("rt/x/requests").incr(5);
    w2.counter("rt/y/requests").incr(1);
    w2.histogram("rt/x/latency_ms").add(30);
    own.addSource(() => w1.data());
    own.addSource(() => w2.data());
    const flat = own.toFlatJson();
    expect(flat["rt/x/requests"]).toBe(10);
    expect(flat["rt/y/requests"]).toBe(1);
    expect(flat["rt/x/connections"]).toBe(5);
    expect(flat["rt/x/latency_ms.count"]).toBe(2);
    expect(flat["rt/x/latency_ms.min"]).toBe(10);
    expect(flat["rt/x/latency_ms.max"]).toBe(30);
    expect(own.entries().map((e) => e.name)).toEqual([
      "rt/x/connections",
      "rt/x/latency_ms",
      "rt/x/requests",
      "rt/y/requests",
    ]);
    // the registry's own data stays its own
    expect(own.data().find((d) => d.name === "rt/x/requests")).toEqual({
      name: "rt/x/requests",
      kind: "counter",
      value: 2,
    });
  });

  it("a gauge registered with combine 'max' takes the largest value across sources, not the sum", () => {
    const own = new MetricsRegistry();
    const w1 = new MetricsRegistry();
    const w2 = new MetricsRegistry();
    w1.gauge("rt/x/client/y/endpoints", () => 3, "max");
    w2.gauge("rt/x/client/y/endpoints", () => 2, "max");
    w1.gauge("rt/x/client/y/inflight", () => 3);
    w2.gauge("rt/x/client/y/inflight", () => 2);
    own.addSource(() => w1.data());
    own.addSource(() => w2.data());
    const flat = own.toFlatJson();
    expect(flat["rt/x/client/y/endpoints"]).toBe(3);
    expect(flat["rt/x/client/y/inflight"]).toBe(5);
  });
});
