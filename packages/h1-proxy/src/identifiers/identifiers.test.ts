import { Path } from "@l5d/dtab";
import type { HeaderList, Identification } from "@l5d/h2-proxy";
import { describe, expect, it } from "vitest";
import { httpIdentifierFactories } from "./index.js";
import { targetPath, targetQuery } from "./request-target.js";

const SVC = Path.read("/svc");

/** Makes an identifier from its config as the daemon would (schema, then make). */
function make(cfg: Record<string, unknown>) {
  const f = httpIdentifierFactories.find((x) => x.kind === cfg.kind);
  if (f === undefined) throw new Error(`no ${String(cfg.kind)}`);
  const parsed = (f.schema as { parse(v: unknown): unknown }).parse(cfg);
  return (f.make as (c: unknown) => (p: Path) => { identify(h: HeaderList): Identification })(
    parsed,
  )(SVC);
}

function req(
  method: string,
  target: string,
  version: "1.1" | "1.0",
  fields: [string, string][] = [],
): HeaderList {
  return [[":method", method], [":path", target], [":version", version], ...fields];
}

const show = (id: Identification) =>
  id.kind === "ok" ? id.name.show : `unidentified: ${id.reason}`;

describe("request-target", () => {
  it.each([
    ["/a/b?q=1", "/a/b", "?q=1"],
    ["http://host:80/a/b?q=1#f", "/a/b", "?q=1"],
    ["http://host", "/", ""],
    ["*", "*", ""],
  ])("%s → path %s, query %s", (t, p, q) => {
    expect(targetPath(t)).toBe(p);
    expect(targetQuery(t)).toBe(q);
  });
});

describe("io.l5d.header.token (http)", () => {
  it("defaults to Host, one segment, UTF-8 as Linkerd's Path.Utf8", () => {
    const id = make({ kind: "io.l5d.header.token" });
    expect(show(id.identify(req("GET", "/", "1.1", [["host", "web:8080"]])))).toBe("/svc/web:8080");
    // the element's bytes are UTF-8 (c3 a9), shown as Finagle shows a non-showable element
    const cafe = id.identify(req("GET", "/", "1.1", [["host", "café"]]));
    expect(
      cafe.kind === "ok" && Buffer.from(cafe.name.elems[1] ?? "", "latin1").toString("hex"),
    ).toBe("636166c3a9");
    expect(show(cafe)).toBe("/svc/\\x63\\x61\\x66\\xc3\\xa9");
    expect(show(id.identify(req("GET", "/", "1.1", [["host", "a/b"]])))).toBe(
      "/svc/\\x61\\x2f\\x62",
    );
    expect(show(id.identify(req("GET", "/", "1.0")))).toBe("unidentified: host header is absent");
  });

  it("reads another header, named in any case", () => {
    const id = make({ kind: "io.l5d.header.token", header: "My-Header" });
    expect(show(id.identify(req("GET", "/", "1.1", [["my-header", "books"]])))).toBe("/svc/books");
  });
});

describe("io.l5d.methodAndHost", () => {
  it("HTTP/1.1: /svc/1.1/<METHOD>/<host>, the host lower-cased", () => {
    const id = make({ kind: "io.l5d.methodAndHost" });
    expect(show(id.identify(req("GET", "/a/b?x=1", "1.1", [["host", "Web.Example"]])))).toBe(
      "/svc/1.1/GET/web.example",
    );
    expect(show(id.identify(req("POST", "/", "1.1", [["host", "web:8080"]])))).toBe(
      "/svc/1.1/POST/web:8080",
    );
    expect(show(id.identify(req("GET", "/", "1.1")))).toBe(
      "unidentified: HTTP/1.1 request missing hostname",
    );
  });

  it("HTTP/1.0: /svc/1.0/<METHOD>, no host", () => {
    const id = make({ kind: "io.l5d.methodAndHost" });
    expect(show(id.identify(req("GET", "/a", "1.0", [["host", "web"]])))).toBe("/svc/1.0/GET");
    expect(show(id.identify(req("PUT", "/a", "1.0")))).toBe("/svc/1.0/PUT");
  });

  it("httpUriInDst appends the path (not the query), absolute-form included", () => {
    const id = make({ kind: "io.l5d.methodAndHost", httpUriInDst: true });
    expect(show(id.identify(req("GET", "/books/42?x=1", "1.1", [["host", "web"]])))).toBe(
      "/svc/1.1/GET/web/books/42",
    );
    expect(show(id.identify(req("GET", "http://web/books", "1.1", [["host", "web"]])))).toBe(
      "/svc/1.1/GET/web/books",
    );
    expect(show(id.identify(req("DELETE", "/x", "1.0")))).toBe("/svc/1.0/DELETE/x");
  });
});

