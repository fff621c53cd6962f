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
