/**
 * io.l5d.k8s against the API-server stand-in (@l5d/k8s-standin, which serves the dtabs.l5d.io
 * custom resource with the real list/watch/write protocol) on loopback: the wire shape Linkerd 1
 * stores, conditional replaces racing, writes by other clients, watch resumption and relists,
 * an API-server outage and restart, a server that never answers, in-cluster auth. Plus the
 * plugin's config keys.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Dtab, NameTree } from "@l5d/dtab";
import { type K8sObject, namespace, type Standin, startStandin } from "@l5d/k8s-standin";
import { afterEach, describe, expect, it } from "vitest";
import { writeSelfSignedCert } from "../__tests__/namerd-testkit.js";
import {
  captureLog,
  current,
  d1,
  d2,
  d3,
  eventually,
  showOf,
  startSilentServer,
} from "../__tests__/store-testkit.js";
import { parseNamerdConfig } from "../namerd-config.js";
import { createNamerdRegistries } from "../plugins.js";
import {
  DtabNamespaceAlreadyExistsError,
  DtabNamespaceDoesNotExistError,
  type DtabStore,
  DtabStoreUnavailableError,
  DtabVersionMismatchError,
} from "./dtab-store.js";
import { k8sStoreFactory, k8sStoreSchema } from "./k8s-plugin.js";
import { K8sDtabStore, type K8sDtabStoreOptions } from "./k8s-store.js";

const FAST = { minMs: 5, maxMs: 50 };
const DTABS = "/apis/l5d.io/v1alpha1/namespaces/default/dtabs";

/** A DTab object as Linkerd 1 writes it: `dentries` of {prefix, dst}. */
function dtabObject(name: string, dtab: Dtab, ns = "default"): K8sObject {
  return {
    apiVersion: "l5d.io/v1alpha1",
    kind: "DTab",
    metadata: { name, namespace: ns },
    dentries: dtab.dentries.map((d) => ({ prefix: d.prefix.show, dst: NameTree.show(d.dst) })),
  };
}

describe("io.l5d.k8s storage config", () => {
  it("gives Linkerd's defaults (localhost:8001, namespace default) and needs no experimental flag", () => {
    const r = parseNamerdConfig("storage:\n  kind: io.l5d.k8s\n", createNamerdRegistries());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.storage.kind).toBe("io.l5d.k8s");
    expect(r.config.storage.config).toEqual({
      kind: "io.l5d.k8s",
      host: "localhost",
      port: 8001,
      namespace: "default",
      inCluster: false,
    });
    const flagged = parseNamerdConfig(
      "storage:\n  kind: io.l5d.k8s\n  experimental: true\n  host: 127.0.0.1\n  port: 8002\n  namespace: linkerd\n",
      createNamerdRegistries(),
    );
    expect(flagged.ok).toBe(true);
    if (!flagged.ok) return;
    expect(flagged.config.storage.experimental).toBe(true);
    expect(flagged.config.storage.config).toMatchObject({
      host: "127.0.0.1",
      port: 8002,
      namespace: "linkerd",
    });
  });

  it("names bad keys by path", () => {
    const bad = parseNamerdConfig(
      "storage:\n  kind: io.l5d.k8s\n  hosts: [a]\n  port: 99999\n  namespace: Not_OK\n",
      createNamerdRegistries(),
    );
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    const byPath = Object.fromEntries(bad.errors.map((e) => [e.path, e.message]));
    expect(byPath["storage.hosts"]).toBe("unknown key");
    expect(byPath["storage.port"]).toBe("expected a port number (0-65535)");
    expect(byPath["storage.namespace"]).toMatch(/Kubernetes namespace name/);
  });
});