describe("io.l5d.path", () => {
  it("names the first segments; fewer is unidentified", () => {
    const one = make({ kind: "io.l5d.path" });
    expect(show(one.identify(req("GET", "/true/love/waits.php", "1.1")))).toBe("/svc/true");
    const two = make({ kind: "io.l5d.path", segments: 2 });
    expect(show(two.identify(req("GET", "/true/love/waits.php", "1.1")))).toBe("/svc/true/love");
    expect(show(two.identify(req("GET", "/true", "1.1")))).toBe(
      "unidentified: not enough segments in path",
    );
    expect(show(two.identify(req("GET", "/", "1.1")))).toBe(
      "unidentified: not enough segments in path",
    );
    expect(show(two.identify(req("GET", "http://h/a/b/c", "1.1")))).toBe("/svc/a/b");
  });

  it("consume: the rest of the target goes on (query kept, trailing slash kept, nothing left → /)", () => {
    const id = make({ kind: "io.l5d.path", segments: 2, consume: true });
    const rewrite = (t: string) => {
      const r = id.identify(req("GET", t, "1.1"));
      return r.kind === "ok" ? r.rewritePath : r.reason;
    };
    expect(rewrite("/true/love/waits.php")).toBe("/waits.php");
    expect(rewrite("/api/books/42?full=1")).toBe("/42?full=1");
    expect(rewrite("/api/books/a/b/")).toBe("/a/b/");
    expect(rewrite("/api/books")).toBe("/");
    expect(rewrite("/api/books?x=1")).toBe("/?x=1");
    const keep = make({ kind: "io.l5d.path", segments: 1 }).identify(req("GET", "/a/b", "1.1"));
    expect(keep.kind === "ok" && keep.rewritePath).toBe(undefined);
  });

  it("refuses segments below 1", () => {
    const f = httpIdentifierFactories.find((x) => x.kind === "io.l5d.path");
    if (f === undefined) throw new Error("no io.l5d.path");
    expect(() =>
      (f.schema as { parse(v: unknown): unknown }).parse({ kind: "io.l5d.path", segments: 0 }),
    ).toThrow(/positive integer/);
  });
});

describe("io.l5d.header", () => {
  it("reads l5d-name as a path", () => {
    const id = make({ kind: "io.l5d.header" });
    expect(show(id.identify(req("GET", "/", "1.1", [["l5d-name", "/books/v2"]])))).toBe(
      "/svc/books/v2",
    );
    expect(show(id.identify(req("GET", "/", "1.1")))).toBe(
      "unidentified: l5d-name header is absent",
    );
    expect(show(id.identify(req("GET", "/", "1.1", [["l5d-name", "not a path"]])))).toMatch(
      /^unidentified: l5d-name header is not a path: /,
    );
  });

  it("reads the configured header", () => {
    const id = make({ kind: "io.l5d.header", header: "X-Dst" });
    expect(show(id.identify(req("GET", "/", "1.1", [["x-dst", "/a"]])))).toBe("/svc/a");
  });
});

describe("io.l5d.static", () => {
  it("names every request the same; the path is required and checked", () => {
    const id = make({ kind: "io.l5d.static", path: "/foo/bar" });
    expect(show(id.identify(req("GET", "/x", "1.1")))).toBe("/svc/foo/bar");
    expect(show(id.identify(req("POST", "/y", "1.0")))).toBe("/svc/foo/bar");
    const f = httpIdentifierFactories.find((x) => x.kind === "io.l5d.static");
    const schema = f?.schema as {
      safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } };
    };
    expect(schema.safeParse({ kind: "io.l5d.static" }).error?.issues[0]?.message).toBe("required");
    expect(
      schema.safeParse({ kind: "io.l5d.static", path: "no slash" }).error?.issues[0]?.message,
    ).toMatch(/^invalid path/);
  });
});
