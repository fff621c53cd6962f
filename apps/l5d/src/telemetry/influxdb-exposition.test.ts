import { MetricsRegistry } from "@l5d/h2-proxy";
import { describe, expect, it } from "vitest";
import { toInfluxLines } from "./influxdb-exposition.js";

describe("InfluxDB LINE exposition (io.l5d.influxdb)", () => {
  it("groups a scope's counters on one line, tags sorted, host from the request", () => {
    const m = new MetricsRegistry();
    m.counter("rt/incoming/server/127.0.0.1/4141/requests").incr();
    m.counter("rt/incoming/server/127.0.0.1/4141/success").incr(2);
    m.counter("rt/incoming/service/svc/foo/requests").incr();
    m.counter("rt/incoming/client/#/bar/requests").incr(3);
    m.counter("bas").incr();
    expect(toInfluxLines(m, "l5d:9990").split("\n")).toEqual([
      "root,host=l5d:9990 bas=1",
      "rt:client,client=/#/bar,host=l5d:9990,rt=incoming requests=3",
      "rt:server,host=l5d:9990,rt=incoming,server=127.0.0.1/4141 requests=1,success=2",
      "rt:service,host=l5d:9990,rt=incoming,service=/svc/foo requests=1",
      "",
    ]);
  });

  it("writes gauges as decimals and histograms as Linkerd's summary fields, none before a sample", () => {
    const m = new MetricsRegistry();
    let v = 1;
    m.gauge("foo/bar/bas", () => v);
    const h = m.histogram("foo/bar/lat");
    expect(toInfluxLines(m)).toBe("foo:bar,host=none bas=1.0\n");
    v = 2.5;
    h.add(1);
    h.add(2);
    const line = toInfluxLines(m);
    expect(line).toMatch(
      /^foo:bar,host=none bas=2\.5,lat_avg=1\.5,lat_count=2,lat_max=2,lat_min=1,lat_p50=\d,lat_p90=2,/,
    );
    expect(line).toMatch(/lat_p999=2,lat_p9999=2,lat_sum=3\n$/);
  });

  it("escapes commas, equals signs and spaces in tags", () => {
    const m = new MetricsRegistry();
    m.counter("rt/a b/service/svc/x=y,z/requests").incr();
    expect(toInfluxLines(m)).toBe(
      "rt:service,host=none,rt=a\\ b,service=/svc/x\\=y\\,z requests=1\n",
    );
  });
});
