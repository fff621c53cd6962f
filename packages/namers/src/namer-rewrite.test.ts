import { createDefaultInterpreter, Dtab, isBound, NameTree, Path } from "@l5d/dtab";
import { describe, expect, it } from "vitest";
import { addrList, waitFor } from "./__tests__/wait.js";
import { rewriteNamerFactory, rewritingNamer } from "./namer-rewrite.js";
import { PathMatcher } from "./path-matcher.js";

function vars(pattern: string, path: string): Record<string, string> | undefined {
  const m = new PathMatcher(pattern).extract(Path.read(path));
  return m && Object.fromEntries(m);
}

describe("PathMatcher", () => {
  it("matches literals, * and whole-segment captures as a prefix", () => {
    expect(vars("/foo/{x}/*/bar", "/foo/a/b/bar")).toEqual({ x: "a" });
    expect(vars("/foo/{x}", "/foo/a/ignored/rest")).toEqual({ x: "a" });
    expect(vars("/foo/{x}", "/bar/a")).toBeUndefined();
    expect(vars("/foo/{x}/{y}", "/foo/a")).toBeUndefined();
  });

  it("captures substrings greedily ({A}-{B} on foo-bar-baz)", () => {
    expect(vars("/{A}-{B}", "/foo-bar-baz")).toEqual({ A: "foo-bar", B: "baz" });
    expect(vars("/v{n}.api", "/v2.api")).toEqual({ n: "2" });
    expect(vars("/v{n}.api", "/v2xapi")).toBeUndefined();
  });

  it("compares literals with the element's shown form", () => {
    expect(vars("/\\x20a", "/\\x20a")).toBeUndefined();
    expect(vars("/{x}", "/\\x20a")).toEqual({ x: "\\x20\\x61" });
  });

  it("throws for * with no element left", () => {
    expect(() => new PathMatcher("/a/*").extract(Path.read("/a"))).toThrow(/no element left/);
  });
});

describe("io.l5d.rewrite", () => {
  it("rewrites and discards the elements after the pattern", async () => {
    const n = rewritingNamer("/{svc}/{ver}", "/srv/{svc}-{ver}");
    const s = await waitFor(n.lookup(Path.read("/hello/v1/extra")), (x) => x.kind !== "pending");
    expect(s.kind === "ok" && NameTree.show(s.value)).toBe("/srv/hello-v1");
    const neg = await waitFor(n.lookup(Path.read("/hello")), (x) => x.kind !== "pending");
    expect(neg.kind === "ok" && neg.value.type).toBe("neg");
  });

  it("fails the lookup when the result is not a path", async () => {
    const n = rewritingNamer("/{svc}", "/srv/{other}");
    const s = await waitFor(n.lookup(Path.read("/hello")), (x) => x.kind !== "pending");
    expect(s.kind).toBe("failed");
  });

  it("binds end to end through the default interpreter", async () => {
    const cfg = rewriteNamerFactory.schema.parse({
      kind: "io.l5d.rewrite",
      prefix: "/hostport",
      pattern: "/{host}/{port}",
      name: "/$/inet/{host}/{port}",
    });
    const mounted = rewriteNamerFactory.make(cfg, undefined as never);
    expect(mounted.prefix.show).toBe("/#/hostport");
    const interp = createDefaultInterpreter([mounted]);
    const s = await waitFor(
      interp.bind(Dtab.read("/svc => /#/hostport"), Path.read("/svc/127.0.0.1/8080")),
      (x) => x.kind !== "pending",
    );
    if (s.kind !== "ok" || s.value.type !== "leaf" || !isBound(s.value.value))
      throw new Error("not bound");
    expect(s.value.value.id.show).toBe("/$/inet/127.0.0.1/8080");
    expect(addrList(await waitFor(s.value.value.addr, (a) => a.type === "bound"))).toEqual([
      "127.0.0.1:8080",
    ]);
  });

  it("requires a prefix", () => {
    const r = rewriteNamerFactory.schema.safeParse({
      kind: "io.l5d.rewrite",
      pattern: "/a",
      name: "/b",
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["prefix"]);
    expect(r.error?.issues[0]?.message).toBe("required");
  });
});
