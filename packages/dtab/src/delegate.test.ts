import { describe, expect, it } from "vitest";
import { Activity } from "./activity.js";
import { Addr, address } from "./addr.js";
import { markSelected } from "./delegate.js";
import {
  delegateTreeToJson,
  delegateTreeToJsonString,
  javaDoubleToString,
} from "./delegate-json.js";
import { delegateTreeToNameTree, findInDelegateTree } from "./delegate-tree.js";
import { Dtab } from "./dtab.js";
import { createDefaultInterpreter } from "./interpreter.js";
import { type Name, NameBound } from "./name.js";
import { NameTree } from "./name-tree.js";
import type { Namer } from "./namer.js";
import { Path } from "./path.js";
import { type NameTreeTransformer, withTransformers } from "./transformer.js";
import { Var } from "./var.js";

const errorNamer: Namer = {
  lookup: (p) => Activity.exception(new Error(`error naming /#/error${p.show}`)),
};
const staticNamer: Namer = {
  lookup: (p) =>
    p.size < 3
      ? Activity.value<NameTree<Name>>(NameTree.neg)
      : Activity.value<NameTree<Name>>(
          NameTree.leaf(
            new NameBound(
              Path.of("#", "static").concat(p.take(3)),
              Var.value(Addr.bound([address("127.0.0.1", 9000)])),
              p.drop(3),
            ),
          ),
        ),
};
const interp = createDefaultInterpreter([
  { prefix: Path.read("/#/error"), namer: errorNamer },
  { prefix: Path.read("/#/static"), namer: staticNamer },
]);

const HANDLER_DTAB =
  "/beh=>/#/error;/bah/humbug=>/$/inet/127.1/8080;/foo=>/bah | /beh | /$/fail;/foo=>/bar;/boo=>/foo;/meh=>/heh;/neg=>~";

