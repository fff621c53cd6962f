import { Addr, Dtab, NameBound, NameTree, Path, VarCell } from "@l5d/dtab";
import { describe, expect, it } from "vitest";
import { dtabFromWire, dtabToWire, treeFromWire, treeToWire, type WireTree } from "./wire.js";

/** A bound tree `depth` alternatives deep around one leaf. */
function nested(depth: number): NameTree<NameBound> {
  let t = NameTree.leaf(new NameBound(Path.read("/#/t/a"), new VarCell(Addr.pending), Path.empty));
  for (let i = 0; i < depth; i++) t = NameTree.alt(t, NameTree.neg);
  return t;
}

const roundTrip = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe("the workers' wire", () => {
  it("a bound tree and a dtab cross intact: ids, residuals, weights to the last digit", () => {
    const seen: string[] = [];
    const tree = NameTree.union(
      { weight: 0.004, tree: nested(0) },
      {
        weight: 0.996,
        tree: NameTree.leaf(
          new NameBound(Path.read("/#/t/b"), new VarCell(Addr.pending), Path.read("/rest/x")),
        ),
      },
    );
    const wire = roundTrip(treeToWire(tree, (b) => seen.push(b.id.show)));
    expect(seen).toEqual(["/#/t/a", "/#/t/b"]);
    const back = treeFromWire(wire, () => new VarCell(Addr.neg));
    expect(NameTree.show(back)).toBe(NameTree.show(tree));
    if (back.type !== "union") throw new Error("expected a union");
    expect(back.weighted.map((w) => w.weight)).toEqual([0.004, 0.996]);
    const b = back.weighted[1]!.tree;
    expect(b.type === "leaf" && b.value.residual.show).toBe("/rest/x");

    const dtab = Dtab.read("/svc/* => 0.001*/#/a & 0.999*/#/b | ~; /x=>!");
    const d = dtabFromWire(roundTrip(dtabToWire(dtab)));
    expect(d.show).toBe(dtab.show);
    const dst = d.dentries[0]!.dst;
    if (dst.type !== "alt" || dst.trees[0]!.type !== "union")
      throw new Error("expected alt(union)");
    expect(dst.trees[0]!.weighted.map((w) => w.weight)).toEqual([0.001, 0.999]);
  });

  it("a tree nested deeper than 100 is refused as it arrives; 100 is accepted", () => {
    const ok = roundTrip(treeToWire(nested(100), () => {}));
    expect(() => treeFromWire(ok, () => new VarCell(Addr.neg))).not.toThrow();
    const deep: WireTree = roundTrip(treeToWire(nested(101), () => {}));
    expect(() => treeFromWire(deep, () => new VarCell(Addr.neg))).toThrow(
      "bound tree nested too deeply",
    );
    let dst: NameTree<readonly string[]> = NameTree.leaf(["a"]);
    for (let i = 0; i < 101; i++) dst = NameTree.alt(dst, NameTree.neg);
    expect(() => dtabFromWire([[["svc"], dst]])).toThrow("dtab tree nested too deeply");
  });
});
