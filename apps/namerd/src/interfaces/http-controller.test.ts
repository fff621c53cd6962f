/**
 * namerd's HTTP API against a real namerd on loopback (inMemory storage, io.l5d.fs namer),
 * with the status codes, headers and JSON shapes of Linkerd's HttpControlService.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNamerd, type TestNamerd, watchLines } from "../__tests__/namerd-testkit.js";

let n: TestNamerd;

beforeAll(async () => {
  n = await startTestNamerd(
    "",
    "  namespaces:\n    default: /svc => /#/io.l5d.fs\n    other: /svc => /$/inet/127.0.0.1/8080\n",
  );
  n.writeDisco("hello", "127.0.0.1 7777\n");
  n.writeDisco("world", "127.0.0.1 7778\n127.0.0.1 7779\n");
});
afterAll(async () => {
  await n?.close();
});

const put = (ns: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${n.api}/api/1/dtabs/${ns}`, {
    method: "PUT",
    body,
    headers: { "content-type": "application/dtab", ...headers },
  });

describe("/api/1/dtabs", () => {
  it("lists the namespaces as a JSON array", async () => {
    const r = await fetch(`${n.api}/api/1/dtabs`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(await r.json()).toEqual(["default", "other"]);
  });

  it("gets a dtab as JSON by default, with its version in ETag", async () => {
    const r = await fetch(`${n.api}/api/1/dtabs/default`);
    expect(r.status).toBe(200);
    expect(r.headers.get("etag")).toMatch(/^[A-Za-z0-9+/=]+$/);
    expect(await r.json()).toEqual([{ prefix: "/svc", dst: "/#/io.l5d.fs" }]);
  });

  it("gets a dtab as text with Accept: application/dtab", async () => {
    const r = await fetch(`${n.api}/api/1/dtabs/default`, {
      headers: { accept: "application/dtab" },
    });
    expect(r.headers.get("content-type")).toBe("application/dtab");
    expect((await r.text()).trim()).toBe("/svc=>/#/io.l5d.fs");
  });

  it("HEAD gives the ETag; a missing namespace is 404", async () => {
    const h = await fetch(`${n.api}/api/1/dtabs/default`, { method: "HEAD" });
    expect(h.status).toBe(200);
    expect(h.headers.get("etag")).toBeTruthy();
    expect((await fetch(`${n.api}/api/1/dtabs/nope`)).status).toBe(404);
  });

  it("POST creates (204), a second POST is 409, JSON bodies are read", async () => {
    const body = JSON.stringify([{ prefix: "/a", dst: "/b" }]);
    const first = await fetch(`${n.api}/api/1/dtabs/created`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    });
    expect(first.status).toBe(204);
    const again = await fetch(`${n.api}/api/1/dtabs/created`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    });
    expect(again.status).toBe(409);
    const got = await fetch(`${n.api}/api/1/dtabs/created`, {
      headers: { accept: "application/dtab" },
    });
    expect((await got.text()).trim()).toBe("/a=>/b");
  });

  it("PUT with the current If-Match replaces; a stale one is 412 and changes nothing", async () => {
    await put("versioned", "/x => /y");
    const etag = (await fetch(`${n.api}/api/1/dtabs/versioned`)).headers.get("etag")!;
    const ok = await put("versioned", "/x => /z", { "if-match": etag });
    expect(ok.status).toBe(204);
    const stale = await put("versioned", "/x => /stale", { "if-match": etag });
    expect(stale.status).toBe(412);
    const now = await fetch(`${n.api}/api/1/dtabs/versioned`, {
      headers: { accept: "application/dtab" },
    });
    expect((await now.text()).trim()).toBe("/x=>/z");
    expect(now.headers.get("etag")).not.toBe(etag);
  });

  it("concurrent PUTs from one version: exactly one wins, the others get 412", async () => {
    await put("race", "/r => /0");
    const etag = (await fetch(`${n.api}/api/1/dtabs/race`)).headers.get("etag")!;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => put("race", `/r => /${i + 1}`, { "if-match": etag })),
    );
    const codes = results.map((r) => r.status).sort();
    expect(codes.filter((c) => c === 204)).toHaveLength(1);
    expect(codes.filter((c) => c === 412)).toHaveLength(7);
  });

  it("a bad dtab is 400 naming the parse error, and the stored dtab is unchanged", async () => {
    const before = await (await fetch(`${n.api}/api/1/dtabs/default`)).text();
    const bad = await put("default", "/svc => /#/io.l5d.fs; /oops =>");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/invalid dtab: .+/);
    expect(await (await fetch(`${n.api}/api/1/dtabs/default`)).text()).toBe(before);
  });

  it("an unknown Content-Type is 400; an oversized body is 413", async () => {
    const r = await fetch(`${n.api}/api/1/dtabs/default`, {
      method: "PUT",
      body: "/a=>/b",
      headers: { "content-type": "application/x-unknown" },
    });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain("Invalid Content-Type");
    const big = await put("big", `/a => /${"b".repeat(1_100_000)}`).catch((e: Error) => e);
    if (big instanceof Error) throw big;
    expect(big.status).toBe(413);
    expect((await fetch(`${n.api}/api/1/dtabs/big`)).status).toBe(404);
  });

  it("DELETE removes (204), then 404", async () => {
    await put("doomed", "/d => /e");
    expect((await fetch(`${n.api}/api/1/dtabs/doomed`, { method: "DELETE" })).status).toBe(204);
    expect((await fetch(`${n.api}/api/1/dtabs/doomed`, { method: "DELETE" })).status).toBe(404);
    expect(await (await fetch(`${n.api}/api/1/dtabs`)).json()).not.toContain("doomed");
  });

  it("?watch=true streams a line per change of the dtab", async () => {
    await put("watched", "/w => /1");
    const w = watchLines(`${n.api}/api/1/dtabs/watched?watch=true`);
    try {
      expect(await w.status).toBe(200);
      expect(JSON.parse(await w.next())).toEqual([{ prefix: "/w", dst: "/1" }]);
      await put("watched", "/w => /2");
      expect(JSON.parse(await w.next())).toEqual([{ prefix: "/w", dst: "/2" }]);
    } finally {
      w.close();
    }
  });

  it("the namespace list streams with ?watch=true", async () => {
    const w = watchLines(`${n.api}/api/1/dtabs?watch=true`);
    try {
      const first = JSON.parse(await w.next()) as string[];
      expect(first).not.toContain("fresh");
      await put("fresh", "/f => /g");
      expect(JSON.parse(await w.next())).toContain("fresh");
    } finally {
      w.close();
    }
  });
});

describe("names", () => {
  it("/api/1/bind gives Linkerd's bound-tree JSON with the leaf's addresses", async () => {
    const r = await fetch(`${n.api}/api/1/bind/default?path=/svc/hello`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      type: "leaf",
      path: "/",
      bound: {
        addr: { type: "bound", addrs: [{ ip: "127.0.0.1", port: 7777, meta: {} }], meta: {} },
        id: "/#/io.l5d.fs/hello",
        path: "/",
      },
    });
  });

  it("/api/1/bind applies the dtab= parameter after the namespace's dtab", async () => {
    const q = new URLSearchParams({ path: "/svc/hello", dtab: "/svc/hello => /#/io.l5d.fs/world" });
    const body = (await (await fetch(`${n.api}/api/1/bind/default?${q}`)).json()) as {
      bound: { id: string };
    };
    expect(body.bound.id).toBe("/#/io.l5d.fs/world");
  });

  it("a namespace that does not exist binds with an empty dtab (neg)", async () => {
    const body = await (await fetch(`${n.api}/api/1/bind/absent?path=/svc/hello`)).json();
    expect(body).toEqual({ type: "neg", path: "~" });
  });

  it("/api/1/addr gives the addresses of a bound id; /api/1/resolve binds then resolves", async () => {
    const a = await fetch(`${n.api}/api/1/addr/default?path=/%23/io.l5d.fs/world`);
    const addr = (await a.json()) as { type: string; addrs: { port: number }[] };
    expect(addr.type).toBe("bound");
    expect(addr.addrs.map((x) => x.port).sort()).toEqual([7778, 7779]);
    const r = await fetch(`${n.api}/api/1/resolve/default?path=/svc/hello`);
    expect(await r.json()).toEqual({
      type: "bound",
      addrs: [{ ip: "127.0.0.1", port: 7777, meta: {} }],
      meta: {},
    });
  });

  it("a bind watch streams a new tree when the namespace's dtab changes", async () => {
    await put("shift", "/svc => /#/io.l5d.fs");
    const w = watchLines(`${n.api}/api/1/bind/shift?path=/svc/hello&watch=true`);
    try {
      expect((JSON.parse(await w.next()) as { bound: { id: string } }).bound.id).toBe(
        "/#/io.l5d.fs/hello",
      );
      await put("shift", "/svc/hello => /#/io.l5d.fs/world");
      expect((JSON.parse(await w.next()) as { bound: { id: string } }).bound.id).toBe(
        "/#/io.l5d.fs/world",
      );
    } finally {
      w.close();
    }
  });

  it("an addr watch streams a change of the endpoints", async () => {
    n.writeDisco("moving", "127.0.0.1 9001\n");
    const w = watchLines(`${n.api}/api/1/addr/default?path=/%23/io.l5d.fs/moving&watch=true`);
    try {
      // the fs namer may answer neg until it has seen the new file
      const bound = async () => {
        for (let i = 0; i < 5; i++) {
          const a = JSON.parse(await w.next(10_000)) as {
            type: string;
            addrs?: { port: number }[];
          };
          if (a.type === "bound") return a.addrs?.map((x) => x.port);
        }
        throw new Error("no bound line");
      };
      expect(await bound()).toEqual([9001]);
      n.writeDisco("moving", "127.0.0.1 9002\n");
      expect(await bound()).toEqual([9002]);
    } finally {
      w.close();
    }
  });

  it("/api/1/delegate explains the delegation through the namespace", async () => {
    const r = await fetch(`${n.api}/api/1/delegate/default?path=/svc/hello`);
    const tree = (await r.json()) as { type: string; path: string; delegate: { dentry: unknown } };
    expect(tree.type).toBe("delegate");
    expect(tree.path).toBe("/svc/hello");
    expect(tree.delegate.dentry).toEqual({ prefix: "/svc", dst: "/#/io.l5d.fs" });
  });

  it("/api/1/bound-names lists the ids bound so far", async () => {
    const names = (await (await fetch(`${n.api}/api/1/bound-names`)).json()) as string[];
    expect(names).toContain("/#/io.l5d.fs/hello");
  });

  it("a malformed path is 400 with Linkerd's message; unknown endpoints are 404", async () => {
    const r = await fetch(`${n.api}/api/1/bind/default?path=not-a-path`);
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/^Invalid path: not-a-path \/ /);
    expect((await fetch(`${n.api}/api/1/bind/default`)).status).toBe(400);
    expect((await fetch(`${n.api}/api/2/anything`)).status).toBe(404);
  });
});
