import { describe, expect, it } from "vitest";
import { Dtab } from "./dtab.js";
import { NameTree } from "./name-tree.js";
import { Path } from "./path.js";

const look = (dtab: string, path: string) => NameTree.show(Dtab.read(dtab).lookup(Path.read(path)));

describe("Dtab.lookup", () => {
  it("rewrites by prefix and appends the residual", () => {
    expect(look("/a=>/b", "/a/c/d")).toBe("/b/c/d");
    expect(look("/a=>/b", "/a")).toBe("/b");
    expect(look("/foo=>/bar", "/foobar")).toBe("~");
    expect(look("/a/b=>/c", "/a")).toBe("~");
  });
  it("keeps every match, later first, as an Alt (one step, no recursion)", () => {
    expect(look("/foo=>/a | /b;/foo=>/c", "/foo/x")).toBe("/c/x | (/a/x | /b/x)");
    expect(look("/a=>/b;/a=>/c;/a=>/d", "/a")).toBe("/d | /c | /b");
    expect(look("/a=>/b;/b=>/c", "/a")).toBe("/b");
  });
  it("handles wildcard prefixes, consuming the wildcard positions", () => {
    expect(look("/a/*/c=>/d", "/a/b/c/e/f")).toBe("/d/e/f");
    expect(look("/a/*/c=>/d", "/a/b/x/e")).toBe("~");
    expect(look("/http/1.1/*=>/h", "/http/1.1/GET/host/resource")).toBe("/h/host/resource");
    expect(look("/http/1.1=>/h", "/http/1.1/GET/host/resource")).toBe("/h/GET/host/resource");
    expect(look("/\\x2a=>/star", "/x")).toBe("~");
    expect(look("/\\x2a=>/star", "/*".replace("*", "\\x2a"))).toBe("/star");
  });
  it("the empty prefix matches everything, including / and /$ paths", () => {
    expect(look("/=>/x", "/")).toBe("/x");
    expect(look("/=>/x", "/$/inet/1/2")).toBe("/x/$/inet/1/2");
  });
  it("leaves Neg/Fail/Empty and weights untouched", () => {
    expect(look("/a=>0.3*/b & 0.7*/c | ! | ~ | $", "/a/z")).toBe(
      "0.30*/b/z & 0.70*/c/z | ! | ~ | $",
    );
  });
});

describe("Dtab operations", () => {
  const a = Dtab.read("/a=>/b;/c=>/d");
  const b = Dtab.read("/e=>/f");
  it("concat puts this dtab's entries first", () => {
    expect(a.concat(b).show).toBe("/a=>/b;/c=>/d;/e=>/f");
    expect(a.concat(Dtab.empty)).toBe(a);
    expect(Dtab.read("/a=>/b").concat(Dtab.read("/a=>/c")).concat(Dtab.read("/a=>/d")).show).toBe(
      "/a=>/b;/a=>/c;/a=>/d",
    );
  });
  it("stripPrefix removes only a structurally equal leading run", () => {
    const all = a.concat(b);
    expect(all.stripPrefix(a).show).toBe("/e=>/f");
    expect(all.stripPrefix(Dtab.read("/a => /b")).show).toBe("/c=>/d;/e=>/f");
    expect(all.stripPrefix(b)).toBe(all);
    expect(a.stripPrefix(all)).toBe(a);
    expect(all.stripPrefix(Dtab.read("/a=>/b | ~"))).toBe(all);
    expect(a.stripPrefix(a).isEmpty).toBe(true);
  });
  it("simplified simplifies destinations and drops Neg dentries", () => {
    expect(Dtab.read("/a=>~ | /b;/c=>~;/d=>! & ~;/e=>/f & !").simplified.show).toBe(
      "/a=>/b;/e=>/f",
    );
  });
  it("equality is structural per dentry, weights included", () => {
    expect(Dtab.read("/a => 2*/b & /c").equals(Dtab.read("/a=>2.0*/b&/c"))).toBe(true);
    expect(Dtab.read("/a=>2*/b & /c").equals(Dtab.read("/a=>3*/b & /c"))).toBe(false);
    expect(Dtab.read("/a/*=>/b").equals(Dtab.read("/a/\\x2a=>/b"))).toBe(false);
  });
});
