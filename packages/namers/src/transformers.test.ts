import {
  Activity,
  Addr,
  address,
  applyTransformer,
  type NameBound,
  NameTree,
  NameBound as NB,
  Path,
  Var,
} from "@l5d/dtab";
import { describe, expect, it } from "vitest";
import { addrList, waitFor } from "./__tests__/wait.js";
import { localhostTransformer, localIps } from "./transformer-localhost.js";
import { portTransformer, portTransformerFactory } from "./transformer-port.js";
import { constTransformer, replaceTransformer } from "./transformer-replace.js";
import { specificHostTransformer } from "./transformer-specific-host.js";

function bound(id: string, ...hostports: [string, number][]): NameBound {
  return new NB(
    Path.read(id),
    Var.value(Addr.bound(hostports.map(([h, p]) => address(h, p, { nodeName: "n1" })))),
    Path.read("/rest"),
  );
}

async function leaves(tree: Activity<NameTree<NameBound>>): Promise<NameBound[]> {
  const s = await waitFor(tree, (x) => x.kind !== "pending");
  if (s.kind !== "ok") throw new Error(`not ok: ${s.kind}`);
  return NameTree.eval(s.value, (a, b) => a.id.equals(b.id)) ?? [];
}

describe("io.l5d.port", () => {
  it("rewrites every address's port and prefixes the id", async () => {
    const t = portTransformerFactory.make(
      portTransformerFactory.schema.parse({ kind: "io.l5d.port", port: 4141 }),
      undefined as never,
    );
    const tree = NameTree.union(
      NameTree.weighted(
        1,
        NameTree.leaf(bound("/#/io.l5d.fs/a", ["10.0.0.1", 7777], ["10.0.0.2", 7777])),
      ),
      NameTree.weighted(2, NameTree.leaf(bound("/#/io.l5d.fs/b", ["10.0.0.3", 8888]))),
    );
    const out = await leaves(applyTransformer(t, Activity.value(tree)));
    expect(out.map((b) => b.id.show)).toEqual([
      "/%/io.l5d.port/4141/#/io.l5d.fs/a",
      "/%/io.l5d.port/4141/#/io.l5d.fs/b",
    ]);
    expect(out.map((b) => addrList(b.addr.sample()))).toEqual([
      ["10.0.0.1:4141", "10.0.0.2:4141"],
      ["10.0.0.3:4141"],
    ]);
    expect(out[0]?.residual.show).toBe("/rest");
    const a = out[0]?.addr.sample();
    expect(a?.type === "bound" && a.addrs[0]?.meta).toEqual({ nodeName: "n1" });
  });

  it("honours a custom prefix and leaves neg/pending addresses alone", async () => {
    const t = portTransformer(1, Path.read("/p"));
    const nb = new NB(Path.read("/x"), Var.value(Addr.neg), Path.empty);
    const [b] = await leaves(applyTransformer(t, Activity.value(NameTree.leaf(nb))));
    expect(b?.id.show).toBe("/%/p/x");
    expect(b?.addr.sample().type).toBe("neg");
  });
});

describe("io.l5d.localhost and io.l5d.specificHost", () => {
  it("keeps only local addresses; an emptied set is Addr.Neg", async () => {
    expect(localIps().has("127.0.0.1")).toBe(true);
    const t = localhostTransformer();
    const [b] = await leaves(
      applyTransformer(
        t,
        Activity.value(NameTree.leaf(bound("/a", ["127.0.0.1", 1], ["192.0.2.7", 2]))),
      ),
    );
    expect(b?.id.show).toBe("/%/io.l5d.localhost/a");
    expect(addrList(b?.addr.sample() ?? Addr.pending)).toEqual(["127.0.0.1:1"]);
    const [c] = await leaves(
      applyTransformer(t, Activity.value(NameTree.leaf(bound("/b", ["192.0.2.7", 2])))),
    );
    expect(c?.addr.sample().type).toBe("neg");
  });

  it("keeps only the given host (resolved)", async () => {
    const t = specificHostTransformer("localhost");
    const [b] = await leaves(
      applyTransformer(
        t,
        Activity.value(NameTree.leaf(bound("/a", ["127.0.0.1", 1], ["127.0.0.2", 2]))),
      ),
    );
    expect(b?.id.show).toBe("/%/io.l5d.specificHost/a");
    const a = await waitFor(b?.addr ?? Var.value(Addr.pending), (x) => x.type !== "pending");
    expect(addrList(a)).toEqual(["127.0.0.1:1"]);
  });
});

describe("io.l5d.replace and io.l5d.const", () => {
  it("replace swaps every leaf for the binding of the path, keeping Neg", async () => {
    const t = replaceTransformer(Path.read("/$/inet/127.0.0.1/4141"));
    const tree = NameTree.alt(NameTree.neg, NameTree.leaf(bound("/a", ["10.0.0.1", 1])));
    const s = await waitFor(applyTransformer(t, Activity.value(tree)), (x) => x.kind !== "pending");
    if (s.kind !== "ok" || s.value.type !== "alt") throw new Error("expected alt");
    expect(s.value.trees[0]?.type).toBe("neg");
    const leaf = s.value.trees[1];
    if (leaf?.type !== "leaf") throw new Error("expected leaf");
    expect(leaf.value.id.show).toBe("/%/io.l5d.replace/$/inet/127.0.0.1/4141");
    expect(addrList(await waitFor(leaf.value.addr, (a) => a.type === "bound"))).toEqual([
      "127.0.0.1:4141",
    ]);
    expect(t.delegating).toBe(false);
  });

  it("const replaces the whole tree, even Neg", async () => {
    const t = constTransformer(Path.read("/$/inet/127.0.0.1/4142"));
    const [b] = await leaves(
      applyTransformer(t, Activity.value(NameTree.neg as NameTree<NameBound>)),
    );
    expect(b?.id.show).toBe("/%/io.l5d.const/$/inet/127.0.0.1/4142");
  });
});
