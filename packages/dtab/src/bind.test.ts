import { describe, expect, it } from "vitest";
import { Activity } from "./activity.js";
import { Addr, address } from "./addr.js";
import { ADDR_WEIGHT_KEY, bind } from "./bind.js";
import { Dtab } from "./dtab.js";
import {
  BindBudgetExceededError,
  NamerExceededMaxDepthError,
  UnknownNamerError,
} from "./errors.js";
import { createDefaultInterpreter } from "./interpreter.js";
import { type Name, NameBound } from "./name.js";
import { NameTree } from "./name-tree.js";
import type { MountedNamer, Namer } from "./namer.js";
import { Path } from "./path.js";
import { Var, type VarCell } from "./var.js";

/** A namer at /test binding /test/<n>/... to id /test/<n>. */
const testNamer: Namer = {
  lookup(path) {
    if (path.size === 0) return Activity.value<NameTree<Name>>(NameTree.neg);
    const id = Path.of("test", path.elems[0]!);
    return Activity.value<NameTree<Name>>(
      NameTree.leaf(
        new NameBound(id, Var.value(Addr.bound([address("127.0.0.1", 1)])), path.drop(1)),
      ),
    );
  },
};
const mounted: MountedNamer[] = [{ prefix: Path.read("/test"), namer: testNamer }];
const interp = createDefaultInterpreter(mounted);

async function bindShow(dtab: string, path: string, i = interp): Promise<string> {
  try {
    return NameTree.show(await Activity.toPromise(i.bind(Dtab.read(dtab), Path.read(path)), 2000));
  } catch (e) {
    return `ERR ${(e as Error).message}`;
  }
}