describe("delegate (Linkerd /delegator.json)", () => {
  it("produces DelegateApiHandlerTest's exact JSON", async () => {
    const tree = await interp.delegate(Dtab.read(HANDLER_DTAB), Path.read("/boo/humbug"));
    expect(delegateTreeToJsonString(tree)).toBe(
      `{"type":"delegate","path":"/boo/humbug","delegate":{"type":"alt","path":"/foo/humbug","dentry":{"prefix":"/boo","dst":"/foo"},"alt":[{"type":"neg","path":"/bar/humbug","dentry":{"prefix":"/foo","dst":"/bar"}},{"type":"delegate","path":"/bah/humbug","dentry":{"prefix":"/foo","dst":"/bah | /beh | /$/fail"},"delegate":{"type":"leaf","path":"/$/inet/127.1/8080","dentry":{"prefix":"/bah/humbug","dst":"/$/inet/127.1/8080"},"bound":{"addr":{"type":"bound","addrs":[{"ip":"127.0.0.1","port":8080,"meta":{}}],"meta":{}},"id":"/$/inet/127.1/8080","path":"/"}}},{"type":"delegate","path":"/beh/humbug","dentry":{"prefix":"/foo","dst":"/bah | /beh | /$/fail"},"delegate":{"type":"exception","path":"/#/error/humbug","dentry":{"prefix":"/beh","dst":"/#/error"},"message":"error naming /#/error/humbug"}},{"type":"fail","path":"/$/fail/humbug","dentry":{"prefix":"/foo","dst":"/bah | /beh | /$/fail"}}]}}`,
    );
    // The routing result for the same input is just the inet leaf.
    const b = await Activity.toPromise(
      interp.bind(Dtab.read(HANDLER_DTAB), Path.read("/boo/humbug")),
    );
    expect(NameTree.show(b)).toBe("/$/inet/127.1/8080");
    // The explanation marks the same branch.
    const json = delegateTreeToJson(tree, { includeSelected: true }) as {
      delegate: { alt: { selected?: boolean }[] };
    };
    expect(json.delegate.alt.map((a) => a.selected === true)).toEqual([false, true, false, false]);
  });

  it("shows DelegatorTest cases: Neg, Delegate→neg, and find()", async () => {
    const dtab = Dtab.read(
      "/bah/humbug=>/$/inet/127.1/8080;/beh=>/#/error;/foo=>/bah | /$/fail;/foo=>/bar;/boo=>/foo;/meh=>/heh",
    );
    const nope = await interp.delegate(dtab, Path.read("/nope"));
    expect(delegateTreeToJsonString(nope)).toBe(`{"type":"neg","path":"/nope"}`);
    const meh = await interp.delegate(dtab, Path.read("/meh/hey"));
    expect(delegateTreeToJsonString(meh)).toBe(
      `{"type":"delegate","path":"/meh/hey","delegate":{"type":"neg","path":"/heh/hey","dentry":{"prefix":"/meh","dst":"/heh"}}}`,
    );
    const ok = await interp.delegate(dtab, Path.read("/boo/humbug/ya"));
    const chain = findInDelegateTree(ok, (b) => b.id.show === "/$/inet/127.1/8080");
    expect(chain?.map(([p, d]) => [p.show, d])).toEqual([
      ["/boo/humbug/ya", ""],
      ["/foo/humbug/ya", "/boo=>/foo"],
      ["/bah/humbug/ya", "/foo=>/bah | /$/fail"],
      ["/$/inet/127.1/8080/ya", "/bah/humbug=>/$/inet/127.1/8080"],
    ]);
    expect(() => delegateTreeToNameTree(ok)).not.toThrow();
  });

  it("keeps union weights and prints them like Jackson", async () => {
    const t = await interp.delegate(
      Dtab.read("/s=>0.25*/$/inet/127.0.0.1/1 & 2*/$/inet/127.0.0.1/2"),
      Path.read("/s"),
    );
    const s = delegateTreeToJsonString(t);
    expect(s).toContain(`"union":[{"weight":0.25,"tree":{"type":"leaf"`);
    expect(s).toContain(`{"weight":2.0,"tree"`);
    expect(javaDoubleToString(1)).toBe("1.0");
    expect(javaDoubleToString(1e7)).toBe("1.0E7");
    expect(javaDoubleToString(0.0001)).toBe("1.0E-4");
  });

  it("hides intermediate rewriting-namer results (tutorial dtab)", async () => {
    const dtab = Dtab.read(
      "/srv=>/#/static/default/grpc;/grpc=>/srv;/grpc/World=>/srv/world-v1;/svc=>/$/io.buoyant.http.domainToPathPfx/grpc",
    );
    const t = await interp.delegate(dtab, Path.read("/svc/helloworld.World"));
    const s = delegateTreeToJsonString(t);
    expect(s).not.toContain(`"path":"/$/io.buoyant.http.domainToPathPfx`);
    expect(s).toContain(`"id":"/#/static/default/grpc/world-v1"`);
    const b = await Activity.toPromise(interp.bind(dtab, Path.read("/svc/helloworld.World")));
    expect(NameTree.show(b)).toBe("/#/static/default/grpc/world-v1");
  });

  it("rejects on top-level max depth with Linkerd's message", async () => {
    await expect(interp.delegate(Dtab.read("/s=>/s/srv"), Path.read("/s"))).rejects.toThrow(
      "Max recursion level reached.",
    );
  });

  // The explanation must agree with routing on every tricky case (Linkerd #604, #521).
  const cases: [string, string][] = [
    ["/svc=>/$/inet/127.0.0.1/1;/svc=>$", "/svc"],
    ["/svc=>/$/inet/127.0.0.1/1;/svc=>!", "/svc"],
    ["/svc=>/$/inet/127.0.0.1/1;/svc=>~", "/svc"],
    ["/x=>/$/nil | /$/fail | /$/inet/127.0.0.1/1", "/x"],
    ["/x=>~ | /$/fail | /$/inet/127.0.0.1/1", "/x"],
    ["/x=>0.5*/$/inet/127.0.0.1/1 & 0.5*/$/fail", "/x"],
    ["/x=>0.5*/$/inet/127.0.0.1/1 & 0.5*$", "/x"],
    ["/x=>(! & !) | /$/inet/127.0.0.1/2", "/x"],
    ["/x=>/#/error/a | /$/inet/127.0.0.1/2", "/x"],
    ["/x=>/$/inet/127.0.0.1/2 | /#/error/a", "/x"],
    ["/x=>/$/inet/127.0.0.1/2 & /#/error/a", "/x"],
    ["/x=>/#/error/a & /#/error/b", "/x"],
    [
      "/service=>/env#/foo-123;/env=>/$/inet/127.0.0.1/3;/service=>/env#/foo-456 | !",
      "/service/foo",
    ],
    ["/a=>/b | /c;/b=>~;/c=>/$/inet/127.0.0.1/4;/a=>/nothing", "/a"],
    ["/a=>/b;/b/*/c=>/$/inet/127.0.0.1/5", "/a/x/c/d"],
    ["/nothing=>/here", "/else"],
  ];
  for (const [dtab, path] of cases) {
    it(`agrees with bind: ${dtab} @ ${path}`, async () => {
      const d = Dtab.read(dtab);
      const p = Path.read(path);
      const tree = await interp.delegate(d, p);
      const explained = markSelected(tree);
      let bound: { kind: "ok"; t: NameTree<NameBound> } | { kind: "failed"; m: string };
      try {
        bound = { kind: "ok", t: await Activity.toPromise(interp.bind(d, p), 2000) };
      } catch (e) {
        bound = { kind: "failed", m: (e as Error).message };
      }
      if (bound.kind === "failed") {
        expect(explained.kind).toBe("failed");
        if (explained.kind === "failed") expect(explained.error.message).toBe(bound.m);
      } else {
        expect(explained.kind).toBe("ok");
        if (explained.kind === "ok") {
          expect(NameTree.show(explained.value)).toBe(NameTree.show(bound.t));
          const ids = (t: NameTree<NameBound>) =>
            NameTree.leaves(t).map((b) => `${b.id.show}${b.residual.show}`);
          expect(ids(explained.value)).toEqual(ids(bound.t));
        }
      }
    });
  }

  it("#604: a Neg arm falls through and ! then fails", async () => {
    const d = Dtab.read(
      "/service=>/env#/foo-123;/env=>/$/inet/127.0.0.1/3;/service=>/env#/foo-456 | !",
    );
    const tree = await interp.delegate(d, Path.read("/service/foo"));
    const r = markSelected(tree);
    expect(r.kind === "ok" && r.value.type).toBe("fail");
  });
});

