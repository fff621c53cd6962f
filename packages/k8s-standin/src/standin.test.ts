import { afterEach, describe, expect, it } from "vitest";
import { endpoints, pod, service } from "./builders.js";
import { parseFixtures } from "./fixtures.js";
import { type Standin, startStandin } from "./standin.js";

interface WatchLine {
  type: string;
  object: { kind?: string; code?: number; metadata?: { name?: string; resourceVersion?: string } };
}

/** Reads watch lines until `until` returns true, the stream ends, or 5 s pass. */
async function readWatch(
  url: string,
  until: (lines: WatchLine[]) => boolean,
  headers: Record<string, string> = {},
): Promise<{ lines: WatchLine[]; ended: boolean }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 5000);
  const res = await fetch(url, { signal: ac.signal, headers });
  expect(res.status).toBe(200);
  const lines: WatchLine[] = [];
  let buf = "";
  let ended = false;
  const reader = res.body!.getReader();
  try {
    while (!until(lines)) {
      const { value, done } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      buf += Buffer.from(value).toString("utf8");
      let i = buf.indexOf("\n");
      while (i >= 0) {
        lines.push(JSON.parse(buf.slice(0, i)) as WatchLine);
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
      }
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return { lines, ended };
}

const hello = service({
  name: "hello",
  selector: { app: "hello" },
  ports: [{ name: "grpc", port: 7777 }],
  clusterIP: "None",
});

describe("k8s stand-in", () => {
  let s: Standin | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it("lists, gets and answers 404 Status objects", async () => {
    s = await startStandin({ objects: [hello] });
    const list = (await (await fetch(`${s.url}/api/v1/namespaces/default/services`)).json()) as {
      kind: string;
      metadata: { resourceVersion: string };
      items: { metadata: { name: string } }[];
    };
    expect(list.kind).toBe("ServiceList");
    expect(list.items.map((i) => i.metadata.name)).toEqual(["hello"]);
    expect(Number(list.metadata.resourceVersion)).toBe(s.resourceVersion);
    const all = (await (await fetch(`${s.url}/api/v1/endpoints`)).json()) as { items: unknown[] };
    expect(all.items).toHaveLength(1);
    const one = await fetch(`${s.url}/api/v1/namespaces/default/services/hello`);
    expect(((await one.json()) as { kind: string }).kind).toBe("Service");
    const missing = await fetch(`${s.url}/api/v1/namespaces/default/services/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ kind: "Status", code: 404, reason: "NotFound" });
    const nss = (await (await fetch(`${s.url}/api/v1/namespaces`)).json()) as {
      items: { metadata: { name: string } }[];
    };
    expect(nss.items.map((n) => n.metadata.name)).toEqual(["default"]);
    expect((await fetch(`${s.url}/api/v1/namespaces/default`)).status).toBe(200);
    expect((await fetch(`${s.url}/api/v1/namespaces/other/services`)).status).toBe(200);
    expect((await fetch(`${s.url}/api/v1/nothing`)).status).toBe(404);
  });

  it("derives Endpoints and EndpointSlices from Services and Pods like the controllers", async () => {
    s = await startStandin({ objects: [hello] });
    s.apply(pod({ name: "hello-a", labels: { app: "hello" }, ip: "10.1.1.5", nodeName: "node-a" }));
    s.apply(
      pod({
        name: "hello-b",
        labels: { app: "hello" },
        ip: "10.1.2.5",
        nodeName: "node-b",
        ready: false,
      }),
    );
    s.apply(pod({ name: "other", labels: { app: "world" }, ip: "10.1.1.9", nodeName: "node-a" }));
    const ep = s.get("Endpoints", "default", "hello") as unknown as {
      subsets: {
        addresses: { ip: string; nodeName: string }[];
        notReadyAddresses: { ip: string }[];
        ports: unknown[];
      }[];
    };
    expect(ep.subsets).toHaveLength(1);
    expect(ep.subsets[0]?.addresses.map((a) => [a.ip, a.nodeName])).toEqual([
      ["10.1.1.5", "node-a"],
    ]);
    expect(ep.subsets[0]?.notReadyAddresses.map((a) => a.ip)).toEqual(["10.1.2.5"]);
    expect(ep.subsets[0]?.ports).toEqual([{ name: "grpc", port: 7777, protocol: "TCP" }]);

    const res = await fetch(
      `${s.url}/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=${encodeURIComponent("kubernetes.io/service-name=hello")}`,
    );
    const slices = (await res.json()) as {
      items: { endpoints: { addresses: string[]; conditions: { ready: boolean } }[] }[];
    };
    expect(slices.items).toHaveLength(1);
    expect(slices.items[0]?.endpoints.map((e) => [e.addresses[0], e.conditions.ready])).toEqual([
      ["10.1.1.5", true],
      ["10.1.2.5", false],
    ]);

    // A named targetPort resolves through the pod's container ports.
    s.apply(
      service({
        name: "named",
        selector: { app: "named" },
        ports: [{ name: "http", port: 80, targetPort: "web" }],
      }),
    );
    s.apply(
      pod({
        name: "n1",
        labels: { app: "named" },
        ip: "10.1.1.7",
        containerPorts: [{ name: "web", containerPort: 8080 }],
      }),
    );
    const named = s.get("Endpoints", "default", "named") as unknown as {
      subsets: { ports: { port: number }[] }[];
    };
    expect(named.subsets[0]?.ports[0]?.port).toBe(8080);

    // Deleting the Service deletes its Endpoints and slices; deleting the pods empties them.
    s.delete("Pod", "default", "hello-a");
    s.delete("Pod", "default", "hello-b");
    expect(s.get("Endpoints", "default", "hello")?.subsets).toBeUndefined();
    s.delete("Service", "default", "hello");
    expect(s.get("Endpoints", "default", "hello")).toBeUndefined();
    expect(
      s.list("EndpointSlice", "default").filter((e) => e.metadata.name.startsWith("hello")),
    ).toEqual([]);
  });

  it("watches: replays from a resourceVersion, then streams live changes", async () => {
    s = await startStandin({ objects: [hello] });
    const rv = s.resourceVersion;
    s.apply(pod({ name: "p1", labels: { app: "hello" }, ip: "10.0.0.1" }));
    const standin = s;
    const got = readWatch(
      `${s.url}/api/v1/namespaces/default/endpoints?watch=1&resourceVersion=${rv}`,
      (l) => l.length >= 2,
    );
    setTimeout(() => standin.delete("Service", "default", "hello"), 50);
    const { lines } = await got;
    expect(lines.map((l) => l.type)).toEqual(["MODIFIED", "DELETED"]);
    expect(Number(lines[1]?.object.metadata?.resourceVersion)).toBeGreaterThan(rv);
  });

  it("watch without a resourceVersion starts with ADDED for what exists; label selectors filter", async () => {
    s = await startStandin({
      objects: [hello, service({ name: "w", labels: { tier: "x" }, ports: [{ port: 1 }] })],
    });
    const { lines } = await readWatch(
      `${s.url}/api/v1/namespaces/default/services?watch=true&labelSelector=tier%3Dx`,
      (l) => l.length >= 1,
    );
    expect(lines.map((l) => [l.type, l.object.metadata?.name])).toEqual([["ADDED", "w"]]);
  });

  it("answers 410 Gone for too-old versions, and compactHistory expires open watches", async () => {
    s = await startStandin({ objects: [hello], historyLimit: 2 });
    const old = s.resourceVersion;
    for (let i = 0; i < 4; i++)
      s.apply(pod({ name: `p${i}`, labels: { app: "hello" }, ip: `10.0.0.${i + 1}` }));
    const gone = await readWatch(
      `${s.url}/api/v1/namespaces/default/pods?watch=1&resourceVersion=${old}`,
      () => false,
    );
    expect(gone.ended).toBe(true);
    expect(gone.lines).toEqual([
      { type: "ERROR", object: expect.objectContaining({ kind: "Status", code: 410 }) },
    ]);
    const list = await fetch(
      `${s.url}/api/v1/pods?resourceVersion=${old}&resourceVersionMatch=Exact`,
    );
    expect(list.status).toBe(410);

    const now = s.resourceVersion;
    const standin = s;
    const open = readWatch(
      `${s.url}/api/v1/namespaces/default/pods?watch=1&resourceVersion=${now}`,
      () => false,
    );
    setTimeout(() => standin.compactHistory(), 50);
    const expired = await open;
    expect(expired.lines.map((l) => [l.type, l.object.code])).toEqual([["ERROR", 410]]);
  });

  it("sends bookmarks when allowed and ends at timeoutSeconds", async () => {
    s = await startStandin({ bookmarkIntervalMs: 30 });
    const { lines, ended } = await readWatch(
      `${s.url}/api/v1/namespaces/default/endpoints?watch=1&resourceVersion=${s.resourceVersion}&allowWatchBookmarks=true&timeoutSeconds=1`,
      () => false,
    );
    expect(ended).toBe(true);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.type === "BOOKMARK")).toBe(true);
  });

  it("dropWatches cuts open watch connections", async () => {
    s = await startStandin({ objects: [hello] });
    const standin = s;
    const open = readWatch(
      `${s.url}/api/v1/namespaces/default/endpoints?watch=1`,
      () => false,
    ).catch((e: unknown) => e);
    // wait (bounded) for the watch to be registered: a fixed sleep is flaky on a loaded machine
    for (let i = 0; i < 200 && s.openWatches === 0; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(s.openWatches).toBe(1);
    standin.dropWatches();
    const out = await open;
    expect(s.openWatches).toBe(0);
    expect(out instanceof Error || (out as { ended: boolean }).ended).toBe(true);
  });

  it("requires the bearer token when configured", async () => {
    s = await startStandin({ token: "sekrit" });
    const denied = await fetch(`${s.url}/api/v1/namespaces`);
    expect(denied.status).toBe(401);
    const ok = await fetch(`${s.url}/api/v1/namespaces`, {
      headers: { authorization: "Bearer sekrit" },
    });
    expect(ok.status).toBe(200);
  });

  it("serves networking.k8s.io/v1 Ingresses: namespaced and cluster-wide list and watch", async () => {
    const ing = (name: string, namespace: string) => ({
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name, namespace },
      spec: { defaultBackend: { service: { name: "web", port: { number: 80 } } } },
    });
    s = await startStandin({ objects: [ing("a", "default"), ing("b", "other")] });
    const base = `${s.url}/apis/networking.k8s.io/v1`;
    const ns = (await (await fetch(`${base}/namespaces/default/ingresses`)).json()) as {
      kind: string;
      apiVersion: string;
      items: { metadata: { name: string } }[];
    };
    expect(ns.kind).toBe("IngressList");
    expect(ns.apiVersion).toBe("networking.k8s.io/v1");
    expect(ns.items.map((i) => i.metadata.name)).toEqual(["a"]);
    const all = (await (await fetch(`${base}/ingresses`)).json()) as {
      metadata: { resourceVersion: string };
      items: { metadata: { name: string; namespace: string } }[];
    };
    expect(all.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`).sort()).toEqual([
      "default/a",
      "other/b",
    ]);
    const from = all.metadata.resourceVersion;
    const watching = readWatch(
      `${base}/ingresses?watch=true&resourceVersion=${from}`,
      (l) => l.length >= 2,
    );
    for (let i = 0; i < 200 && s.openWatches === 0; i++)
      await new Promise((r) => setTimeout(r, 25));
    s.apply(ing("c", "third"));
    expect(s.delete("ing", "default", "a")).toBe(true);
    const { lines } = await watching;
    expect(lines.map((l) => [l.type, l.object.kind, l.object.metadata?.name])).toEqual([
      ["ADDED", "Ingress", "c"],
      ["DELETED", "Ingress", "a"],
    ]);
    expect(s.delete("Namespace", undefined, "other")).toBe(true);
    expect(s.list("Ingress").map((o) => o.metadata.name)).toEqual(["c"]);
  });

  it("parses multi-document fixtures and List objects", () => {
    const objs = parseFixtures(
      "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: b}\n",
    );
    expect(objs.map((o) => [o.kind, o.metadata.name])).toEqual([
      ["Service", "a"],
      ["Pod", "b"],
    ]);
    expect(endpoints({ name: "x", subsets: [] }).kind).toBe("Endpoints");
  });
});
