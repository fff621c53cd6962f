import { describe, expect, it } from "vitest";
import { Addr } from "./addr.js";
import { formatWeight } from "./format-weight.js";
import { NameBound } from "./name.js";
import { NameTree } from "./name-tree.js";
import { Path } from "./path.js";
import { Var } from "./var.js";

const show = (s: string) => NameTree.show(NameTree.read(s));
const leaf = (s: string) => NameTree.leaf(Path.read(s));

describe("formatWeight (Java %.2f, HALF_UP on the shortest decimal)", () => {
  it("rounds like Java where toFixed differs", () => {
    expect(formatWeight(1.005)).toBe("1.01");
    expect(formatWeight(2.675)).toBe("2.68");
    expect(formatWeight(0.015)).toBe("0.02");
    expect(formatWeight(0.045)).toBe("0.05");
    expect(formatWeight(0.125)).toBe("0.13");
    expect(formatWeight(0.999)).toBe("1.00");
    expect(formatWeight(0)).toBe("0.00");
    expect(formatWeight(100)).toBe("100.00");
    expect(formatWeight(0.004)).toBe("0.00");
    expect(formatWeight(0.005)).toBe("0.01");
    expect(formatWeight(1e21)).toBe("1000000000000000000000.00");
    expect(formatWeight(1e-7)).toBe("0.00");
  });
});

describe("NameTree.show", () => {
  it("prints weights with no spaces and omits 1.0", () => {
    expect(show("0.5*/a & 2*/b & 0*/c & 100*/d & 0.999*/e & 1.0*/f")).toBe(
      "0.50*/a & 2.00*/b & 0.00*/c & 100.00*/d & 1.00*/e & /f",
    );
    expect(show("1.005 * /a & /b")).toBe("1.01*/a & /b");
  });
  it("parenthesises Alt inside Alt/Union and Union inside Union, not Union inside Alt", () => {
    expect(show("/a & /b | /c")).toBe("/a & /b | /c");
    expect(show("(/a | /b) | /c")).toBe("(/a | /b) | /c");
    expect(show("(/a | /b) & /c")).toBe("(/a | /b) & /c");
    expect(show("(/a & /b) & /c")).toBe("(/a & /b) & /c");
    expect(show("2*(/a & /b) & /c")).toBe("2.00*(/a & /b) & /c");
    expect(show("((/a & /b) | /c) & /d")).toBe("(/a & /b | /c) & /d");
  });
  it("never simplifies and prints ! ~ $", () => {
    expect(show("~ | /a")).toBe("~ | /a");
    expect(show("/a & ~")).toBe("/a & ~");
    expect(show("$ & $")).toBe("$ & $");
    expect(show("!")).toBe("!");
  });
  it("treats single-member wrappers as transparent and prints empty Alt/Union as ''", () => {
    expect(NameTree.show(NameTree.alt(NameTree.union(NameTree.weighted(3, leaf("/a")))))).toBe(
      "/a",
    );
    expect(NameTree.show(NameTree.alt())).toBe("");
    expect(NameTree.show(NameTree.union())).toBe("");
    expect(NameTree.show(NameTree.alt(leaf("/a"), NameTree.alt(NameTree.alt(leaf("/b")))))).toBe(
      "/a | /b",
    );
  });
  it("prints bound names by id, or with a custom leaf printer", () => {
    const b = new NameBound(Path.read("/$/inet/127.1/80"), Var.value(Addr.neg), Path.read("/x"));
    expect(NameTree.show(NameTree.union(NameTree.leaf(b), NameTree.empty))).toBe(
      "/$/inet/127.1/80 & $",
    );
    expect(NameTree.show(NameTree.leaf(b), (x) => `<${x.residual.show}>`)).toBe("</x>");
  });
});

describe("NameTree.simplify", () => {
  const simp = (s: string) => NameTree.show(NameTree.simplify(NameTree.read(s)));
  it("follows Finagle's Alt rules", () => {
    expect(simp("~ | /a")).toBe("/a");
    expect(simp("~ | ~")).toBe("~");
    expect(simp("/a | ! | /b")).toBe("/a | !");
    expect(simp("! | /a")).toBe("!");
    expect(simp("$ | /a")).toBe("$ | /a");
    expect(simp("(~ | /a) | /b")).toBe("/a | /b");
    expect(simp("(/a | /b) | /c")).toBe("(/a | /b) | /c");
  });
  it("follows Finagle's Union rules (drop Neg and Fail, keep Empty and weights)", () => {
    expect(simp("0.5*/a & 0.5*!")).toBe("/a");
    expect(simp("0.5*/a & ~ & 2*/b")).toBe("0.50*/a & 2.00*/b");
    expect(simp("! & !")).toBe("~");
    expect(simp("/a & $")).toBe("/a & $");
    expect(simp("/a & /a")).toBe("/a & /a");
  });
  it("is idempotent and unwraps empty/single wrappers", () => {
    expect(NameTree.simplify(NameTree.alt())).toBe(NameTree.neg);
    expect(NameTree.simplify(NameTree.union())).toBe(NameTree.neg);
    const t = NameTree.read("(~ | (/a & !)) | ((! & ~) | $) & /b");
    const s = NameTree.simplify(t);
    expect(NameTree.simplify(s)).toEqual(s);
  });
});

describe("NameTree.eval", () => {
  const ev = (s: string) => NameTree.eval(NameTree.read(s))?.map((p) => p.show) ?? null;
  it("matches NameTreeTest", () => {
    expect(ev("~ | $ | /blah")).toEqual([]);
    expect(ev("! | /ok")).toBeNull();
    expect(ev("/ok & !")).toEqual(["/ok"]);
    expect(ev("~ | /ok | !")).toEqual(["/ok"]);
    expect(ev("~")).toBeNull();
    expect(ev("~ & !")).toBeNull();
    expect(ev("/a & /b & /a")).toEqual(["/a", "/b"]);
    expect(ev("$")).toEqual([]);
  });
});

describe("NameTree.map / equals / equiv", () => {
  it("maps leaves keeping weights", () => {
    const t = NameTree.map(NameTree.read("2*/a & /b | !"), (p) => p.concat(Path.read("/x")));
    expect(NameTree.show(t)).toBe("2.00*/a/x & /b/x | !");
  });
  it("compares structurally (weights included) and equiv compares simplified", () => {
    expect(NameTree.equals(NameTree.read("/a & /b"), NameTree.read("/a&/b"))).toBe(true);
    expect(NameTree.equals(NameTree.read("2*/a & /b"), NameTree.read("/a & /b"))).toBe(false);
    expect(NameTree.equiv(NameTree.read("~ | /a"), NameTree.read("/a"))).toBe(true);
  });
});
