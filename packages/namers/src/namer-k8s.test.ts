import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Closable, Path } from "@l5d/dtab";
import { pod, type Standin, service, startStandin } from "@l5d/k8s-standin";
import { afterEach, describe, expect, it } from "vitest";
import {
  bound,
  isNeg,
  summary,
  tutorialPods,
  tutorialServices,
  waitFor,
} from "./__tests__/k8s-fixtures.js";
import type { K8sConnection } from "./k8s-api.js";
import { K8sConfigError } from "./k8s-errors.js";
import { K8sNamer } from "./namer-k8s.js";

const FAST = { minMs: 5, maxMs: 40 };

describe("io.l5d.k8s namer against the API stand-in", () => {
  const cleanup: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup.length = 0;
  });

  async function setup(
    opts: {
      labelSelector?: string;
      useEndpointSlices?: boolean;
      objects?: Parameters<typeof startStandin>[0];
    } = {},
  ): Promise<{ s: Standin; namer: K8sNamer }> {
    const s = await startStandin({
      objects: [...tutorialServices(), ...tutorialPods()],
      ...opts.objects,
    });
    cleanup.push(() => s.close());
    const namer = new K8sNamer({
      connection: { mode: "proxy", host: "127.0.0.1", port: s.port },
      backoff: FAST,
      labelSelector: opts.labelSelector,
      useEndpointSlices: opts.useEndpointSlices,
    });
    cleanup.push(() => namer.close());
    return { s, namer };
  }

  /** Keeps a lookup observed for the test (as a router's binding cache would). */
  function hold(v: { observe(f: (x: unknown) => void): Closable }): void {
    const c = v.observe(() => {});
    cleanup.unshift(() => c.close());
  }

  it("resolves the tutorial's names, case-insensitively, with the residual and nodeName", async () => {
    const { namer } = await setup();
    const hello = await waitFor(
      summary(namer.lookup(Path.read("/default/grpc/Hello/helloworld"))),
      (x) => x.state !== "pending",
    );
    expect(hello).toEqual({
      state: "bound",
      id: "/#/io.l5d.k8s/default/grpc/hello",
      residual: "/helloworld",
      addrs: "10.1.1.5:7777,10.1.2.5:7777",
      nodes: "node-a,node-b",
    });
    const upper = await waitFor(
      summary(namer.lookup(Path.read("/DEFAULT/GRPC/World-V1/helloworld/Extra"))),
      (x) => x.state !== "pending",
    );
    expect(upper).toMatchObject({
      id: "/#/io.l5d.k8s/default/grpc/world-v1",
      residual: "/helloworld/Extra",
      addrs: "10.1.2.6:7778",
    });
    for (const missing of [
      "/default/grpc/world/helloworld",
      "/default/grpc",
      "/default/nope/hello",
      "/other/grpc/hello",
    ]) {
      expect(
        await waitFor(summary(namer.lookup(Path.read(missing))), (x) => x.state !== "pending"),
        missing,
      ).toEqual({ state: "neg" });
    }
  });

  it("maps port numbers through the Service (numeric and named targetPorts)", async () => {
    const { s, namer } = await setup();
    expect(
      await waitFor(
        summary(namer.lookup(Path.read("/default/7777/hello"))),
        (x) => x.state !== "pending",
      ),
    ).toMatchObject({
      id: "/#/io.l5d.k8s/default/7777/hello",
      addrs: "10.1.1.5:7777,10.1.2.5:7777",
    });
    expect(
      await waitFor(
        summary(namer.lookup(Path.read("/default/7778/hello"))),
        (x) => x.state !== "pending",
      ),
    ).toEqual({ state: "neg" });
    s.apply(
      service({
        name: "web",
        selector: { app: "web" },
        ports: [{ name: "http", port: 80, targetPort: "web" }],
      }),
    );
    s.apply(
      pod({
        name: "web-1",
        labels: { app: "web" },
        ip: "10.1.1.9",
        containerPorts: [{ name: "web", containerPort: 8080 }],
      }),
    );
    expect(
      await waitFor(summary(namer.lookup(Path.read("/default/80/web"))), bound("10.1.1.9:8080")),
    ).toMatchObject({ state: "bound" });
  });

  it("updates addresses in place; deleted Service → neg; no ready addresses → bound empty", async () => {
    const { s, namer } = await setup();
    const act = namer.lookup(Path.read("/default/grpc/hello"));
    const trees: unknown[] = [];
    const sub = act.observe((st) => trees.push(st));
    cleanup.unshift(() => sub.close());
    const sum = summary(act);
    hold(sum);
    await waitFor(sum, bound("10.1.1.5:7777,10.1.2.5:7777"));
    const treesBefore = trees.length;
    s.apply(pod({ name: "hello-c", labels: { app: "hello" }, ip: "10.1.3.5", nodeName: "node-c" }));
    await waitFor(sum, bound("10.1.1.5:7777,10.1.2.5:7777,10.1.3.5:7777"));
    expect(trees.length).toBe(treesBefore); // the tree did not change, only the Addr Var

    // Not ready → no addresses, still bound.
    for (const name of ["hello-a", "hello-b", "hello-c"]) {
      const p = s.get("Pod", "default", name)!;
      s.apply({
        ...p,
        status: { ...(p.status as object), conditions: [{ type: "Ready", status: "False" }] },
      });
    }
    await waitFor(sum, bound(""));
    // Scaled to zero → still bound, empty (the Service still declares the port).
    for (const name of ["hello-a", "hello-b", "hello-c"]) s.delete("Pod", "default", name);
    expect(await waitFor(sum, (x) => x.state === "bound")).toMatchObject({ addrs: "" });
    // Deleted Service → neg.
    s.delete("Service", "default", "hello");
    await waitFor(sum, isNeg);
    // Re-created → bound again.
    s.apply(tutorialServices()[0]!);
    s.apply(pod({ name: "hello-z", labels: { app: "hello" }, ip: "10.1.1.8", nodeName: "node-a" }));
    await waitFor(sum, bound("10.1.1.8:7777"));
  });

  it("follows a Service changing its port name", async () => {
    const { s, namer } = await setup();
    const grpc = summary(namer.lookup(Path.read("/default/grpc/world-v1")));
    const rpc = summary(namer.lookup(Path.read("/default/rpc/world-v1")));
    hold(grpc);
    hold(rpc);
    await waitFor(grpc, bound("10.1.2.6:7778"));
    await waitFor(rpc, isNeg);
    s.apply(
      service({
        name: "world-v1",
        selector: { app: "world-v1" },
        clusterIP: "None",
        ports: [{ name: "rpc", port: 7778 }],
      }),
    );
    await waitFor(grpc, isNeg);
    await waitFor(rpc, bound("10.1.2.6:7778"));
  });

  it("a deleted namespace → neg", async () => {
    const { s, namer } = await setup();
    s.apply(
      service({
        name: "svc",
        namespace: "temp",
        selector: { app: "x" },
        ports: [{ name: "http", port: 80 }],
      }),
    );
    s.apply(pod({ name: "x", namespace: "temp", labels: { app: "x" }, ip: "10.9.0.1" }));
    const sum = summary(namer.lookup(Path.read("/temp/http/svc")));
    hold(sum);
    await waitFor(sum, bound("10.9.0.1:80"));
    s.delete("Namespace", undefined, "temp");
    await waitFor(sum, isNeg);
  });

  it("resumes the watch from the last resourceVersion after a dropped connection", async () => {
    const { s, namer } = await setup();
    const sum = summary(namer.lookup(Path.read("/default/grpc/hello")));
    hold(sum);
    await waitFor(sum, bound("10.1.1.5:7777,10.1.2.5:7777"));
    const rv = s.resourceVersion;
    await waitFor(summaryWatches(s), (n) => n >= 2);
    s.dropWatches();
    s.apply(pod({ name: "hello-c", labels: { app: "hello" }, ip: "10.1.3.5", nodeName: "node-c" }));
    await waitFor(sum, bound("10.1.1.5:7777,10.1.2.5:7777,10.1.3.5:7777"));
    const epRequests = s.requests.filter((r) => r.path === "/api/v1/namespaces/default/endpoints");
    expect(epRequests.filter((r) => r.verb === "list")).toHaveLength(1);
    const resumed = epRequests
      .filter((r) => r.verb === "watch")
      .map((r) => Number(r.query.resourceVersion));
    expect(resumed.length).toBeGreaterThanOrEqual(2);
    expect(resumed.at(-1)).toBeLessThanOrEqual(rv);
    expect(resumed.at(-1)).toBeGreaterThan(1000);
  });

  it("re-lists after 410 Gone", async () => {
    const { s, namer } = await setup();
    const sum = summary(namer.lookup(Path.read("/default/grpc/hello")));
    hold(sum);
    await waitFor(sum, bound("10.1.1.5:7777,10.1.2.5:7777"));
    await waitFor(summaryWatches(s), (n) => n >= 2);
    s.compactHistory();
    s.apply(pod({ name: "hello-c", labels: { app: "hello" }, ip: "10.1.3.5", nodeName: "node-c" }));
    await waitFor(sum, bound("10.1.1.5:7777,10.1.2.5:7777,10.1.3.5:7777"));
    const lists = s.requests.filter(
      (r) => r.path === "/api/v1/namespaces/default/endpoints" && r.verb === "list",
    );
    expect(lists.length).toBeGreaterThanOrEqual(2);
    const ns = namer.state().namespaces[0]!;
    expect(ns.watches.endpoints?.stats.relists).toBeGreaterThanOrEqual(1);
  });

  it("reconnects with backoff when the API server goes away mid-watch", async () => {
    const { s, namer } = await setup();
    const sum = summary(namer.lookup(Path.read("/default/grpc/hello")));
    hold(sum);
    await waitFor(sum, bound("10.1.1.5:7777,10.1.2.5:7777"));
    const port = s.port;
    const rv = s.resourceVersion;
    await s.close();
    await new Promise((r) => setTimeout(r, 100)); // a few refused reconnects
    const s2 = await startStandin({
      port,
      initialResourceVersion: rv + 100,
      objects: [
        ...tutorialServices(),
        ...tutorialPods().filter((p) => p.metadata.name !== "hello-a"),
      ],
    });
    cleanup.push(() => s2.close());
    await waitFor(sum, bound("10.1.2.5:7777"));
    const st = namer.state().namespaces[0]!;
    expect(st.watches.endpoints?.stats.errors).toBeGreaterThanOrEqual(1);
  });

  it("labelSelector: names carry the label value as a 4th segment", async () => {
    const { s, namer } = await setup({ labelSelector: "version" });
    s.apply(
      service({
        name: "api",
        labels: { version: "v1" },
        selector: { app: "api", v: "1" },
        ports: [{ name: "http", port: 80 }],
      }),
    );
    s.apply(pod({ name: "api-1", labels: { app: "api", v: "1" }, ip: "10.1.1.20" }));
    const v1 = await waitFor(
      summary(namer.lookup(Path.read("/default/http/API/V1/rest"))),
      (x) => x.state !== "pending",
    );
    expect(v1).toMatchObject({
      id: "/#/io.l5d.k8s/default/http/api/v1",
      residual: "/rest",
      addrs: "10.1.1.20:80",
    });
    expect(
      await waitFor(
        summary(namer.lookup(Path.read("/default/http/api/v2"))),
        (x) => x.state !== "pending",
      ),
    ).toEqual({ state: "neg" });
    expect(
      await waitFor(
        summary(namer.lookup(Path.read("/default/http/api"))),
        (x) => x.state !== "pending",
      ),
    ).toEqual({ state: "neg" });
    const q = s.requests.find((r) => r.verb === "list" && r.path.endsWith("/endpoints"));
    expect(q?.query.labelSelector).toBe("version=v1");
  });

  it("useEndpointSlices: reads discovery.k8s.io/v1 EndpointSlices", async () => {
    const { s, namer } = await setup({ useEndpointSlices: true });
    const sum = summary(namer.lookup(Path.read("/default/grpc/Hello/helloworld")));
    hold(sum);
    expect(await waitFor(sum, bound("10.1.1.5:7777,10.1.2.5:7777"))).toMatchObject({
      id: "/#/io.l5d.k8s/default/grpc/hello",
      nodes: "node-a,node-b",
    });
    const p = s.get("Pod", "default", "hello-a")!;
    s.apply({
      ...p,
      status: { ...(p.status as object), conditions: [{ type: "Ready", status: "False" }] },
    });
    await waitFor(sum, bound("10.1.2.5:7777"));
    s.delete("Pod", "default", "hello-a");
    s.delete("Pod", "default", "hello-b");
    await waitFor(sum, bound(""));
    s.delete("Service", "default", "hello");
    await waitFor(sum, isNeg);
    expect(
      s.requests.some(
        (r) => r.path === "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
      ),
    ).toBe(true);
    expect(s.requests.some((r) => r.path === "/api/v1/namespaces/default/endpoints")).toBe(false);
  });

  it("inCluster: HTTPS with the service account's CA and bearer token", async () => {
    const dir = mkdtempSync(join(tmpdir(), "l5d-sa-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=kubernetes",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "ca.crt"),
      ],
      { stdio: "ignore" },
    );
    writeFileSync(join(dir, "token"), "sa-token-123");
    const { readFileSync } = await import("node:fs");
    const s = await startStandin({
      token: "sa-token-123",
      tls: { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "ca.crt")) },
      objects: [...tutorialServices(), ...tutorialPods()],
    });
    cleanup.push(() => s.close());
    const conn: K8sConnection = {
      mode: "inCluster",
      serviceAccountDir: dir,
      env: { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(s.port) },
    };
    const namer = new K8sNamer({ connection: conn, backoff: FAST });
    cleanup.push(() => namer.close());
    const sum = summary(namer.lookup(Path.read("/default/grpc/hello")));
    hold(sum);
    await waitFor(sum, bound("10.1.1.5:7777,10.1.2.5:7777"));
    s.apply(pod({ name: "hello-c", labels: { app: "hello" }, ip: "10.1.3.5", nodeName: "node-c" }));
    await waitFor(sum, bound("10.1.1.5:7777,10.1.2.5:7777,10.1.3.5:7777"));
    expect(s.requests.every((r) => r.status !== 401)).toBe(true);
    expect(namer.state().server).toBe(`https://127.0.0.1:${s.port}`);

    // A wrong token is refused (401) and the name stays pending.
    writeFileSync(join(dir, "token"), "wrong");
    const bad = new K8sNamer({ connection: conn, backoff: FAST });
    cleanup.push(() => bad.close());
    const badSum = summary(bad.lookup(Path.read("/default/grpc/hello")));
    hold(badSum);
    await waitFor(
      Varish(() => s.requests.filter((r) => r.status === 401).length),
      (n) => n >= 1,
    );
    expect(badSum.sample()).toEqual({ state: "pending" });

    expect(() => new K8sNamer({ connection: { mode: "inCluster", env: {} } })).toThrow(
      K8sConfigError,
    );
  });

  it("state() is a JSON-able snapshot of watched namespaces", async () => {
    const { namer } = await setup();
    const sum = summary(namer.lookup(Path.read("/default/grpc/hello")));
    hold(sum);
    await waitFor(sum, (x) => x.state === "bound");
    const st = JSON.parse(JSON.stringify(namer.state()));
    expect(st.namespaces[0].namespace).toBe("default");
    expect(st.namespaces[0].watches.endpoints.synced).toBe(true);
    expect(Object.keys(st.namespaces[0].services).sort()).toEqual(["hello", "l5d", "world-v1"]);
    expect(st.namespaces[0].endpoints.hello[0].ports[0]).toEqual({
      name: "grpc",
      port: 7777,
      protocol: "TCP",
    });
  });
});

/** Polls a number as a Var-like (for waiting on stand-in counters). */
function Varish(f: () => number) {
  return {
    sample: f,
    observe(cb: (n: number) => void) {
      cb(f());
      const t = setInterval(() => cb(f()), 10);
      return { close: () => clearInterval(t) };
    },
  };
}

function summaryWatches(s: Standin) {
  return Varish(() => s.openWatches);
}
