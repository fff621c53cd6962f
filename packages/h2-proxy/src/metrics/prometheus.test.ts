import { describe, expect, it } from "vitest";
import { MetricsRegistry } from "./metrics-registry.js";
import { parseMetricName, toPrometheus } from "./prometheus.js";

describe("Prometheus exposition", () => {
  it("lifts router, server, service and client scopes into labels as Linkerd does", () => {
    expect(parseMetricName("rt/outgoing/server/0.0.0.0/4140/requests")).toEqual({
      name: "rt:server:requests",
      labels: [
        ["rt", "outgoing"],
        ["server", "0.0.0.0/4140"],
      ],
    });
    expect(parseMetricName("rt/outgoing/service/svc/helloworld.World/requests")).toEqual({
      name: "rt:service:requests",
      labels: [
        ["rt", "outgoing"],
        ["service", "svc/helloworld.World"],
      ],
    });
    expect(
      parseMetricName(
        "rt/incoming/client/%/io.l5d.k8s.localnode/10.196.1.5/#/io.l5d.k8s/default/grpc/world-v1/success",
      ).labels[1],
    ).toEqual(["client", "%/io.l5d.k8s.localnode/10.196.1.5/#/io.l5d.k8s/default/grpc/world-v1"]);
  });

  it("writes counters and histogram series", () => {
    const r = new MetricsRegistry();
    r.counter("rt/outgoing/server/0.0.0.0/4140/requests").incr(7);
    r.histogram("rt/outgoing/server/0.0.0.0/4140/request_latency_ms").add(3);
    const text = toPrometheus(r);
    expect(text).toContain('rt:server:requests{rt="outgoing", server="0.0.0.0/4140"} 7');
    expect(text).toContain(
      'rt:server:request_latency_ms_count{rt="outgoing", server="0.0.0.0/4140"} 1',
    );
    expect(text).toContain(
      'rt:server:request_latency_ms{rt="outgoing", server="0.0.0.0/4140", quantile="0.5"} 3',
    );
  });
});
