/**
 * io.l5d.etcd against a real etcd (Debian's etcd-server, started by etcd-process.testkit.ts):
 * conditional writes, the shared prefix watch seeing other writers, a bad stored dtab, and an
 * etcd outage (kill, then restart on the same data). Plus the plugin's config keys.
 */

import { Dtab, DtabParseError, Path } from "@l5d/dtab";
import { Etcd3 } from "etcd3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
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
  DtabStoreUnavailableError,
  DtabVersionMismatchError,
} from "./dtab-store.js";
import { EtcdProcess } from "./etcd-process.testkit.js";
import { EtcdDtabStore, type EtcdDtabStoreOptions } from "./etcd-store.js";

/** etcd's count of open watchers (its Prometheus gauge), to prove the watch is shared. */
async function etcdWatchers(endpoint: string): Promise<number> {
  const text = await (await fetch(`http://${endpoint}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("etcd_debugging_mvcc_watcher_total "));
  if (line === undefined) throw new Error("etcd exposes no etcd_debugging_mvcc_watcher_total");
  return Number(line.split(" ")[1]);
}

describe("io.l5d.etcd config", () => {
  it("gives Linkerd's defaults and requires experimental: true", () => {
    const r = parseNamerdConfig(
      "storage:\n  kind: io.l5d.etcd\n  experimental: true\n",
      createNamerdRegistries(),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.storage.kind).toBe("io.l5d.etcd");
    expect(r.config.storage.experimental).toBe(true);
    const c = r.config.storage.config as { host: string; port: number; pathPrefix: Path };
    expect(c.host).toBe("localhost");
    expect(c.port).toBe(2379);
    expect(c.pathPrefix.show).toBe("/namerd/dtabs");

    const off = parseNamerdConfig("storage:\n  kind: io.l5d.etcd\n", createNamerdRegistries());
    expect(off.ok).toBe(false);
    if (off.ok) return;
    expect(off.errors.map((e) => e.path)).toContain("storage.experimental");
  });

  it("reads upstream's keys and names a bad one by path", () => {
    const r = parseNamerdConfig(
      [
        "storage:",
        "  kind: io.l5d.etcd",
        "  experimental: true",
        "  host: etcd.dentist",
        "  port: 80",
        "  pathPrefix: /foo/bar",
      ].join("\n"),
      createNamerdRegistries(),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const c = r.config.storage.config as { host: string; port: number; pathPrefix: Path };
    expect([c.host, c.port, c.pathPrefix.show]).toEqual(["etcd.dentist", 80, "/foo/bar"]);

    const bad = parseNamerdConfig(
      [
        "storage:",
        "  kind: io.l5d.etcd",
        "  experimental: true",
        "  hosts: [a]",
        "  port: 99999",
        "  pathPrefix: not-a-path",
      ].join("\n"),
      createNamerdRegistries(),
    );
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    const byPath = Object.fromEntries(bad.errors.map((e) => [e.path, e.message]));
    expect(byPath["storage.hosts"]).toBe("unknown key");
    expect(byPath["storage.port"]).toBe("expected a port number (0-65535)");
    expect(byPath["storage.pathPrefix"]).toMatch(/^invalid path/);
  });
});

describe("EtcdDtabStore", () => {
  let etcd: EtcdProcess;
  let raw: Etcd3;
  const stores: EtcdDtabStore[] = [];
  let prefixN = 0;

  let launchError: unknown;

  beforeAll(async () => {
    try {
      etcd = await EtcdProcess.launch();
      raw = new Etcd3({ hosts: `http://${etcd.endpoint}` });
    } catch (e) {
      launchError = e;
    }
  });

  // Without etcd every test fails with the reason (a failing beforeAll would only skip them).
  beforeEach(() => {
    if (launchError !== undefined) throw launchError;
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  afterAll(async () => {
    raw?.close();
    await etcd?.close();
  });

  /** A store on its own key prefix, so tests do not see each other's namespaces. */
  function open(prefix: string, extra: Partial<EtcdDtabStoreOptions> = {}): EtcdDtabStore {
    const [host, port] = etcd.endpoint.split(":") as [string, string];
    const s = new EtcdDtabStore({
      host,
      port: Number(port),
      pathPrefix: Path.read(prefix),
      minBackoffMs: 50,
      maxBackoffMs: 500,
      ...extra,
    });
    stores.push(s);
    return s;
  }

  function freshPrefix(): string {
    prefixN += 1;
    return `/test${prefixN}/dtabs`;
  }

  it("creates, reads and lists; the key holds Dtab.show, the version is its mod revision", async () => {
    const prefix = freshPrefix();
    const store = open(prefix);
    await store.create("web", d1);
    const obs = store.observe("web");
    await eventually("web to be readable", () => showOf(obs) === d1.show);
    const got = current(obs);
    const kv = (await raw.get(`${prefix}/web`).exec()).kvs[0];
    expect(kv?.value.toString("utf8")).toBe(d1.show);
    expect(got?.version).toBe(kv?.mod_revision);
    expect(got?.version).toMatch(/^[1-9][0-9]*$/);
    await eventually("the list to hold web", () => current(store.list())?.join() === "web");
    expect(store.healthy()).toBe(true);
    expect(store.observe("nope").sample()).toEqual({ kind: "ok", value: null });
  });

  it("refuses to create a namespace twice", async () => {
    const store = open(freshPrefix());
    await store.create("twice", d1);
    await expect(store.create("twice", d2)).rejects.toBeInstanceOf(DtabNamespaceAlreadyExistsError);
  });

  it("updates only from the current version; a stale one changes nothing", async () => {
    const prefix = freshPrefix();
    const store = open(prefix);
    await store.create("up", d1);
    const obs = store.observe("up");
    await eventually("the first version", () => showOf(obs) === d1.show);
    const v1 = current(obs)?.version as string;

    await store.update("up", d2, v1);
    await eventually("the update", () => showOf(obs) === d2.show);
    const v2 = current(obs)?.version as string;
    expect(BigInt(v2) > BigInt(v1)).toBe(true);

    const stale = await store.update("up", d3, v1).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(DtabVersionMismatchError);
    expect((stale as DtabVersionMismatchError).actual).toBe(v2);
    const notANumber = await store.update("up", d3, "W/abc").catch((e: unknown) => e);
    expect(notANumber).toBeInstanceOf(DtabVersionMismatchError);
    const kv = (await raw.get(`${prefix}/up`).exec()).kvs[0];
    expect(kv?.value.toString("utf8")).toBe(d2.show);
    expect(kv?.mod_revision).toBe(v2);

    await expect(store.update("missing", d1, v2)).rejects.toBeInstanceOf(
      DtabNamespaceDoesNotExistError,
    );
  });

  it("lets exactly one of ten concurrent updates from the same version win", async () => {
    const prefix = freshPrefix();
    const store = open(prefix);
    const other = open(prefix);
    await store.create("race", d1);
    const obs = store.observe("race");
    await eventually("the first version", () => showOf(obs) === d1.show);
    const v = current(obs)?.version as string;
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? store : other).update("race", Dtab.read(`/svc=>/#/n${i}`), v),
      ),
    );
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results)
      if (r.status === "rejected") expect(r.reason).toBeInstanceOf(DtabVersionMismatchError);
    await eventually("the winner's dtab", () => showOf(obs) === `/svc=>/#/n${won[0]}`);
  });

  it("puts unconditionally and deletes; deleting a missing namespace fails", async () => {
    const store = open(freshPrefix());
    const obs = store.observe("gone");
    const list = store.list();
    await eventually("the first read", () => showOf(obs) === null);
    await store.put("gone", d1);
    await store.put("gone", d2);
    await eventually("the put", () => showOf(obs) === d2.show);
    await eventually("the list", () => current(list)?.join() === "gone");
    await store.delete("gone");
    await eventually("the delete", () => showOf(obs) === null);
    await eventually("the emptied list", () => current(list)?.length === 0);
    await expect(store.delete("gone")).rejects.toBeInstanceOf(DtabNamespaceDoesNotExistError);
  });

  it("sees changes written by other clients through one shared watch", async () => {
    const prefix = freshPrefix();
    const store = open(prefix);
    const writer = open(prefix);
    const a = store.observe("shared");
    const b = store.observe("other");
    const list = store.list();
    await eventually("the first read", () => showOf(a) === null && showOf(b) === null);

    await writer.create("shared", d1);
    await eventually("another store's create", () => showOf(a) === d1.show);
    await raw.put(`${prefix}/other`).value(d2.show);
    await eventually("a raw etcd put", () => showOf(b) === d2.show);
    await eventually("the list", () => current(list)?.join() === "other,shared");
    // Keys outside `<prefix>/<namespace>` (nested, or elsewhere) are not namespaces.
    await raw.put(`${prefix}/nested/key`).value(d3.show);
    await raw.put(`${prefix}x/elsewhere`).value(d3.show);
    await raw.delete().key(`${prefix}/shared`);
    await eventually("a raw delete", () => showOf(a) === null);
    expect(current(list)).toEqual(["other"]);
    const version = current(b)?.version as string;
    const kv = (await raw.get(`${prefix}/other`).exec()).kvs[0];
    expect(version).toBe(kv?.mod_revision);
  });

  it("holds one etcd watch per store, however many namespaces are observed", async () => {
    const before = await etcdWatchers(etcd.endpoint);
    const store = open(freshPrefix());
    const subs = Array.from({ length: 20 }, (_, i) => store.observe(`ns${i}`).observe(() => {}));
    subs.push(store.list().observe(() => {}));
    await eventually("healthy", () => store.healthy());
    expect(await etcdWatchers(etcd.endpoint)).toBe(before + 1);
    for (const sub of subs) sub.close();
    await store.close();
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && (await etcdWatchers(etcd.endpoint)) !== before)
      await new Promise((r) => setTimeout(r, 50));
    expect(await etcdWatchers(etcd.endpoint)).toBe(before);
  });

  it("reports a dtab stored in etcd that does not parse as a failure of that namespace only", async () => {
    const prefix = freshPrefix();
    const { log, lines } = captureLog();
    const store = open(prefix, { log });
    await raw.put(`${prefix}/bad`).value("/svc=>>nonsense");
    await store.create("good", d1);
    const bad = store.observe("bad");
    const good = store.observe("good");
    await eventually("the first read", () => bad.sample().kind !== "pending");
    const s = bad.sample();
    expect(s.kind).toBe("failed");
    if (s.kind === "failed") {
      expect(s.error.message).toContain(`${prefix}/bad`);
      expect(s.error.cause).toBeInstanceOf(DtabParseError);
    }
    expect(showOf(good)).toBe(d1.show);
    expect(current(store.list())).toEqual(["bad", "good"]);
    expect(lines.some((l) => l.level === "error" && JSON.stringify(l.obj).includes("/bad"))).toBe(
      true,
    );
    // A later valid write heals it, and so does the store's own put over it.
    await raw.put(`${prefix}/bad`).value(d2.show);
    await eventually("the fixed dtab", () => showOf(bad) === d2.show);
    await raw.put(`${prefix}/bad`).value("also bad =>");
    await eventually("the new failure", () => bad.sample().kind === "failed");
    await store.put("bad", d3);
    await eventually("the store's put", () => showOf(bad) === d3.show);
  });

  it("fails reads and writes promptly when etcd was never reachable", async () => {
    // Port 1: nothing listens there, so every connection is refused.
    const store = new EtcdDtabStore({
      host: "127.0.0.1",
      port: 1,
      minBackoffMs: 50,
      maxBackoffMs: 200,
      requestTimeoutMs: 2_000,
    });
    stores.push(store);
    const obs = store.observe("x");
    await eventually("the failed read", () => obs.sample().kind === "failed");
    const s = obs.sample();
    if (s.kind === "failed") expect(s.error).toBeInstanceOf(DtabStoreUnavailableError);
    expect(store.list().sample().kind).toBe("failed");
    expect(store.healthy()).toBe(false);
    const t0 = Date.now();
    await expect(store.create("x", d1)).rejects.toBeInstanceOf(DtabStoreUnavailableError);
    expect(Date.now() - t0).toBeLessThan(2_500);
  });

  it("bounds every call by the request timeout when etcd accepts but never answers", async () => {
    // A TCP server that accepts connections and stays silent: no HTTP/2, no gRPC answer.
    const hole = await startSilentServer();
    try {
      const store = new EtcdDtabStore({
        host: "127.0.0.1",
        port: hole.port,
        requestTimeoutMs: 400,
        minBackoffMs: 50,
        maxBackoffMs: 200,
      });
      stores.push(store);
      const obs = store.observe("x");
      const t0 = Date.now();
      const results = await Promise.allSettled([
        store.create("x", d1),
        store.update("x", d1, "7"),
        store.put("x", d1),
        store.delete("x"),
      ]);
      expect(Date.now() - t0).toBeLessThan(1_500);
      for (const r of results) {
        expect(r.status).toBe("rejected");
        if (r.status === "rejected") expect(r.reason).toBeInstanceOf(DtabStoreUnavailableError);
      }
      await eventually("the read to fail", () => obs.sample().kind === "failed", 2_000);
      expect(store.healthy()).toBe(false);
    } finally {
      await hole.close();
    }
  });

  it("keeps serving through an etcd outage and resyncs when etcd is back", async () => {
    const prefix = freshPrefix();
    const { log, lines } = captureLog();
    const store = open(prefix, { log, requestTimeoutMs: 3_000 });
    await store.create("out", d1);
    await store.create("stay", d1);
    const out = store.observe("out");
    const list = store.list();
    await eventually("the first read", () => showOf(out) === d1.show);
    await eventually("healthy", () => store.healthy());
    const seen: string[] = [];
    const sub = out.observe((s) =>
      seen.push(s.kind === "ok" ? String(s.value?.dtab.show) : s.kind),
    );

    await etcd.stop();
    await eventually("unhealthy", () => !store.healthy());
    expect(showOf(out)).toBe(d1.show);
    expect(current(list)).toEqual(["out", "stay"]);
    const t0 = Date.now();
    for (const write of [
      () => store.put("out", d2),
      () => store.update("out", d2, current(out)?.version ?? "1"),
      () => store.delete("stay"),
    ]) {
      await expect(write()).rejects.toBeInstanceOf(DtabStoreUnavailableError);
    }
    expect(Date.now() - t0).toBeLessThan(3 * 3_500);
    expect(showOf(out)).toBe(d1.show);
    expect(lines.some((l) => l.level === "warn")).toBe(true);

    await etcd.start();
    // Written right away, while the store is still backing off: the resync's read sees it.
    const writer = new Etcd3({ hosts: `http://${etcd.endpoint}` });
    try {
      await writer.put(`${prefix}/out`).value(d3.show);
      const del = await writer.delete().key(`${prefix}/stay`).exec();
      // Compact the history away: resuming the old watch is impossible, only a re-read works.
      await writer.kv.compact({ revision: del.header.revision, physical: true });
    } finally {
      writer.close();
    }
    await eventually("the change made after the restart", () => showOf(out) === d3.show, 10_000);
    await eventually("healthy again", () => store.healthy(), 10_000);
    expect(lines.some((l) => l.level === "info" && l.msg?.includes("resynced"))).toBe(true);
    await eventually("the list", () => current(list)?.join() === "out");
    // Observers never saw a gap: the old value, then the new one, nothing pending or failed.
    expect(seen).toEqual([d1.show, d3.show]);
    sub.close();

    // And the watch is live again for later changes and writes.
    const v = current(out)?.version as string;
    await store.update("out", d2, v);
    await eventually("a write after the outage", () => showOf(out) === d2.show);
  });
});
