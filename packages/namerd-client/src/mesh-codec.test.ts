/**
 * The mesh codec: our types survive a trip through the protobuf bytes, and those bytes are
 * Linkerd's (field numbers checked against hand-encoded messages).
 */
import {
  Activity,
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
import { mesh } from "@l5d/proto";
import { describe, expect, it } from "vitest";
import {
  addrToReplicas,
  boundTreeFromProto,
  boundTreeToProto,
  bytesToIp,
  delegateTreeFromProto,
  delegateTreeToProto,
  dtabFromProto,
  dtabToProto,
  ipToBytes,
  MeshCodecError,
  namespaceFromRoot,
  pathFromProto,
  pathToProto,
  pathTreeFromProto,
  pathTreeToProto,
  replicasToAddr,
  rootForNamespace,
} from "./mesh-codec.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const addrFor = (id: Path) =>
  Var.value<Addr>(Addr.bound([address("10.0.0.1", 1)], { id: id.show }));

describe("wire format (Linkerd's field numbers)", () => {
  it("BindReq: root=1, name=2, dtab=3; Path.elems=1 as bytes", () => {
    const req: mesh.BindReq = {
      root: pathToProto(Path.read("/default")),
      name: pathToProto(Path.read("/a")),
      dtab: dtabToProto(Dtab.read("/b=>/c")),
    };
    // root: 0a 09 [Path: 0a 07 "default"]; name: 12 03 [0a 01 "a"]
    // dtab: 1a 12 [Dtab.dentries=1: 0a 10 [Dentry.prefix=1: 0a 05 [Prefix.elems=1: 0a 03
    //   [Elem.label=1: 0a 01 "b"]]; Dentry.dst=2: 12 07 [PathNameTree.leaf=6: 32 05
    //   [Leaf.id=1: 0a 03 [Path: 0a 01 "c"]]]]]
    expect(hex(mesh.BindReq.encode(req).finish())).toBe(
      "0a090a0764656661756c74" + "12030a0161" + "1a120a100a050a030a0162120732050a030a0163",
    );
  });

  it("a dentry prefix wildcard is Elem.wildcard=2; union weights are doubles (Weighted 1, 2)", () => {
    const d = dtabToProto(Dtab.read("/*=>0.5*/x & /y"));
    const prefix = mesh.Dtab_Dentry_Prefix.encode(d.dentries[0]!.prefix!).finish();
    expect(hex(prefix)).toBe("0a021200");
    const union = mesh.PathNameTree.encode(d.dentries[0]!.dst!).finish();
    // 2a LEN [0a LEN [09 <0.5 as double> 12 LEN leaf] 0a LEN [09 <1.0> 12 LEN leaf]]
    expect(hex(union)).toMatch(/^2a..0a..09000000000000e03f12/);
  });

  it("BoundNameTree leaf=6 (id=1, residual=2); Neg=1, Fail=2, Empty=3, Alt=4, Union=5", () => {
    const leaf = boundTreeToProto(
      NameTree.leaf(new NameBound(Path.read("/a"), Var.value(Addr.neg), Path.empty)),
    );
    expect(hex(mesh.BoundNameTree.encode(leaf).finish())).toBe("32070a030a01611200");
    expect(hex(mesh.BoundNameTree.encode(boundTreeToProto(NameTree.neg)).finish())).toBe("0a00");
    expect(hex(mesh.BoundNameTree.encode(boundTreeToProto(NameTree.fail)).finish())).toBe("1200");
    expect(hex(mesh.BoundNameTree.encode(boundTreeToProto(NameTree.empty)).finish())).toBe("1a00");
  });

  it("Replicas.bound=4 with Endpoint address=2 and port=3 (INET4 = 0 is not sent)", () => {
    const r = addrToReplicas(Addr.bound([address("127.0.0.1", 8080)]));
    // 22 LEN [0a LEN [12 04 7f000001 18 903f 22 02 0a 00?]] (meta.nodeName "" encodes empty)
    const b = hex(mesh.Replicas.encode(r).finish());
    expect(b.startsWith("22")).toBe(true);
    expect(b).toContain("12047f0000011890" + "3f");
    expect(hex(mesh.Replicas.encode({ pending: {} }).finish())).toBe("0a00");
    expect(hex(mesh.Replicas.encode({ neg: {} }).finish())).toBe("1200");
    expect(hex(mesh.Replicas.encode({ failed: { message: "x" } }).finish())).toBe("1a030a0178");
  });

  it("BoundDelegateTree: path=1, dentry=2, exception=11 (a string)", () => {
    const t = delegateTreeToProto({
      type: "exception",
      path: Path.read("/a"),
      dentry: Dentry.nop,
      error: new Error("boom"),
    });
    const b = hex(mesh.BoundDelegateTree.encode(t).finish());
    expect(b.startsWith("0a030a0161")).toBe(true);
    expect(b.endsWith("5a04" + Buffer.from("boom").toString("hex"))).toBe(true);
  });
});

describe("paths and namespaces", () => {
  it("keeps any byte of a path element", () => {
    const p = Path.of("caf\xc3\xa9", "\xff\x00bin");
    const back = pathFromProto(mesh.Path.decode(mesh.Path.encode(pathToProto(p)).finish()));
    expect(back.equals(p)).toBe(true);
    expect(pathToProto(Path.utf8("café")).elems[0]!.toString("utf8")).toBe("café");
  });

  it("refuses an empty element, naming the field", () => {
    expect(() => pathFromProto({ elems: [Buffer.from("a"), Buffer.alloc(0)] }, "name")).toThrow(
      new MeshCodecError("name: element 1 is empty"),
    );
  });

  it("maps a one-element root to its namespace and back", () => {
    expect(namespaceFromRoot(Path.read("/default"))).toBe("default");
    expect(rootForNamespace("prod").show).toBe("/prod");
    expect(() => namespaceFromRoot(Path.read("/a/b"))).toThrow(/exactly one element/);
    expect(() => namespaceFromRoot(Path.empty)).toThrow(/invalid root \//);
  });
});

describe("dtabs and name trees", () => {
  it("round-trips every node kind, wildcards and weights", () => {
    const d = Dtab.read(
      "/svc/*/x => /#/io.l5d.fs/a | ~ ; /b => 0.25*/c & 0.75*(/d | !) ; /e => $ ; /f => ~",
    );
    const bytes = mesh.Dtab.encode(dtabToProto(d)).finish();
    expect(dtabFromProto(mesh.Dtab.decode(bytes)).show).toBe(d.show);
    expect(dtabFromProto(undefined).isEmpty).toBe(true);
  });

  it("round-trips a path tree and refuses a node with nothing set", () => {
    const t = NameTree.read("/a | (/b & 2*/c)");
    expect(NameTree.show(pathTreeFromProto(pathTreeToProto(t)))).toBe(NameTree.show(t));
    expect(() => pathTreeFromProto({})).toThrow(MeshCodecError);
    expect(() => dtabFromProto({ dentries: [{ prefix: { elems: [] }, dst: undefined }] })).toThrow(
      /dentry 0: missing destination/,
    );
  });

  it("refuses a negative or non-finite weight and an over-deep tree", () => {
    expect(() =>
      pathTreeFromProto({ union: { trees: [{ weight: -1, tree: { neg: {} } }] } }),
    ).toThrow(/invalid union weight -1/);
    let deep: mesh.PathNameTree = { neg: {} };
    for (let i = 0; i < 150; i++) deep = { alt: { trees: [deep] } };
    expect(() => pathTreeFromProto(deep)).toThrow(/deeper than 100/);
  });
});

describe("bound trees", () => {
  it("decodes leaves with their residual and the caller's address Var", async () => {
    const tree = NameTree.union(
      NameTree.weighted(
        0.9,
        NameTree.leaf(
          new NameBound(Path.read("/#/io.l5d.fs/a"), Var.value(Addr.neg), Path.read("/rest")),
        ),
      ),
      NameTree.weighted(0.1, NameTree.alt<NameBound>(NameTree.neg, NameTree.empty, NameTree.fail)),
    );
    const wire = mesh.BoundNameTree.decode(
      mesh.BoundNameTree.encode(boundTreeToProto(tree)).finish(),
    );
    const back = boundTreeFromProto(wire, addrFor);
    expect(NameTree.show(back)).toBe("0.90*/#/io.l5d.fs/a & 0.10*(~ | $ | !)");
    const leaf = NameTree.leaves(back)[0]!;
    expect(leaf.residual.show).toBe("/rest");
    const a = await Activity.toPromise(Var.map(leaf.addr, (x) => Activity.ok(x)));
    expect(a.type === "bound" && a.meta.id).toBe("/#/io.l5d.fs/a");
  });

  it("refuses a leaf without an id", () => {
    expect(() =>
      boundTreeFromProto({ leaf: { id: undefined, residual: undefined } }, addrFor),
    ).toThrow(/missing id/);
  });
});

describe("replica sets", () => {
  it("round-trips IPv4 and IPv6 endpoints with weights and metadata", () => {
    const a = Addr.bound(
      [
        address("10.1.2.3", 8080, { nodeName: "node-a" }, 2),
        address("fe80::1:2", 9090, { zone: "b" }),
        address("::ffff:1.2.3.4", 1),
      ],
      { namer_nametree_weight: 0.5, source: "fs" },
    );
    const back = replicasToAddr(
      mesh.Replicas.decode(mesh.Replicas.encode(addrToReplicas(a)).finish()),
    );
    expect(back).toEqual(
      Addr.bound(
        [
          address("10.1.2.3", 8080, { nodeName: "node-a" }, 2),
          address("fe80::1:2", 9090, { zone: "b" }),
          address("::ffff:102:304", 1),
        ],
        { namer_nametree_weight: 0.5, source: "fs" },
      ),
    );
  });

  it("leaves out a host name (Linkerd carries resolved IPs only)", () => {
    const r = addrToReplicas(Addr.bound([address("namerd.local", 1), address("127.0.0.1", 2)]));
    expect(r.bound?.endpoints.map((e) => e.port)).toEqual([2]);
  });

  it("maps pending, neg, failed, and an unset result as Neg (as Linkerd's client)", () => {
    expect(replicasToAddr(addrToReplicas(Addr.pending))).toEqual(Addr.pending);
    expect(replicasToAddr(addrToReplicas(Addr.neg))).toEqual(Addr.neg);
    const f = replicasToAddr(addrToReplicas(Addr.failed(new Error("no dns"))));
    expect(f.type === "failed" && f.cause.message).toBe("no dns");
    expect(replicasToAddr({})).toEqual(Addr.neg);
  });

  it("refuses an address that is not 4 or 16 bytes, and a bad port", () => {
    const ep = (address: Buffer, port: number): mesh.Replicas => ({
      bound: {
        endpoints: [{ inetAf: 0, address, port, meta: undefined, metadata: {} }],
        metadata: {},
      },
    });
    expect(() => replicasToAddr(ep(Buffer.from([1, 2, 3]), 80))).toThrow(/3 bytes/);
    expect(() => replicasToAddr(ep(Buffer.from([1, 2, 3, 4]), 0))).toThrow(/port 0/);
  });

  it("converts IP literals to network-order bytes and back", () => {
    expect(hex(ipToBytes("1.2.3.4")!)).toBe("01020304");
    expect(hex(ipToBytes("::1")!)).toBe("00000000000000000000000000000001");
    expect(hex(ipToBytes("[2001:db8::8:800:200c:417a]")!)).toBe("20010db80000000000080800200c417a");
    expect(hex(ipToBytes("::ffff:10.0.0.1")!)).toBe("00000000000000000000ffff0a000001");
    expect(ipToBytes("localhost")).toBeUndefined();
    expect(bytesToIp(ipToBytes("2001:db8:0:0:1:0:0:1")!)).toBe("2001:db8::1:0:0:1");
    expect(bytesToIp(Buffer.from([127, 0, 0, 1]))).toBe("127.0.0.1");
  });
});

describe("delegate trees", () => {
  it("round-trips delegations, alternatives, unions, transformations and exceptions", () => {
    const nb = (id: string) => new NameBound(Path.read(id), Var.value(Addr.neg), Path.read("/r"));
    const d1 = Dentry.read("/svc=>/#/io.l5d.fs");
    const tree: DelegateTree = {
      type: "delegate",
      path: Path.read("/svc/a"),
      dentry: Dentry.nop,
      tree: {
        type: "alt",
        path: Path.read("/#/io.l5d.fs/a"),
        dentry: d1,
        trees: [
          { type: "neg", path: Path.empty, dentry: d1 },
          {
            type: "union",
            path: Path.read("/#/io.l5d.fs/a"),
            dentry: d1,
            weighted: [
              {
                weight: 3,
                tree: {
                  type: "leaf",
                  path: Path.read("/x"),
                  dentry: d1,
                  value: nb("/#/io.l5d.fs/a"),
                },
              },
              {
                weight: 1,
                tree: {
                  type: "transformation",
                  path: Path.read("/y"),
                  name: "io.l5d.localhost",
                  value: nb("/#/io.l5d.fs/b"),
                  tree: {
                    type: "leaf",
                    path: Path.read("/y"),
                    dentry: d1,
                    value: nb("/%/io.l5d.localhost/#/io.l5d.fs/b"),
                  },
                },
              },
            ],
          },
          {
            type: "exception",
            path: Path.read("/z"),
            dentry: d1,
            error: new Error("namer failed"),
          },
          { type: "fail", path: Path.read("/f"), dentry: d1 },
          { type: "empty", path: Path.read("/e"), dentry: d1 },
        ],
      },
    };
    const wire = mesh.BoundDelegateTree.decode(
      mesh.BoundDelegateTree.encode(delegateTreeToProto(tree)).finish(),
    );
    const back = delegateTreeFromProto(wire, addrFor);
    const strip = (t: unknown): unknown =>
      JSON.parse(
        JSON.stringify(t, (k, v) =>
          v instanceof Path || v instanceof Dentry
            ? v.show
            : v instanceof NameBound
              ? { id: v.id.show, residual: v.residual.show }
              : v instanceof Error
                ? v.message
                : k === "addr"
                  ? undefined
                  : v,
        ),
      );
    expect(strip(back)).toEqual(strip(tree));
  });

  it("refuses a node with nothing set", () => {
    expect(() => delegateTreeFromProto({ path: undefined, dentry: undefined }, addrFor)).toThrow(
      /no node set/,
    );
  });
});
