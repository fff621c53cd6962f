/**
 * A worker's RemoteBindings against the primary's BindingHost, joined as the cluster joins them
 * (JSON round trip, asynchronous delivery), held to what a single process does. Each test failed
 * before the fix its comment names (found by a review of `workers: n`).
 */
import {
  Activity,
  type ActivityState,
  Addr,
  address,
  BindBudgetExceededError,
  Dtab,
  type NameInterpreter,
  NamerExceededMaxDepthError,
  type NameTree,
  type NameBound as NB,
  Path,
} from "@l5d/dtab";
import { afterEach, describe, expect, it } from "vitest";
import { joinBindings, testNamer, tick } from "./bindings-rig.js";

const closers: Array<() => void> = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

function join(interpreter: NameInterpreter) {
  const j = joinBindings(interpreter);
  closers.push(() => j.host.close());
  return j;
}

function lastOk(seen: Array<ActivityState<NameTree<NB>>>): NameTree<NB> {
  const s = seen.at(-1);
  if (s?.kind !== "ok") throw new Error(`expected a tree, got ${s?.kind}`);
  return s.value;
}

describe("a worker's bindings against a single process's", () => {
  it("a dtab weight with three decimals binds with that weight, as in one process", async () => {
    const { interpreter } = testNamer();
    const { worker } = join(interpreter);
    const dtab = Dtab.read("/svc/x => 0.004*/#/t/a & 0.006*/#/t/b");
    const path = Path.read("/svc/x");
    const local: Array<ActivityState<NameTree<NB>>> = [];
    const remote: Array<ActivityState<NameTree<NB>>> = [];
    const o1 = interpreter.bind(dtab, path).observe((s) => local.push(s));
    const o2 = worker
      .interpreter("r")
      .bind(dtab, path)
      .observe((s) => remote.push(s));
    closers.push(
      () => o1.close(),
      () => o2.close(),
    );
    await tick();
    const weights = (t: NameTree<NB>) =>
      t.type === "union" ? t.weighted.map((w) => w.weight) : [];
    expect(weights(lastOk(local))).toEqual([0.004, 0.006]);
    // (the worker sent dtab.show, whose weights have two decimals: the primary bound 0.00 and 0.01)
    expect(weights(lastOk(remote))).toEqual([0.004, 0.006]);
  });

  it("an id's address Var from an earlier binding still follows the id after it is bound again", async () => {
    // a router's client keeps the NameBound (and its addr Var) it was made with, keyed by the id,
    // for as long as it is used; in one process that Var is the namer's own and stays live
    const { addrs, interpreter } = testNamer();
    const { worker, toWorker } = join(interpreter);
    const bind = () => {
      const seen: Array<ActivityState<NameTree<NB>>> = [];
      const o = worker
        .interpreter("r")
        .bind(Dtab.read("/svc=>/#/t"), Path.read("/svc/a"))
        .observe((s) => seen.push(s));
      return { seen, o };
    };
    const first = bind();
    await tick();
    const t1 = lastOk(first.seen);
    if (t1.type !== "leaf") throw new Error("expected a leaf");
    const clientAddr = t1.value.addr; // what the router's client for /#/t/a holds
    const followed: Addr[] = [];
    const ao = clientAddr.observe((a) => followed.push(a));
    closers.push(() => ao.close());
    first.o.close(); // the binding cache evicts the binding (idle, LRU); the client stays
    await tick();
    expect(toWorker.some((m) => m.l5d === "addrGone")).toBe(true);
    const second = bind(); // the next request binds the name again: same id
    closers.push(() => second.o.close());
    await tick();
    addrs.a.update(Addr.bound([address("127.0.0.1", 1002)])); // the service moves
    await tick();
    const port = (a: Addr | undefined) => (a?.type === "bound" ? a.addrs[0]!.port : a?.type);
    // (the worker dropped the first Var on addrGone and made a new one on the re-bind)
    expect(port(followed.at(-1))).toBe(1002);
  });

  it("an interpreter whose bind throws answers the worker's binding as failed", async () => {
    const throwing: NameInterpreter = {
      bind() {
        throw new Error("interpreter broke");
      },
    };
    const { worker } = join(throwing);
    const seen: Array<ActivityState<NameTree<NB>>> = [];
    const errors: unknown[] = [];
    const onErr = (e: unknown) => errors.push(e);
    process.on("uncaughtException", onErr);
    closers.push(() => process.off("uncaughtException", onErr));
    const o = worker
      .interpreter("r")
      .bind(Dtab.read("/svc=>/#/t"), Path.read("/svc/a"))
      .observe((s) => seen.push(s));
    closers.push(() => o.close());
    await tick();
    // (the throw escaped BindingHost.handle, the primary's message handler, and the worker's
    // binding stayed pending until bindingTimeoutMs)
    expect(errors).toEqual([]);
    expect(seen.at(-1)?.kind).toBe("failed");
  });

  it("a binding that fails with a typed error (too many lookups, too deep) fails with that type in the worker", async () => {
    // the router answers these with 400 / INVALID_ARGUMENT (an override's fault) and anything
    // else with 502: the type must cross the channel (it was a plain Error, so 502)
    for (const error of [new BindBudgetExceededError(250), new NamerExceededMaxDepthError(100)]) {
      const failing: NameInterpreter = { bind: () => Activity.exception(error) };
      const { worker } = join(failing);
      const seen: Array<ActivityState<NameTree<NB>>> = [];
      const o = worker
        .interpreter("r")
        .bind(Dtab.read("/svc=>/svc"), Path.read("/svc/a"))
        .observe((s) => seen.push(s));
      closers.push(() => o.close());
      await tick();
      const last = seen.at(-1);
      if (last?.kind !== "failed") throw new Error(`expected a failure, got ${last?.kind}`);
      expect(last.error).toBeInstanceOf(error.constructor);
      expect(last.error.message).toBe(error.message);
    }
  });
});