describe("bind (Finagle Namer.bind rules)", () => {
  it("follows lookups to bound names with residuals", async () => {
    const t = await Activity.toPromise(
      interp.bind(Dtab.read("/svc=>/test/1"), Path.read("/svc/a/b")),
    );
    expect(t.type).toBe("leaf");
    if (t.type === "leaf") {
      expect(t.value.id.show).toBe("/test/1");
      expect(t.value.residual.show).toBe("/a/b");
    }
  });
  it("Alt with Fail/Empty (NamerTest)", async () => {
    expect(await bindShow("/x=>/$/nil | /$/fail | /test/1", "/x")).toBe("$");
    expect(await bindShow("/x=>~ | /$/fail | /test/1", "/x")).toBe("!");
    expect(await bindShow("/x=>! | /test/1 | /test/2", "/x")).toBe("!");
    expect(await bindShow("/x=>~ | /nope | /test/2", "/x")).toBe("/test/2");
  });
  it("a later $ or ! entry stops fallback; a later ~ entry is a no-op", async () => {
    expect(await bindShow("/svc=>/test/a;/svc=>$", "/svc")).toBe("$");
    expect(await bindShow("/svc=>/test/a;/svc=>!", "/svc")).toBe("!");
    expect(await bindShow("/svc=>/test/a;/svc=>~", "/svc")).toBe("/test/a");
    expect(await bindShow("/svc=>/test/a;/svc=>/nowhere", "/svc")).toBe("/test/a");
  });
  it("drops failing union members, keeps Empty, and ! & ! falls through", async () => {
    expect(await bindShow("/x=>0.5*/test/a & 0.5*/$/fail", "/x")).toBe("/test/a");
    expect(await bindShow("/x=>0.5*/test/a & 0.5*$", "/x")).toBe("0.50*/test/a & 0.50*$");
    expect(await bindShow("/x=>(! & !) | /test/b", "/x")).toBe("/test/b");
    expect(await bindShow("/x=>/test/a & /$/unknown.Class", "/x")).toBe("/test/a");
    expect(await bindShow("/x=>/$/unknown.A & /$/unknown.B", "/x")).toBe(
      "ERR Unknown namer: unknown.A for path: /$/unknown.A",
    );
    expect(await bindShow("/x=>2*/test/a & 3*(/test/b & /test/c)", "/x")).toBe(
      "2.00*/test/a & 3.00*(/test/b & /test/c)",
    );
  });
  it("copies the union weight into the bound address metadata", async () => {
    const t = await Activity.toPromise(
      interp.bind(Dtab.read("/x=>2*/test/a & /test/b"), Path.read("/x")),
    );
    expect(t.type).toBe("union");
    if (t.type === "union" && t.weighted[0]!.tree.type === "leaf") {
      const a = t.weighted[0]!.tree.value.addr.sample();
      expect(a.type === "bound" && a.meta[ADDR_WEIGHT_KEY]).toBe(2);
    }
  });
  it("an exception in a chosen Alt branch fails the bind; later members are never looked up", async () => {
    expect(await bindShow("/x=>/$/inet/foo | /test/1", "/x")).toBe(
      "ERR Unknown namer: inet for path: /$/inet/foo",
    );
    expect(await bindShow("/x=>/test/1 | /$/inet/foo", "/x")).toBe("/test/1");
  });
  it("fails loops with the max-depth message", async () => {
    const msg = "ERR Max recursion level: 100 reached in Namer lookup";
    expect(await bindShow("/foo/bar=>/bar/foo;/bar/foo=>/foo/bar", "/foo/bar")).toBe(msg);
    expect(await bindShow("/s=>/s/srv", "/s")).toBe(msg);
    expect(await bindShow("/=>/x", "/a")).toBe(msg);
    const small = createDefaultInterpreter(mounted, { maxDepth: 3 });
    await expect(
      Activity.toPromise(small.bind(Dtab.read("/s=>/s/srv"), Path.read("/s"))),
    ).rejects.toBeInstanceOf(NamerExceededMaxDepthError);
    // Depth counts lookups, the namer's included: /a, /b, /test/1.
    expect(await bindShow("/a=>/b;/b=>/test/1", "/a", small)).toBe("/test/1");
    expect(await bindShow("/a=>/b;/b=>/c;/c=>/test/1", "/a", small)).toBe(
      "ERR Max recursion level: 3 reached in Namer lookup",
    );
  });
  it("a dtab that fans out exponentially (self-referencing unions and alternatives) fails within the lookup budget, at once", async () => {
    for (const bomb of [
      "/s=>/s & /s",
      "/s=>/s & /s & /s & /s",
      "/s=>/s/a & /s/b;/s/a=>/s;/s/b=>/s",
      "/s=>/s | /s",
      "/s=>/s;/s=>/s;/s=>/s;/s=>/s",
    ]) {
      const t0 = performance.now();
      await expect(
        Activity.toPromise(interp.bind(Dtab.read(bomb), Path.read("/s")), 2000),
      ).rejects.toThrow(/Max recursion level: 100|more than 250 lookups/);
      // ~250 lookups at most, not 2^100 (before: one such header held the event loop and
      // grew the process past 12 GB)
      expect(performance.now() - t0).toBeLessThan(1_000);
    }
    // the budget is what bounds a union's fan-out: lookups stop at it, then fail at once
    const dtab = Dtab.read("/s=>/s & /s");
    let lookups = 0;
    let failed: unknown;
    bind(
      (p) => {
        lookups++;
        return Activity.value(dtab.lookup(p));
      },
      NameTree.leaf<Name>(Path.read("/s")),
    ).observe((st) => {
      if (st.kind === "failed") failed = st.error;
    });
    expect(lookups).toBe(250);
    expect(failed).toBeInstanceOf(BindBudgetExceededError);
    // a tighter budget, and a binding within it
    const tight = createDefaultInterpreter(mounted, { maxLookups: 5 });
    expect(await bindShow("/a=>/b;/b=>/test/1", "/a", tight)).toBe("/test/1");
    expect(
      await bindShow("/a=>/test/1 & /test/2 & /test/3 & /test/4 & /test/5", "/a", tight),
    ).toMatch(/more than 5 lookups/);
    // an ordinary union of a few names is nowhere near the default
    expect(await bindShow("/a=>/test/1 & /test/2 & /test/3", "/a")).toBe(
      "/test/1 & /test/2 & /test/3",
    );
  });
  it("system namers: inet forms, nil, fail, unknown classes", async () => {
    expect(await bindShow("", "/$/inet/127.1/8080/rest")).toBe("/$/inet/127.1/8080");
    expect(await bindShow("", "/$/inet/1234/foobar")).toBe("/$/inet/1234");
    expect(await bindShow("", "/$/inet/8080/9090")).toBe("/$/inet/8080/9090");
    expect(await bindShow("", "/$/fixedinet/127.0.0.1/80")).toBe("/$/fixedinet/127.0.0.1/80");
    expect(await bindShow("", "/$/nil/x")).toBe("$");
    expect(await bindShow("", "/$/fail")).toBe("!");
    expect(await bindShow("", "/$")).toBe("~");
    expect(await bindShow("", "/$/inet")).toBe("ERR Unknown namer: inet for path: /$/inet");
    expect(await bindShow("", "/$/inet/foo")).toBe("ERR Unknown namer: inet for path: /$/inet/foo");
    expect(await bindShow("", "/#/nothing/here")).toBe("~");
    await expect(
      Activity.toPromise(interp.bind(Dtab.empty, Path.read("/$/x.Y"))),
    ).rejects.toBeInstanceOf(UnknownNamerError);
  });
  it("resolves /$/inet IP literals (Java short forms) to constant addresses", async () => {
    const t = await Activity.toPromise(interp.bind(Dtab.empty, Path.read("/$/inet/127.1/8080")));
    expect(t.type === "leaf" && t.value.addr.sample()).toEqual(
      Addr.bound([address("127.0.0.1", 8080)]),
    );
    const t2 = await Activity.toPromise(interp.bind(Dtab.empty, Path.read("/$/inet/4141")));
    expect(t2.type === "leaf" && t2.value.addr.sample()).toEqual(
      Addr.bound([address("127.0.0.1", 4141)]),
    );
  });
  it("dtab first, then configured namers in order, then /$", async () => {
    const second: Namer = {
      lookup: (p) =>
        Activity.value<NameTree<Name>>(
          NameTree.leaf(
            new NameBound(Path.of("second").concat(p), Var.value(Addr.neg), Path.empty),
          ),
        ),
    };
    const negNamer: Namer = { lookup: () => Activity.value<NameTree<Name>>(NameTree.neg) };
    const i = createDefaultInterpreter([
      { prefix: Path.read("/#/x"), namer: negNamer },
      { prefix: Path.read("/#/x"), namer: second },
    ]);
    expect(await bindShow("", "/#/x/a", i)).toBe("/second/a");
    expect(await bindShow("/#/x=>/$/nil", "/#/x/a", i)).toBe("$");
  });
});

