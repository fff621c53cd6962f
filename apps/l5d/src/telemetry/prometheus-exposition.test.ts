import { MetricsRegistry } from "@l5d/h2-proxy";
import { describe, expect, it } from "vitest";
import { parseMetricName, toPrometheusText } from "./prometheus-exposition.js";
import { parsePrometheusText } from "./prometheus-parse.testkit.js";

describe("Prometheus exposition", () => {
  it("is valid text format with Linkerd's names and labels, grouped into typed families", () => {
    const m = new MetricsRegistry();
    m.counter("rt/outgoing/server/127.0.0.1/4140/requests").incr(3);
    m.counter("rt/incoming/server/127.0.0.1/4141/requests").incr(1);
    m.counter("rt/outgoing/service/svc/helloworld.Hello/requests").incr(2);
    m.counter("rt/outgoing/client/$/inet/127.0.0.1/7777/requests").incr(2);
    m.histogram("rt/outgoing/client/$/inet/127.0.0.1/7777/request_latency_ms").add(4);
    m.gauge("rt/outgoing/server/127.0.0.1/4140/connections", () => 2);
    m.gauge("jvm_like/odd-name", () => Number.NaN);
    const text = toPrometheusText(m);
    const families = parsePrometheusText(text);
    const req = families.get("rt:server:requests")!;
    expect(req.type).toBe("counter");
    expect(req.samples).toContainEqual({
      name: "rt:server:requests",
      labels: { rt: "outgoing", server: "127.0.0.1/4140" },
      value: 3,
    });
    expect(req.samples).toHaveLength(2);
    expect(families.get("rt:service:requests")!.samples[0]!.labels).toEqual({
      rt: "outgoing",
      service: "svc/helloworld.Hello",
    });
    const lat = families.get("rt:client:request_latency_ms")!;
    expect(lat.type).toBe("summary");
    expect(lat.samples).toContainEqual({
      name: "rt:client:request_latency_ms_count",
      labels: { rt: "outgoing", client: "$/inet/127.0.0.1/7777" },
      value: 1,
    });
    expect(lat.samples.find((s) => s.labels.quantile === "0.5")?.value).toBeCloseTo(4, 0);
    expect(families.get("rt:client:request_latency_ms_avg")!.type).toBe("gauge");
    expect(families.get("rt:server:connections")!.samples[0]!.value).toBe(2);
    // the registry reads a non-finite gauge as 0; the odd name is sanitised
    expect(families.get("jvm_like:odd_name")!.samples[0]!.value).toBe(0);
  });
});

describe("parseMetricName", () => {
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
    // sub-scopes stay in the name, out of the id (Linkerd: `rt:client:failure_accrual:removals`)
    expect(
      parseMetricName("rt/outgoing/client/#/io.l5d.fs/world/failure_accrual/removals"),
    ).toEqual({
      name: "rt:client:failure_accrual:removals",
      labels: [
        ["rt", "outgoing"],
        ["client", "#/io.l5d.fs/world"],
      ],
    });
    expect(
      parseMetricName(
        "rt/outgoing/client/#/io.l5d.fs/world/endpoint/10.0.0.7:8080/failure_accrual/dead",
      ),
    ).toEqual({
      name: "rt:client:endpoint:failure_accrual:dead",
      labels: [
        ["rt", "outgoing"],
        ["client", "#/io.l5d.fs/world"],
        ["endpoint", "10.0.0.7:8080"],
      ],
    });
    expect(parseMetricName("rt/outgoing/client/$/inet/127.0.0.1/7777/loadbalancer/size").name).toBe(
      "rt:client:loadbalancer:size",
    );
    expect(
      parseMetricName(
        "rt/outgoing/server/0.0.0.0/4140/failures/com.twitter.finagle.CancelledRequestException",
      ).name,
    ).toBe("rt:server:failures:com_twitter_finagle_CancelledRequestException");
    expect(parseMetricName("rt/outgoing/service/svc/world/retries/total")).toEqual({
      name: "rt:service:retries:total",
      labels: [
        ["rt", "outgoing"],
        ["service", "svc/world"],
      ],
    });
  });
});
