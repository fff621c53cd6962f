/**
 * A worker's RemoteBindings against the primary's BindingHost, joined the way the cluster joins
 * them (every message through a JSON round trip, delivered asynchronously), over the default
 * interpreter and a namer whose answers the test changes.
 */
import {
  Activity,
  type ActivityState,
  Addr,
  address,
  Dtab,
  type Name,
  NameBound,
  NameTree,
  type NameBound as NB,
  Path,
} from "@l5d/dtab";
import { afterEach, describe, expect, it } from "vitest";
import { joinBindings, testNamer, tick } from "./bindings-rig.js";

const closers: Array<() => void> = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

function join() {
  const n = testNamer();
  const j = joinBindings(n.interpreter);
  closers.push(() => j.host.close());
  return { n, ...j };
}

function show(s: ActivityState<NameTree<NB>> | undefined): string {
  if (s === undefined) return "none";
  if (s.kind !== "ok") return s.kind;
  return NameTree.show(s.value);
}

describe("a worker's bindings served by the primary", () => {
  it("binds through the primary's interpreter: pending, then the tree with each leaf's addresses", async () => {
    const { worker, host } = join();
    const act = worker.interpreter("r").bind(Dtab.read("/svc=>/#/t"), Path.read("/svc/a/rest"));
    const seen: Array<ActivityState<NameTree<NB>>> = [];
    const o = act.observe((s) => seen.push(s));
    closers.push(() => o.close());
    expect(seen.map(show)).toEqual(["pending"]);
    await tick();
    expect(seen.map(show)).toEqual(["pending", "/#/t/a"]);
    const last = seen.at(-1)!;
    if (last.kind !== "ok" || last.value.type !== "leaf") throw new Error("expected a leaf");
    expect(last.value.value.residual.show).toBe("/rest");
    expect(last.value.value.addr.sample()).toEqual(Addr.bound([address("127.0.0.1", 1001)]));
    expect(host.bindings).toBe(1);
    expect(host.addrWatches).toBe(1);
  });

  it("an address change reaches the worker's Var without a new tree", async () => {
    const { n, worker, toWorker } = join();
    const act = worker.interpreter("r").bind(Dtab.read("/svc=>/#/t"), Path.read("/svc/a"));
    let trees = 0;
    let leaf: NB | undefined;
    const o = act.observe((s) => {
      if (s.kind === "ok" && s.value.type === "leaf") {
        trees++;
        leaf = s.value.value;
      }
    });
    closers.push(() => o.close());
    await tick();
    const seenAddrs: Addr[] = [];
    const ao = leaf!.addr.observe((a) => seenAddrs.push(a));
    closers.push(() => ao.close());
    n.addrs.a.update(Addr.bound([address("127.0.0.1", 1002)]));
    await tick();
    expect(seenAddrs.map((a) => (a.type === "bound" ? a.addrs[0]!.port : a.type))).toEqual([
      1001, 1002,
    ]);
    expect(trees).toBe(1);
    expect(toWorker.filter((m) => m.l5d === "tree").length).toBe(1);
    n.addrs.a.update(Addr.neg);
    await tick();
    expect(seenAddrs.at(-1)).toEqual(Addr.neg);
  });

  it("an address Var left by its last observer while the primary still watches the id keeps following it", async () => {
    // a router's client may stop observing its endpoints for a while and observe the same Var
    // again: as long as the binding names the id, the Var must stay the one the worker updates
    const { n, worker } = join();
    const act = worker.interpreter("r").bind(Dtab.read("/svc=>/#/t"), Path.read("/svc/a"));
    let leaf: NB | undefined;
    const o = act.observe((s) => {
      if (s.kind === "ok" && s.value.type === "leaf") leaf = s.value.value;
    });
    closers.push(() => o.close());
    await tick();
    leaf!.addr.observe(() => {}).close();
    n.addrs.a.update(Addr.bound([address("127.0.0.1", 1003)]));
    await tick();
    const seen: Addr[] = [];
    const ao = leaf!.addr.observe((a) => seen.push(a));
    closers.push(() => ao.close());
    expect(seen).toEqual([Addr.bound([address("127.0.0.1", 1003)])]);
  });

  it("a union's weights and both members' addresses arrive; an id shared by two bindings is watched once", async () => {
    const { worker, host } = join();
    const i = worker.interpreter("r");
    const seen: string[] = [];
    const o1 = i.bind(Dtab.read("/svc=>/#/t"), Path.read("/svc/ab")).observe((s) => {
      seen.push(show(s));
    });
    const o2 = i.bind(Dtab.read("/svc=>/#/t"), Path.read("/svc/a")).observe(() => {});
    closers.push(
      () => o1.close(),
      () => o2.close(),
    );
    await tick();
    expect(seen.at(-1)).toBe("3.00*/#/t/a & /#/t/b");
    expect(host.bindings).toBe(2);
    expect(host.addrWatches).toBe(2);
  });

  it("a tree that drops an id releases its address watch; the last observer's leaving releases the binding", async () => {
    const { n, worker, host, toHost, toWorker } = join();
    const o = worker
      .interpreter("r")
      .bind(Dtab.read("/svc=>/#/t"), Path.read("/svc/ab"))
      .observe(() => {});
    await tick();
    expect(n.addrs.b.observerCount).toBe(1);
    n.trees
      .get("ab")!
      .update(
        Activity.ok(NameTree.leaf<Name>(new NameBound(Path.read("/#/t/a"), n.addrs.a, Path.empty))),
      );
    await tick();
    expect(host.addrWatches).toBe(1);
    expect(n.addrs.b.observerCount).toBe(0);
    expect(toWorker.filter((m) => m.l5d === "addrGone").length).toBe(1);
    o.close();
    await tick();
    expect(toHost.at(-1)?.l5d).toBe("unbind");
    expect(host.bindings).toBe(0);
    expect(host.addrWatches).toBe(0);
    expect(n.addrs.a.observerCount).toBe(0);
    expect(n.trees.get("ab")!.observerCount).toBe(0);
  });

  it("a router the primary does not know fails that binding with the reason", async () => {
    const { worker } = join();
    let unknown = "";
    const o = worker
      .interpreter("nope")
      .bind(Dtab.read("/svc=>/#/t"), Path.read("/svc/a"))
      .observe((s) => {
        if (s.kind === "failed") unknown = s.error.message;
      });
    closers.push(() => o.close());
    await tick();
    expect(unknown).toBe("no router nope");
  });

  it("when the worker is gone the primary releases every namer observation", async () => {
    const { n, worker, host } = join();
    worker
      .interpreter("r")
      .bind(Dtab.read("/svc=>/#/t"), Path.read("/svc/ab"))
      .observe(() => {});
    await tick();
    expect(n.addrs.a.observerCount).toBe(1);
    host.close();
    expect(n.addrs.a.observerCount).toBe(0);
    expect(n.addrs.b.observerCount).toBe(0);
    expect(n.trees.get("ab")!.observerCount).toBe(0);
  });
});
