import { Addr, address, applyTransformer } from "@l5d/dtab";
import { pod } from "@l5d/k8s-standin";
import { afterEach, describe, expect, it } from "vitest";
import {
  addrNeg,
  bound,
  boundTree,
  startTutorialNamer,
  summary,
  testBuildContext,
  waitFor,
} from "./__tests__/k8s-fixtures.js";
import { daemonSetSchema, k8sTransformerFactories } from "./k8s-plugins.js";
import { daemonSetTransformer, selectGateways } from "./transformer-k8s-daemonset.js";

const ctx = testBuildContext;

describe("io.l5d.k8s.daemonset transformer", () => {
  const cleanup: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup.length = 0;
  });

  const setup = () => startTutorialNamer(cleanup);

  it("replaces destinations by the daemonset pods in the same /24, with the tutorial's client id", async () => {
    const { s, namer } = await setup();
    const t = daemonSetTransformer({
      namespace: "default",
      port: "incoming",
      service: "l5d",
      namer,
    });
    expect(t.prefix.show).toBe("/io.l5d.k8s.daemonset/default/incoming/l5d");
    const sum = summary(applyTransformer(t, boundTree(namer, "/default/grpc/Hello/helloworld")));
    const c = sum.observe(() => {});
    cleanup.unshift(() => c.close());
    expect(await waitFor(sum, bound("10.1.1.2:4141,10.1.2.2:4141"))).toMatchObject({
      id: "/%/io.l5d.k8s.daemonset/default/incoming/l5d/#/io.l5d.k8s/default/grpc/hello",
      residual: "/helloworld",
    });
    // world-v1 runs only on node B.
    const world = summary(applyTransformer(t, boundTree(namer, "/default/grpc/world-v1")));
    expect(await waitFor(world, bound("10.1.2.2:4141"))).toMatchObject({
      id: "/%/io.l5d.k8s.daemonset/default/incoming/l5d/#/io.l5d.k8s/default/grpc/world-v1",
    });

    // A pod moves from node A to node C (no l5d there yet): only node B's gateway is left.
    s.delete("Pod", "default", "hello-a");
    s.apply(pod({ name: "hello-c", labels: { app: "hello" }, ip: "10.1.3.5", nodeName: "node-c" }));
    await waitFor(sum, bound("10.1.2.2:4141"));
    // The daemonset reaches node C: its gateway joins.
    s.apply(pod({ name: "l5d-c", labels: { app: "l5d" }, ip: "10.1.3.2", nodeName: "node-c" }));
    await waitFor(sum, bound("10.1.2.2:4141,10.1.3.2:4141"));
    // Two hello pods on node B give one (deduplicated) gateway.
    s.delete("Pod", "default", "hello-c");
    s.apply(
      pod({ name: "hello-b2", labels: { app: "hello" }, ip: "10.1.2.9", nodeName: "node-b" }),
    );
    await waitFor(sum, bound("10.1.2.2:4141"));
    // No gateway on the destinations' nodes → neg.
    s.delete("Pod", "default", "l5d-b");
    await waitFor(sum, addrNeg);
  });

  it("hostNetwork: matches gateways by nodeName", async () => {
    const { s, namer } = await setup();
    // With hostNetwork the l5d pods have node IPs, outside the pod /24s.
    s.delete("Pod", "default", "l5d-a");
    s.delete("Pod", "default", "l5d-b");
    s.apply(pod({ name: "l5d-a", labels: { app: "l5d" }, ip: "192.168.0.11", nodeName: "node-a" }));
    s.apply(pod({ name: "l5d-b", labels: { app: "l5d" }, ip: "192.168.0.12", nodeName: "node-b" }));
    const byNode = daemonSetTransformer({
      namespace: "default",
      port: "incoming",
      service: "l5d",
      namer,
      hostNetwork: true,
    });
    const bySubnet = daemonSetTransformer({
      namespace: "default",
      port: "incoming",
      service: "l5d",
      namer,
    });
    const sum = summary(applyTransformer(byNode, boundTree(namer, "/default/grpc/world-v1")));
    await waitFor(sum, bound("192.168.0.12:4141"));
    await waitFor(
      summary(applyTransformer(bySubnet, boundTree(namer, "/default/grpc/world-v1"))),
      addrNeg,
    );
  });

  it("selectGateways keeps pending/neg/failed and dedupes", () => {
    const g = Addr.bound([address("10.0.1.2", 4141), address("10.0.2.2", 4141)]);
    const d = Addr.bound([
      address("10.0.1.5", 7777),
      address("10.0.1.6", 7777),
      address("10.0.3.5", 7777),
    ]);
    const out = selectGateways(d, g, false);
    expect(out.type === "bound" && out.addrs.map((a) => a.host)).toEqual(["10.0.1.2"]);
    expect(selectGateways(Addr.pending, g, false)).toBe(Addr.pending);
    expect(selectGateways(d, Addr.neg, false)).toBe(Addr.neg);
    expect(selectGateways(Addr.bound([]), g, false)).toEqual(Addr.neg);
  });

  it("plugin: the tutorial's config parses with Linkerd's defaults and builds", async () => {
    const { s, namer } = await setup();
    const factory = k8sTransformerFactories.find((f) => f.kind === "io.l5d.k8s.daemonset")!;
    const cfg = daemonSetSchema.parse({
      kind: "io.l5d.k8s.daemonset",
      namespace: "default",
      port: "incoming",
      service: "l5d",
    });
    expect(cfg).toMatchObject({ hostNetwork: false, k8sHost: "localhost", k8sPort: 8001 });
    expect(
      daemonSetSchema.safeParse({
        kind: "io.l5d.k8s.daemonset",
        namespace: "default",
        port: "incoming",
      }).success,
    ).toBe(false);
    const closers: (() => void | Promise<void>)[] = [];
    cleanup.push(async () => {
      for (const f of closers) await f();
    });
    const t = factory.make(
      factory.schema.parse({ ...cfg, k8sHost: "127.0.0.1", k8sPort: s.port }),
      ctx({}, closers),
    ) as ReturnType<typeof daemonSetTransformer>;
    const sum = summary(applyTransformer(t, boundTree(namer, "/default/grpc/hello")));
    await waitFor(sum, bound("10.1.1.2:4141,10.1.2.2:4141"));
    expect(closers.length).toBe(1);
  });
});