describe("transformers", () => {
  const port: NameTreeTransformer = {
    prefix: Path.read("/io.l5d.port/4141"),
    name: "PortTransformer",
    transform: (a) =>
      Activity.map(a, (t) =>
        NameTree.map(
          t,
          (b) =>
            new NameBound(
              b.id,
              Var.map(b.addr, (x) =>
                x.type === "bound" ? Addr.bound(x.addrs.map((y) => address(y.host, 4141))) : x,
              ),
              b.residual,
            ),
        ),
      ),
  };
  it("prefix ids with /% ++ prefix, last transformer outermost, and explain", async () => {
    const other: NameTreeTransformer = {
      prefix: Path.read("/io.l5d.localhost"),
      transform: (a) => a,
    };
    const i = withTransformers(interp, [port, other]);
    const t = await Activity.toPromise(
      i.bind(Dtab.read("/s=>/$/inet/127.0.0.1/1"), Path.read("/s")),
    );
    expect(NameTree.show(t)).toBe("/%/io.l5d.localhost/%/io.l5d.port/4141/$/inet/127.0.0.1/1");
    expect(t.type === "leaf" && t.value.addr.sample()).toEqual(
      Addr.bound([address("127.0.0.1", 4141)]),
    );
    const d = await i.delegate!(Dtab.read("/s=>/$/inet/127.0.0.1/1"), Path.read("/s"));
    const s = delegateTreeToJsonString(d);
    expect(s).toContain(
      `"type":"transformation","path":"/$/inet/127.0.0.1/1","name":"PortTransformer"`,
    );
    expect(s).toContain(`"id":"/%/io.l5d.port/4141/$/inet/127.0.0.1/1"`);
  });
  it("non-delegating transformers remove delegate()", () => {
    const i = withTransformers(interp, [{ ...port, delegating: false }]);
    expect(i.delegate).toBeUndefined();
  });
});