describe("dynamic binding", () => {
  it("updates when a namer's answer changes and releases watches when unobserved", async () => {
    const cells = new Map<string, VarCell<import("./activity.js").ActivityState<NameTree<Name>>>>();
    const cellFor = (k: string) => {
      let c = cells.get(k);
      if (!c) {
        c = Activity.cell<NameTree<Name>>(Activity.ok(NameTree.neg));
        cells.set(k, c);
      }
      return c;
    };
    const dyn: Namer = { lookup: (p) => cellFor(p.show) };
    const i = createDefaultInterpreter([{ prefix: Path.read("/#/dyn"), namer: dyn }]);
    const act = i.bind(Dtab.read("/svc=>/#/dyn/b | /#/dyn/a"), Path.read("/svc"));
    const seen: string[] = [];
    const sub = act.observe((s) => {
      seen.push(s.kind === "ok" ? NameTree.show(s.value) : s.kind);
    });
    const bound = (id: string) =>
      Activity.ok<NameTree<Name>>(
        NameTree.leaf(new NameBound(Path.read(id), Var.value(Addr.neg), Path.empty)),
      );
    expect(seen).toEqual(["~"]);
    cellFor("/a").update(bound("/A"));
    expect(seen.at(-1)).toBe("/A");
    cellFor("/b").update(bound("/B"));
    expect(seen.at(-1)).toBe("/B");
    cellFor("/b").update(Activity.pending);
    expect(seen.at(-1)).toBe("pending");
    cellFor("/b").update(Activity.failed(new Error("boom")));
    expect(seen.at(-1)).toBe("failed");
    cellFor("/b").update(Activity.ok(NameTree.neg));
    expect(seen.at(-1)).toBe("/A");
    expect(cellFor("/a").observerCount).toBe(1);
    sub.close();
    expect(cellFor("/a").observerCount).toBe(0);
    expect(cellFor("/b").observerCount).toBe(0);
  });
  it("a pending union member does not hold back the others", async () => {
    const pending: Namer = { lookup: () => Activity.cell<NameTree<Name>>() };
    const i = createDefaultInterpreter([...mounted, { prefix: Path.read("/p"), namer: pending }]);
    expect(await bindShow("/x=>/test/a & /p/q", "/x", i)).toBe("/test/a");
  });
});
