/**
 * The `dtabs.l5d.io` custom resource over HTTP, as namerd's io.l5d.k8s storage uses it:
 * create / get / list / replace / delete with the API server's Status answers, and watches.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type Standin, startStandin } from "./standin.js";
import type { K8sObject } from "./types.js";

const API = "/apis/l5d.io/v1alpha1";

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string };
  dentries?: unknown;
  code?: number;
  reason?: string;
  status?: string;
  message?: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string };
}

function dtab(name: string, dentries: unknown, resourceVersion?: string): K8sObject & Obj {
  return {
    apiVersion: "l5d.io/v1alpha1",
    kind: "DTab",
    metadata: resourceVersion === undefined ? { name } : { name, resourceVersion },
    dentries,
  };
}

const svc = [{ prefix: "/svc", dst: "/#/io.l5d.fs" }];
const svc2 = [{ prefix: "/svc", dst: "/#/io.l5d.k8s/default/http" }];

describe("k8s stand-in: dtabs.l5d.io/v1alpha1", () => {
  let s: Standin | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  async function call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Obj }> {
    const init: RequestInit = { method, signal: AbortSignal.timeout(5_000) };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      init.headers = { "content-type": "application/json" };
    }
    const res = await fetch(`${s!.url}${path}`, init);
    return { status: res.status, body: (await res.json()) as Obj };
  }

  it("creates (201, 409 AlreadyExists), gets, lists with apiVersion and kind, replaces only at the current resourceVersion, deletes", async () => {
    s = await startStandin();
    const coll = `${API}/namespaces/default/dtabs`;

    const created = await call("POST", coll, dtab("web", svc));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      apiVersion: "l5d.io/v1alpha1",
      kind: "DTab",
      metadata: { name: "web", namespace: "default" },
      dentries: svc,
    });
    const v1 = created.body.metadata.resourceVersion!;
    expect(Number(v1)).toBe(s.resourceVersion);

    const again = await call("POST", coll, dtab("web", svc2));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "AlreadyExists",
      code: 409,
      message: 'dtabs.l5d.io "web" already exists',
      details: { name: "web", group: "l5d.io", kind: "dtabs" },
    });

    const got = await call("GET", `${coll}/web`);
    expect(got.status).toBe(200);
    expect(got.body.metadata.resourceVersion).toBe(v1);

    const list = (await (await fetch(`${s.url}${coll}`)).json()) as {
      kind: string;
      apiVersion: string;
      metadata: { resourceVersion: string };
      items: Obj[];
    };
    expect([list.kind, list.apiVersion]).toEqual(["DTabList", "l5d.io/v1alpha1"]);
    expect(list.items.map((i) => [i.apiVersion, i.kind, i.metadata.name])).toEqual([
      ["l5d.io/v1alpha1", "DTab", "web"],
    ]);

    // Replace: at the current version it wins; the same version again is stale.
    const replaced = await call("PUT", `${coll}/web`, dtab("web", svc2, v1));
    expect(replaced.status).toBe(200);
    expect(replaced.body.dentries).toEqual(svc2);
    expect(replaced.body.metadata.uid).toBe(created.body.metadata.uid);
    const v2 = replaced.body.metadata.resourceVersion!;
    expect(Number(v2)).toBeGreaterThan(Number(v1));
    const stale = await call("PUT", `${coll}/web`, dtab("web", svc, v1));
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ reason: "Conflict", code: 409 });
    expect(stale.body.message).toMatch(/^Operation cannot be fulfilled on dtabs\.l5d\.io "web"/);
    // Custom resources allow no unconditional update.
    const unconditional = await call("PUT", `${coll}/web`, dtab("web", svc));
    expect(unconditional.status).toBe(422);
    expect(unconditional.body.reason).toBe("Invalid");
    const missing = await call("PUT", `${coll}/nope`, dtab("nope", svc, v2));
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('dtabs.l5d.io "nope" not found');
    const renamed = await call("PUT", `${coll}/web`, dtab("other", svc, v2));
    expect(renamed.status).toBe(400);

    const deleted = await call("DELETE", `${coll}/web`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({
      kind: "Status",
      status: "Success",
      details: { name: "web", group: "l5d.io", kind: "dtabs", uid: created.body.metadata.uid },
    });
    expect((await call("DELETE", `${coll}/web`)).status).toBe(404);
    expect((await call("GET", `${coll}/web`)).body).toMatchObject({
      code: 404,
      reason: "NotFound",
    });
    expect(s.list("DTab")).toEqual([]);
  });

  it("answers 422 for names and dentries the CRD refuses, 400 for a foreign kind or namespace, 404 for a missing namespace, 405 for built-in kinds", async () => {
    s = await startStandin();
    const coll = `${API}/namespaces/default/dtabs`;
    const badName = await call("POST", coll, dtab("Not_A_Name", svc));
    expect(badName.status).toBe(422);
    expect(badName.body.message).toMatch(/metadata\.name: Invalid value: "Not_A_Name"/);
    const badDentries = await call("POST", coll, dtab("web", [{ prefix: "/svc", dst: 7 }, {}]));
    expect(badDentries.status).toBe(422);
    expect(badDentries.body.message).toMatch(/dentries\[0\]\.dst: must be of type string/);
    expect(badDentries.body.message).toMatch(/dentries\[1\]\.prefix: Required value/);
    expect((await call("POST", coll, "{not json")).status).toBe(400);
    expect(
      (await call("POST", coll, { ...dtab("web", svc), apiVersion: "l5d.io/v1" })).status,
    ).toBe(400);
    const elsewhere = { ...dtab("web", svc), metadata: { name: "web", namespace: "other" } };
    expect((await call("POST", coll, elsewhere)).status).toBe(400);
    expect((await call("POST", `${API}/namespaces/other/dtabs`, dtab("web", svc))).status).toBe(
      404,
    );
    expect(
      (await call("POST", "/api/v1/namespaces/default/services", { kind: "Service" })).status,
    ).toBe(405);
    expect((await call("GET", `/apis/l5d.io/v1/namespaces/default/dtabs`)).status).toBe(404);
    expect(s.list("DTab")).toEqual([]);
    expect(s.requests.filter((r) => r.verb === "create").map((r) => r.status)).toEqual([
      422, 422, 400, 400, 400, 404,
    ]);
  });

  it("watches dtabs from a resourceVersion: HTTP writes and programmatic ones, in order", async () => {
    s = await startStandin({ objects: [{ ...dtab("seed", svc), metadata: { name: "seed" } }] });
    const coll = `${API}/namespaces/default/dtabs`;
    const from = s.resourceVersion;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 5_000);
    const res = await fetch(`${s.url}${coll}?watch=true&resourceVersion=${from}`, {
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    const created = await call("POST", coll, dtab("web", svc));
    const v = created.body.metadata.resourceVersion!;
    await call("PUT", `${coll}/web`, dtab("web", svc2, v));
    s.apply(dtab("raw", svc));
    await call("DELETE", `${coll}/seed`);
    const lines: { type: string; object: Obj }[] = [];
    const reader = res.body!.getReader();
    let buf = "";
    try {
      while (lines.length < 4) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += Buffer.from(value).toString("utf8");
        for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
          lines.push(JSON.parse(buf.slice(0, i)) as { type: string; object: Obj });
          buf = buf.slice(i + 1);
        }
      }
    } finally {
      clearTimeout(timer);
      ac.abort();
    }
    expect(lines.map((l) => [l.type, l.object.kind, l.object.metadata.name])).toEqual([
      ["ADDED", "DTab", "web"],
      ["MODIFIED", "DTab", "web"],
      ["ADDED", "DTab", "raw"],
      ["DELETED", "DTab", "seed"],
    ]);
    expect(lines[1]?.object.dentries).toEqual(svc2);
    const rvs = lines.map((l) => Number(l.object.metadata.resourceVersion));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
  });
});
