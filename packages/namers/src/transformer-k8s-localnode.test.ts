import { applyTransformer, Path } from "@l5d/dtab";
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
import { K8sConfigError } from "./k8s-errors.js";
import { k8sNamerFactories, k8sTransformerFactories, localNodeSchema } from "./k8s-plugins.js";
import { localNodeTransformer } from "./transformer-k8s-localnode.js";

const ctx = testBuildContext;

describe("io.l5d.k8s.localnode transformer", () => {
  const cleanup: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup.length = 0;
  });

  const setup = () => startTutorialNamer(cleanup);

  it("keeps only addresses in POD_IP's /24, with the tutorial's client id; updates live", async () => {
    const { s, namer } = await setup();
    const t = localNodeTransformer({ env: { POD_IP: "10.1.2.2" } });
    const sum = summary(applyTransformer(t, boundTree(namer, "/default/grpc/Hello/helloworld")));
    const c = sum.observe(() => {});
    cleanup.unshift(() => c.close());
    expect(await waitFor(sum, bound("10.1.2.5:7777"))).toMatchObject({
      id: "/%/io.l5d.k8s.localnode/10.1.2.2/#/io.l5d.k8s/default/grpc/hello",
      residual: "/helloworld",
    });
    // The node-B pod moves to node C → nothing local → neg; one comes back → bound.
    s.delete("Pod", "default", "hello-b");
    s.apply(pod({ name: "hello-c", labels: { app: "hello" }, ip: "10.1.3.5", nodeName: "node-c" }));
    await waitFor(sum, addrNeg);
    s.apply(
      pod({ name: "hello-b3", labels: { app: "hello" }, ip: "10.1.2.7", nodeName: "node-b" }),
    );
    await waitFor(sum, bound("10.1.2.7:7777"));
  });

  it("hostNetwork: keeps addresses whose nodeName is NODE_NAME", async () => {
    const { namer } = await setup();
    const t = localNodeTransformer({ env: { NODE_NAME: "node-a" }, hostNetwork: true });
    expect(t.prefix.show).toBe("/io.l5d.k8s.localnode/node-a");
    const sum = summary(applyTransformer(t, boundTree(namer, "/default/grpc/hello")));
    expect(await waitFor(sum, bound("10.1.1.5:7777"))).toMatchObject({
      id: "/%/io.l5d.k8s.localnode/node-a/#/io.l5d.k8s/default/grpc/hello",
    });
  });

  it("fails clearly at startup without POD_IP (or NODE_NAME with hostNetwork)", () => {
    const factory = k8sTransformerFactories.find((f) => f.kind === "io.l5d.k8s.localnode")!;
    const cfg = localNodeSchema.parse({ kind: "io.l5d.k8s.localnode" });
    expect(cfg.hostNetwork).toBe(false);
    expect(() => factory.make(cfg, ctx({}))).toThrow(K8sConfigError);
    expect(() => factory.make(cfg, ctx({}))).toThrow(/POD_IP/);
    expect(() => factory.make({ ...cfg, hostNetwork: true }, ctx({ POD_IP: "10.0.0.1" }))).toThrow(
      /NODE_NAME/,
    );
    const t = factory.make(cfg, ctx({ POD_IP: "10.1.2.2" })) as ReturnType<
      typeof localNodeTransformer
    >;
    expect(t.prefix.show).toBe("/io.l5d.k8s.localnode/10.1.2.2");
    expect(localNodeSchema.safeParse({ kind: "io.l5d.k8s.localnode", bogus: 1 }).success).toBe(
      false,
    );
  });

  it("namer plugin: tutorial config, defaults, mounted at /#/io.l5d.k8s", async () => {
    const { s } = await setup();
    const factory = k8sNamerFactories[0]!;
    const cfg = factory.schema.parse({
      kind: "io.l5d.k8s",
      experimental: true,
      host: "localhost",
      port: 8001,
    });
    expect(cfg).toMatchObject({
      prefix: "/io.l5d.k8s",
      host: "localhost",
      port: 8001,
      inCluster: false,
      useEndpointSlices: false,
    });
    expect(factory.schema.safeParse({ kind: "io.l5d.k8s", port: 0 }).success).toBe(false);
    expect(factory.schema.safeParse({ kind: "io.l5d.k8s", prefix: "nope" }).success).toBe(false);
    const closers: (() => void | Promise<void>)[] = [];
    cleanup.push(async () => {
      for (const f of closers) await f();
    });
    const mounted = factory.make(
      factory.schema.parse({ kind: "io.l5d.k8s", host: "127.0.0.1", port: s.port, prefix: "/k8s" }),
      ctx({}, closers),
    );
    expect(mounted.prefix.show).toBe("/#/k8s");
    const sum = summary(mounted.namer.lookup(Path.read("/default/grpc/hello")));
    expect(await waitFor(sum, (x) => x.state === "bound")).toMatchObject({
      id: "/#/k8s/default/grpc/hello",
    });
    expect(closers).toHaveLength(1);
  });
});
