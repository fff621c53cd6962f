/**
 * Our trees and addresses to and from the IDL's flat forms: node ids laid out as Linkerd's
 * ThriftNamerInterface lays them out, round trips, and trees that point nowhere or in circles.
 */
import {
  Addr,
  address,
  type DelegateTree,
  Dentry,
  Dtab,
  NameBound,
  NameTree,
  Path,
  Var,
} from "@l5d/dtab";
import { describe, expect, it } from "vitest";
import {
  addrFromThrift,
  addrToThrift,
  boundTreeFromThrift,
  boundTreeToThrift,
  delegateRequestPath,
  delegateRequestTree,
  delegateTreeFromThrift,
  delegateTreeToThrift,
  NamerTreeError,
} from "./namer-trees.js";

const addrVar = Var.value<Addr>(Addr.pending);
const bound = (id: string, residual = "/") =>
  new NameBound(Path.read(id), addrVar, Path.read(residual));

describe("bound trees", () => {
  it("numbers members depth-first as Linkerd does, and reads them back", () => {
    const tree = NameTree.alt(
      NameTree.leaf(bound("/#/a", "/r")),
      NameTree.union(
        NameTree.weighted(0.3, NameTree.leaf(bound("/#/b"))),
        NameTree.weighted(0.7, NameTree.alt(NameTree.leaf(bound("/#/c")), NameTree.neg)),
      ),
      NameTree.fail,
    );
    const t = boundTreeToThrift(tree);
    expect(t.root).toEqual({ type: "alt", ids: [0, 1, 6] });
    expect(t.nodes.get(1)).toEqual({
      type: "weighted",
      members: [
        { weight: 0.3, id: 2 },
        { weight: 0.7, id: 3 },
      ],
    });
    expect(t.nodes.get(3)).toEqual({ type: "alt", ids: [4, 5] });
    expect(t.nodes.get(5)).toEqual({ type: "neg" });
    expect(t.nodes.get(6)).toEqual({ type: "fail" });
    const seen: string[] = [];
    const back = boundTreeFromThrift(t, (id) => {
      seen.push(id.show);
      return addrVar;
    });
    expect(NameTree.show(back)).toBe(NameTree.show(tree));
    expect(seen).toEqual(["/#/a", "/#/b", "/#/c"]);
    const leaf = back.type === "alt" ? back.trees[0] : undefined;
    expect(leaf?.type === "leaf" && leaf.value.residual.show).toBe("/r");
  });

  it("refuses dangling and circular node ids, and a leaf without an id", () => {
    const nowhere = { root: { type: "alt" as const, ids: [7] }, nodes: new Map() };
    expect(() => boundTreeFromThrift(nowhere, () => addrVar)).toThrow(/unknown node id: 7/);
    const loop = {
      root: { type: "alt" as const, ids: [0] },
      nodes: new Map([[0, { type: "alt" as const, ids: [0] }]]),
    };
    expect(() => boundTreeFromThrift(loop, () => addrVar)).toThrow(NamerTreeError);
    const noId = {
      root: { type: "leaf" as const, name: { id: Path.empty, residual: Path.empty } },
      nodes: new Map(),
    };
    expect(() => boundTreeFromThrift(noId, () => addrVar)).toThrow(/without an id/);
  });
});

describe("addresses", () => {
  it("carries IPv4 and IPv6 bytes, weights, node names and authority", () => {
    const a = Addr.bound(
      [
        address("127.0.0.1", 8080),
        address("::1", 9090, { nodeName: "n1" }, 2),
        address("some-host", 80),
      ],
      { authority: "svc.local" },
    );
    const v = addrToThrift(a as Addr & { type: "bound" });
    expect(v).toEqual({
      type: "bound",
      bound: {
        addresses: [
          { ip: Buffer.from([127, 0, 0, 1]), port: 8080 },
          {
            ip: Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            port: 9090,
            meta: { nodeName: "n1", endpointAddrWeight: 2 },
          },
        ],
        meta: { authority: "svc.local" },
      },
    });
    expect(addrFromThrift(v)).toEqual(
      Addr.bound([address("127.0.0.1", 8080), address("::1", 9090, { nodeName: "n1" }, 2)], {
        authority: "svc.local",
      }),
    );
    expect(addrFromThrift(addrToThrift(Addr.neg as Addr & { type: "neg" }))).toEqual(Addr.neg);
    expect(() =>
      addrFromThrift({
        type: "bound",
        bound: { addresses: [{ ip: Buffer.from([1, 2, 3]), port: 1 }] },
      }),
    ).toThrow(/3 bytes/);
    expect(() =>
      addrFromThrift({
        type: "bound",
        bound: { addresses: [{ ip: Buffer.from([1, 2, 3, 4]), port: 70000 }] },
      }),
    ).toThrow(/out of range/);
  });
});

describe("delegation explanations", () => {
  it("sends one path leaf under the nop dentry, and reads the path back", () => {
    const t = delegateRequestTree(Path.read("/svc/x"));
    expect(t.root.dentry).toBe(Dentry.nop.show);
    expect(delegateRequestPath(t).show).toBe("/svc/x");
    expect(() =>
      delegateRequestPath({ root: { ...t.root, contents: { type: "neg" } }, nodes: new Map() }),
    ).toThrow(/too complex/);
  });

  it("round-trips a delegation with every kind of node", () => {
    const d = Dentry.read("/svc=>/#/io.l5d.fs");
    const tree: DelegateTree<NameBound> = {
      type: "delegate",
      path: Path.read("/svc/x"),
      dentry: Dentry.nop,
      tree: {
        type: "alt",
        path: Path.read("/#/io.l5d.fs/x"),
        dentry: d,
        trees: [
          {
            type: "leaf",
            path: Path.read("/#/io.l5d.fs/x"),
            dentry: d,
            value: bound("/#/io.l5d.fs/x"),
          },
          {
            type: "union",
            path: Path.read("/y"),
            dentry: d,
            weighted: [
              { weight: 0.25, tree: { type: "neg", path: Path.empty, dentry: d } },
              {
                weight: 0.75,
                tree: {
                  type: "exception",
                  path: Path.read("/z"),
                  dentry: d,
                  error: new Error("boom"),
                },
              },
            ],
          },
          {
            type: "transformation",
            path: Path.read("/#/io.l5d.fs/x"),
            name: "io.l5d.port",
            value: bound("/#/io.l5d.fs/x"),
            tree: {
              type: "leaf",
              path: Path.read("/#/io.l5d.fs/x"),
              dentry: d,
              value: bound("/%/p/#/x"),
            },
          },
          { type: "fail", path: Path.read("/f"), dentry: Dtab.read("/f=>!").dentries[0]! },
          { type: "empty", path: Path.read("/e"), dentry: d },
        ],
      },
    };
    const t = delegateTreeToThrift(tree);
    // the delegate's child is numbered before the pointer to it
    expect(t.root.contents.type).toBe("delegate");
    const back = delegateTreeFromThrift(t, () => addrVar);
    const strip = (x: unknown): unknown =>
      JSON.parse(
        JSON.stringify(x, (_k, v) =>
          v instanceof Path
            ? v.show
            : v instanceof Dentry
              ? v.show
              : v instanceof NameBound
                ? `${v.id.show}${v.residual.show}`
                : v instanceof Error
                  ? v.message
                  : v,
        ),
      );
    expect(strip(back)).toEqual(strip(tree));
  });
});