describe("K8sDtabStore against the API stand-in", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function standin(opts: Parameters<typeof startStandin>[0] = {}): Promise<Standin> {
    const s = await startStandin(opts);
    cleanup.push(() => s.close());
    return s;
  }

  function open(port: number, extra: Partial<K8sDtabStoreOptions> = {}): K8sDtabStore {
    const store = new K8sDtabStore({
      connection: { mode: "proxy", host: "127.0.0.1", port },
      backoff: FAST,
      requestTimeoutMs: 2_000,
      ...extra,
    });
    cleanup.push(() => store.close());
    return store;
  }

  /** Observes `ns` until it shows `show` (null: absent); returns its version. */
  async function sees(store: DtabStore, ns: string, show: string | null): Promise<string> {
    const a = store.observe(ns);
    const hold = a.observe(() => {});
    try {
      await eventually(`${ns} = ${show}`, () => showOf(a) === show);
    } finally {
      hold.close();
    }
    return current(a)?.version ?? "";
  }

  async function raw(s: Standin, method: string, path: string, body?: unknown) {
    const res = await fetch(`${s.url}${path}`, {
      method,
      signal: AbortSignal.timeout(5_000),
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    return { status: res.status, body: (await res.json()) as K8sObject };
  }

  it("creates, reads, lists, updates, puts and deletes DTab objects in Linkerd 1's shape, versioned by resourceVersion", async () => {
    const s = await standin();
    const store = open(s.port);
    await store.create("web", d1);
    const v1 = await sees(store, "web", d1.show);
    const obj = s.get("DTab", "default", "web");
    expect(obj).toMatchObject({
      apiVersion: "l5d.io/v1alpha1",
      kind: "DTab",
      metadata: { name: "web", namespace: "default" },
      dentries: [{ prefix: "/svc", dst: "/#/io.l5d.fs" }],
    });
    expect(v1).toBe(obj?.metadata.resourceVersion);
    expect(current(store.list())).toEqual(["web"]);
    await eventually("the watch to be up", () => store.healthy());

    await expect(store.create("web", d2)).rejects.toBeInstanceOf(DtabNamespaceAlreadyExistsError);
    await store.update("web", d2, v1);
    const v2 = await sees(store, "web", d2.show);
    expect(Number(v2)).toBeGreaterThan(Number(v1));
    const stale = await store.update("web", d3, v1).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(DtabVersionMismatchError);
    expect(stale).toMatchObject({ ns: "web", expected: v1, actual: v2 });
    await expect(store.update("web", d3, "not-a-version")).rejects.toMatchObject({
      name: "DtabVersionMismatchError",
      actual: v2,
    });
    await expect(store.update("nope", d3, v2)).rejects.toBeInstanceOf(
      DtabNamespaceDoesNotExistError,
    );

    await store.put("web", d3);
    await sees(store, "web", d3.show);
    await store.put("api", d1);
    await sees(store, "api", d1.show);
    expect(current(store.list())).toEqual(["api", "web"]);

    await store.delete("web");
    expect(await sees(store, "web", null)).toBe("");
    expect(s.get("DTab", "default", "web")).toBeUndefined();
    await expect(store.delete("web")).rejects.toBeInstanceOf(DtabNamespaceDoesNotExistError);
    expect(current(store.list())).toEqual(["api"]);
    // The whole state, as an admin page would show it.
    expect(store.state()).toMatchObject({
      namespace: "default",
      synced: true,
      dtabs: { api: { dtab: d1.show } },
    });
  });

  it("reads the DTab objects Linkerd 1 wrote (wildcards, alternates, weights) and reports one that does not parse", async () => {
    // As Linkerd 1's DtabCodec writes them: Dentry.Prefix.show and NameTree.show, as strings.
    const s = await standin({
      objects: [
        {
          apiVersion: "l5d.io/v1alpha1",
          kind: "DTab",
          metadata: { name: "default" },
          dentries: [
            { prefix: "/svc/*/x", dst: "/#/io.l5d.k8s/default/http | /$/fail" },
            { prefix: "/host", dst: "0.7*/a & 0.3*/b" },
            { prefix: "/ns", dst: "~" },
          ],
        },
        {
          apiVersion: "l5d.io/v1alpha1",
          kind: "DTab",
          metadata: { name: "broken" },
          dentries: [{ prefix: "not a path", dst: "/x" }],
        },
        { apiVersion: "l5d.io/v1alpha1", kind: "DTab", metadata: { name: "empty" } },
      ],
    });
    const { log, lines } = captureLog();
    const store = open(s.port, { log });
    const linkerd1 = Dtab.read(
      "/svc/*/x => /#/io.l5d.k8s/default/http | /$/fail; /host => 0.7*/a & 0.3*/b; /ns => ~",
    );
    expect(await sees(store, "default", linkerd1.show)).toBe(
      s.get("DTab", "default", "default")?.metadata.resourceVersion,
    );
    expect(await sees(store, "empty", "")).not.toBe("");
    const broken = store.observe("broken");
    await eventually("broken to fail", () => broken.sample().kind === "failed");
    const st = broken.sample();
    expect(st.kind === "failed" && st.error.message).toMatch(
      /^invalid dtab in DTab default\/broken/,
    );
    expect(lines.some((l) => l.level === "error" && /do not parse/.test(l.msg ?? ""))).toBe(true);
    expect(current(store.list())).toEqual(["broken", "default", "empty"]);
    // A namespace Kubernetes cannot name is refused before any request, and never exists.
    const before = s.requests.length;
    await expect(store.create("Not_A_Name", d1)).rejects.toThrow(/RFC 1123/);
    await expect(store.put("Not_A_Name", d1)).rejects.toThrow(/RFC 1123/);
    await expect(store.update("Not_A_Name", d1, "1")).rejects.toBeInstanceOf(
      DtabNamespaceDoesNotExistError,
    );
    await expect(store.delete("Not_A_Name")).rejects.toBeInstanceOf(DtabNamespaceDoesNotExistError);
    expect(s.requests.slice(before).filter((r) => r.verb !== "watch")).toEqual([]);
    expect(store.observe("Not_A_Name").sample()).toEqual({ kind: "ok", value: null });
  });

  it("concurrent updates from one version: exactly one wins, across two namerds", async () => {
    const s = await standin();
    const a = open(s.port);
    const b = open(s.port);
    await a.create("web", d1);
    const v = await sees(a, "web", d1.show);
    await sees(b, "web", d1.show);
    const candidates = [d2, d3, Dtab.read("/x=>/y"), Dtab.read("/x=>/z")];
    const results = await Promise.allSettled(
      candidates.map((d, i) => (i % 2 === 0 ? a : b).update("web", d, v)),
    );
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [candidates[i]!] : []));
    expect(won).toHaveLength(1);
    const stored = s.get("DTab", "default", "web")!;
    for (const r of results) {
      if (r.status === "rejected") {
        expect(r.reason).toBeInstanceOf(DtabVersionMismatchError);
        expect(r.reason).toMatchObject({ expected: v, actual: stored.metadata.resourceVersion });
      }
    }
    await sees(a, "web", won[0]!.show);
    await sees(b, "web", won[0]!.show);

    // put() is unconditional: racing puts read, replace, and read again after a conflict (at
    // least one: they all start in the same tick) until each lands.
    const puts = await Promise.allSettled(
      candidates.map((d, i) => (i % 2 === 0 ? a : b).put("web", d)),
    );
    expect(puts.map((p) => p.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
    const last = s.get("DTab", "default", "web")!;
    expect(candidates.map((d) => NameTree.show(d.dentries[0]!.dst))).toContain(
      (last.dentries as { dst: string }[])[0]?.dst,
    );
    expect(
      s.requests.filter((r) => r.verb === "update" && r.status === 409).length,
    ).toBeGreaterThan(3);
  });

  it("observers see what other clients write through the API, and replaces keep their labels", async () => {
    const s = await standin();
    const store = open(s.port);
    const web = store.observe("web");
    const hold = web.observe(() => {});
    cleanup.push(() => hold.close());
    await eventually("the first list", () => showOf(web) === null);

    const created = await raw(s, "POST", DTABS, {
      ...dtabObject("web", d1),
      metadata: { name: "web", labels: { team: "edge" } },
    });
    expect(created.status).toBe(201);
    await eventually("the raw create", () => showOf(web) === d1.show);
    expect(current(web)?.version).toBe(created.body.metadata.resourceVersion);
    await eventually("the list", () => current(store.list())?.join() === "web");

    const replaced = await raw(s, "PUT", `${DTABS}/web`, {
      ...created.body,
      dentries: [{ prefix: "/svc", dst: "/#/io.l5d.k8s/default/http" }],
    });
    expect(replaced.status).toBe(200);
    await eventually("the raw replace", () => showOf(web) === d2.show);

    // Our writes start from the object as read: kubectl's labels survive them.
    await store.update("web", d3, current(web)!.version);
    await store.put("web", d1);
    expect(s.get("DTab", "default", "web")?.metadata.labels).toEqual({ team: "edge" });
    // A namerd that has not read the object yet reads it first.
    const fresh = open(s.port);
    await fresh.update("web", d2, s.get("DTab", "default", "web")!.metadata.resourceVersion!);
    expect(s.get("DTab", "default", "web")?.metadata.labels).toEqual({ team: "edge" });
    await eventually("the other namerd's update", () => showOf(web) === d2.show);

    expect((await raw(s, "DELETE", `${DTABS}/web`)).status).toBe(200);
    await eventually("the raw delete", () => showOf(web) === null);
    expect(current(store.list())).toEqual([]);
    // Only one list: everything after it came over the watch.
    expect(s.requests.filter((r) => r.verb === "list")).toHaveLength(1);
  });

  it("resumes a dropped watch from the last version without listing again; relists after 410 Gone", async () => {
    const s = await standin({ objects: [dtabObject("web", d1)] });
    const store = open(s.port);
    await sees(store, "web", d1.show);
    await eventually("the watch", () => s.openWatches === 1 && store.healthy());
    s.apply(dtabObject("web", d2));
    await sees(store, "web", d2.show);
    const lastChange = Number(s.get("DTab", "default", "web")?.metadata.resourceVersion);

    const watchesBefore = s.requests.filter((r) => r.verb === "watch").length;
    s.dropWatches();
    await eventually(
      "a resumed watch",
      () => s.requests.filter((r) => r.verb === "watch").length > watchesBefore,
    );
    const resumed = s.requests.filter((r) => r.verb === "watch").at(-1)!;
    expect(Number(resumed.query.resourceVersion)).toBeGreaterThanOrEqual(lastChange);
    expect(resumed.query.allowWatchBookmarks).toBe("true");
    expect(s.requests.filter((r) => r.verb === "list")).toHaveLength(1);
    await eventually("the watch is back", () => s.openWatches === 1);
    s.apply(dtabObject("web", d3));
    await sees(store, "web", d3.show);
    expect(s.requests.filter((r) => r.verb === "list")).toHaveLength(1);

    // History compacted: the open watch ends with 410 Gone, and the store lists again.
    s.compactHistory();
    await eventually("a relist", () => s.requests.filter((r) => r.verb === "list").length === 2);
    expect(store.stats.relists).toBe(1);
    s.apply(dtabObject("api", d1));
    await sees(store, "api", d1.show);
    expect(showOf(store.observe("web"))).toBe(d3.show);
  });

  it("API server outage: keeps the last dtabs, turns unhealthy, refuses writes at once; resyncs when it is back on the same port", async () => {
    const first = await standin({ objects: [dtabObject("web", d1)] });
    const port = first.port;
    const { log, lines } = captureLog();
    const store = open(port, { log });
    const web = store.observe("web");
    const hold = web.observe(() => {});
    cleanup.push(() => hold.close());
    const v = await sees(store, "web", d1.show);
    await eventually("healthy", () => store.healthy());

    await first.close();
    await eventually("unhealthy", () => !store.healthy());
    expect(showOf(web)).toBe(d1.show);
    expect(current(store.list())).toEqual(["web"]);
    const t0 = Date.now();
    const writes = await Promise.allSettled([
      store.create("api", d2),
      store.update("web", d2, v),
      store.put("web", d2),
      store.delete("web"),
    ]);
    expect(Date.now() - t0).toBeLessThan(1_000);
    for (const w of writes) {
      expect(w.status).toBe("rejected");
      if (w.status === "rejected") expect(w.reason).toBeInstanceOf(DtabStoreUnavailableError);
    }
    expect(showOf(web)).toBe(d1.show);
    await new Promise((r) => setTimeout(r, 100));
    expect(lines.filter((l) => l.level === "warn")).toHaveLength(1);

    // Back, with what changed meanwhile, and versions later than any it handed out before.
    const second = await standin({
      port,
      initialResourceVersion: first.resourceVersion + 1000,
      objects: [dtabObject("web", d2), dtabObject("api", d3)],
    });
    await eventually("the resync", () => showOf(web) === d2.show);
    await eventually("the list", () => current(store.list())?.join() === "api,web");
    await eventually("healthy again", () => store.healthy());
    expect(lines.some((l) => l.level === "info" && /is back/.test(l.msg ?? ""))).toBe(true);
    await store.update("web", d1, current(web)!.version);
    await sees(store, "web", d1.show);
    expect(second.requests.filter((r) => r.verb === "list").length).toBeGreaterThanOrEqual(1);
  });

  it("an API server that never answers: writes and the first read fail within the request timeout", async () => {
    const server = await startSilentServer();
    cleanup.push(() => server.close());
    const store = open(server.port, { requestTimeoutMs: 300 });
    const web = store.observe("web");
    await eventually("the read to fail", () => web.sample().kind === "failed", 3_000);
    const st = web.sample();
    expect(st.kind === "failed" && st.error).toBeInstanceOf(DtabStoreUnavailableError);
    expect(store.list().sample().kind).toBe("failed");
    const t0 = Date.now();
    const err = await store.create("web", d1).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(err).toBeInstanceOf(DtabStoreUnavailableError);
    expect((err as Error).message).toMatch(/did not answer create within 300 ms/);
    expect(store.healthy()).toBe(false);
  });

  it("inCluster (the plugin): HTTPS with the service account's CA and token, dtabs in the configured namespace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "namerd-sa-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeSelfSignedCert(dir, {
      subject: "/CN=kubernetes",
      altName: "IP:127.0.0.1",
      days: 2,
      certFile: "ca.crt",
    });
    writeFileSync(join(dir, "token"), "sa-token-1");
    const s = await standin({
      token: "sa-token-1",
      tls: { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "ca.crt")) },
      objects: [namespace("linkerd")],
    });
    const closers: (() => unknown)[] = [];
    cleanup.push(async () => {
      for (const f of closers) await f();
    });
    const store = k8sStoreFactory.make(
      k8sStoreSchema.parse({
        kind: "io.l5d.k8s",
        inCluster: true,
        serviceAccountDir: dir,
        namespace: "linkerd",
      }),
      {
        env: { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(s.port) },
        log: captureLog().log,
        onClose: (f) => closers.push(f),
        services: {},
      },
    );
    await store.create("web", d1);
    await sees(store, "web", d1.show);
    expect(s.get("DTab", "linkerd", "web")?.dentries).toEqual([
      { prefix: "/svc", dst: "/#/io.l5d.fs" },
    ]);
    expect(s.list("DTab", "default")).toEqual([]);
    await eventually("the watch of linkerd's dtabs", () =>
      s.requests.some(
        (r) => r.verb === "watch" && r.path === "/apis/l5d.io/v1alpha1/namespaces/linkerd/dtabs",
      ),
    );
    expect(s.requests.every((r) => r.status !== 401)).toBe(true);
    // Without the pod's environment the plugin refuses to build.
    expect(() =>
      k8sStoreFactory.make(k8sStoreSchema.parse({ kind: "io.l5d.k8s", inCluster: true }), {
        env: {},
        log: captureLog().log,
        onClose: () => {},
        services: {},
      }),
    ).toThrow(/KUBERNETES_SERVICE_HOST/);
  });

  it("close() ends the watch and refuses later writes", async () => {
    const s = await standin();
    const store = open(s.port);
    await sees(store, "web", null);
    await eventually("the watch", () => s.openWatches === 1);
    await store.close();
    await eventually("the watch to end", () => s.openWatches === 0);
    expect(store.healthy()).toBe(false);
    await expect(store.create("web", d1)).rejects.toBeInstanceOf(DtabStoreUnavailableError);
  });
});
