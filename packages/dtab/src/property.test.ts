import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Dentry, Dtab, Prefix, type PrefixElem } from "./dtab.js";
import { NameTree } from "./name-tree.js";
import { Path } from "./path.js";

const byteElem = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(...[..."az09_:.#$%-*"].map((c) => c.charCodeAt(0))),
    ),
    {
      minLength: 1,
      maxLength: 6,
    },
  )
  .map((codes) => String.fromCharCode(...codes));
const pathArb = fc.array(byteElem, { maxLength: 5 }).map((es) => Path.of(...es));
const prefixArb = fc
  .array(
    fc.oneof(
      byteElem.map((v): PrefixElem => ({ type: "label", value: v })),
      fc.constant<PrefixElem>(Prefix.any),
    ),
    {
      maxLength: 4,
    },
  )
  .map((es) => Prefix.of(...es));

/** Trees without single-member wrappers, with integer weights 0–9 (NameTreeTest's generator). */
const treeArb: fc.Arbitrary<NameTree<Path>> = fc.letrec<{ tree: NameTree<Path> }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    pathArb.map((p) => NameTree.leaf(p)),
    fc.constantFrom(NameTree.neg, NameTree.fail, NameTree.empty),
    fc.array(tie("tree"), { minLength: 2, maxLength: 3 }).map((ts) => NameTree.alt(...ts)),
    fc
      .array(fc.record({ weight: fc.integer({ min: 0, max: 9 }), tree: tie("tree") }), {
        minLength: 2,
        maxLength: 3,
      })
      .map((ws) => NameTree.union(...ws)),
  ),
})).tree;

describe("read(show(x)) round trips", () => {
  it("paths", () => {
    fc.assert(
      fc.property(pathArb, (p) => {
        expect(Path.read(p.show).equals(p)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
  it("name trees", () => {
    fc.assert(
      fc.property(treeArb, (t) => {
        const back = NameTree.read(NameTree.show(t));
        expect(NameTree.equals(back, t)).toBe(true);
        expect(NameTree.show(back)).toBe(NameTree.show(t));
      }),
      { numRuns: 300 },
    );
  });
  it("dtabs", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(prefixArb, treeArb), { maxLength: 4 }), (entries) => {
        const d = Dtab.of(...entries.map(([p, t]) => new Dentry(p, t)));
        const back = Dtab.read(d.show);
        expect(back.equals(d)).toBe(true);
        expect(back.show).toBe(d.show);
      }),
      { numRuns: 200 },
    );
  });
  it("simplify is idempotent and preserves eval", () => {
    fc.assert(
      fc.property(treeArb, (t) => {
        const s = NameTree.simplify(t);
        expect(NameTree.equals(NameTree.simplify(s), s)).toBe(true);
        const a =
          NameTree.eval(t)
            ?.map((p) => p.show)
            .sort() ?? null;
        const b =
          NameTree.eval(s)
            ?.map((p) => p.show)
            .sort() ?? null;
        expect(b).toEqual(a);
      }),
      { numRuns: 300 },
    );
  });
});
