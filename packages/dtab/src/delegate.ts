/**
 * The delegation explanation algorithm (Linkerd's ConfiguredNamersInterpreter `delegate`,
 * `delegateLookup`, `delegateBind`): unlike `bind`, every alternative is evaluated and Neg
 * and Fail branches are kept. Afterwards the branches routing uses are marked `selected`
 * by applying bind's rules to the explanation, so the two never disagree.
 */
import { Activity, type ActivityState, toError } from "./activity.js";
import type { Addr } from "./addr.js";
import { DEFAULT_MAX_DEPTH } from "./bind.js";
import { type DelegateTree, delegateFromNameTree, simplifyDelegateTree } from "./delegate-tree.js";
import { Dentry, type Dtab } from "./dtab.js";
import { isBound, type Name, type NameBound } from "./name.js";
import { NameTree, type Weighted } from "./name-tree.js";
import { Path } from "./path.js";

/** Linkerd's delegator depth error (`IllegalArgumentException("Max recursion level reached.")`). */
export class DelegateMaxDepthError extends Error {
  constructor() {
    super("Max recursion level reached.");
    this.name = "DelegateMaxDepthError";
  }
}

export interface DelegateOptions {
  /** Maximum lookup depth; Linkerd default 100. */
  readonly maxDepth?: number;
  /** How long to wait for a namer's first answer and for a bound name's addresses (ms). Default 10000. */
  readonly timeoutMs?: number;
}

interface Ctx {
  readonly dtab: Dtab;
  readonly namers: (path: Path) => Activity<NameTree<Name>>;
  readonly maxDepth: number;
  readonly timeoutMs: number;
}

async function delegateLookup(ctx: Ctx, dentry: Dentry, path: Path): Promise<DelegateTree<Name>> {
  try {
    const matches: DelegateTree<Name>[] = [];
    const ds = ctx.dtab.dentries;
    for (let i = ds.length - 1; i >= 0; i--) {
      const d = ds[i]!;
      if (d.prefix.matches(path)) {
        const suffix = path.drop(d.prefix.size);
        const dst = NameTree.map<Path, Name>(d.dst, (p) => p.concat(suffix));
        matches.push(delegateFromNameTree(path, d, dst));
      }
    }
    if (matches.length === 1) return { type: "delegate", path, dentry, tree: matches[0]! };
    if (matches.length > 1) return { type: "alt", path, dentry, trees: matches };
    const tree = await Activity.toPromise(ctx.namers(path), ctx.timeoutMs);
    return tree.type === "neg"
      ? { type: "neg", path, dentry }
      : delegateFromNameTree(path, dentry, tree);
  } catch (e) {
    return { type: "exception", path, dentry, error: toError(e) };
  }
}

async function delegateBind(
  ctx: Ctx,
  depth: number,
  tree: DelegateTree<Name>,
): Promise<DelegateTree<NameBound>> {
  if (depth > ctx.maxDepth) throw new DelegateMaxDepthError();
  switch (tree.type) {
    case "exception":
    case "empty":
    case "fail":
    case "neg":
      return tree;
    case "leaf": {
      const v = tree.value;
      if (isBound(v)) return { type: "leaf", path: tree.path, dentry: tree.dentry, value: v };
      const looked = await delegateLookup(ctx, tree.dentry, v);
      return delegateBind(ctx, depth + 1, looked);
    }
    case "transformation":
      return {
        ...tree,
        value: tree.value as NameBound,
        tree: await delegateBind(ctx, depth, tree.tree),
      };
    case "delegate":
      return { ...tree, tree: await delegateBind(ctx, depth, tree.tree) };
    case "alt": {
      if (tree.trees.length === 0) return { type: "neg", path: tree.path, dentry: tree.dentry };
      if (tree.trees.length === 1) {
        return {
          type: "delegate",
          path: tree.path,
          dentry: tree.dentry,
          tree: await delegateBind(ctx, depth, tree.trees[0]!),
        };
      }
      const trees = await Promise.all(
        tree.trees.map((t) =>
          delegateBind(ctx, depth, t).catch(
            (e: unknown): DelegateTree<NameBound> => ({
              type: "exception",
              path: tree.path,
              dentry: tree.dentry,
              error: toError(e),
            }),
          ),
        ),
      );
      return { type: "alt", path: tree.path, dentry: tree.dentry, trees };
    }
    case "union": {
      if (tree.weighted.length === 0) return { type: "neg", path: tree.path, dentry: tree.dentry };
      if (tree.weighted.length === 1) {
        return {
          type: "delegate",
          path: tree.path,
          dentry: tree.dentry,
          tree: await delegateBind(ctx, depth, tree.weighted[0]!.tree),
        };
      }
      const weighted = await Promise.all(
        tree.weighted.map(async (w) => ({
          weight: w.weight,
          tree: await delegateBind(ctx, depth, w.tree).catch(
            (e: unknown): DelegateTree<NameBound> => ({
              type: "exception",
              path: tree.path,
              dentry: tree.dentry,
              error: toError(e),
            }),
          ),
        })),
      );
      return { type: "union", path: tree.path, dentry: tree.dentry, weighted };
    }
  }
}

/** Waits (bounded) for the first non-pending addresses of every bound leaf and stores them. */
export async function resolveDelegateAddrs(
  tree: DelegateTree<NameBound>,
  timeoutMs: number,
): Promise<void> {
  const waits: Promise<void>[] = [];
  const walk = (t: DelegateTree<NameBound>): void => {
    switch (t.type) {
      case "leaf":
      case "transformation":
        if (t.addr === undefined) {
          waits.push(
            firstAddr(t.value, timeoutMs).then((a) => {
              t.addr = a;
            }),
          );
        }
        if (t.type === "transformation") walk(t.tree);
        return;
      case "delegate":
        walk(t.tree);
        return;
      case "alt":
        for (const x of t.trees) walk(x);
        return;
      case "union":
        for (const w of t.weighted) walk(w.tree);
        return;
      default:
        return;
    }
  };
  walk(tree);
  await Promise.all(waits);
}

function firstAddr(b: NameBound, timeoutMs: number): Promise<Addr> {
  return new Promise<Addr>((resolve) => {
    let done = false;
    let sub: { close(): void } | undefined;
    const finish = (a: Addr): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      queueMicrotask(() => sub?.close());
      resolve(a);
    };
    const timer = setTimeout(() => finish(b.addr.sample()), timeoutMs);
    sub = b.addr.observe((a) => {
      if (a.type !== "pending") finish(a);
    });
    if (done) sub.close();
  });
}

/**
 * What routing (`bind`) makes of this explanation. Alt: the first member that is not Neg
 * (an exception fails the whole, Fail stops with Fail). Union: the members that bound, Neg
 * and Fail dropped; a failure only if no member bound.
 */
export function delegateRouting(tree: DelegateTree<NameBound>): ActivityState<NameTree<NameBound>> {
  return evaluate(tree, false);
}

function evaluate(
  tree: DelegateTree<NameBound>,
  mark: boolean,
): ActivityState<NameTree<NameBound>> {
  if (mark) tree.selected = true;
  switch (tree.type) {
    case "exception":
      return Activity.failed(tree.error);
    case "empty":
      return Activity.ok(NameTree.empty);
    case "fail":
      return Activity.ok(NameTree.fail);
    case "neg":
      return Activity.ok(NameTree.neg);
    case "leaf":
      return Activity.ok(NameTree.leaf(tree.value));
    case "delegate":
    case "transformation":
      return evaluate(tree.tree, mark);
    case "alt": {
      for (const m of tree.trees) {
        const r = evaluate(m, false);
        if (r.kind === "ok" && r.value.type === "neg") continue;
        if (mark) evaluate(m, true);
        return r;
      }
      return Activity.ok(NameTree.neg);
    }
    case "union": {
      const results = tree.weighted.map((w) => ({ w, r: evaluate(w.tree, false) }));
      const oks: Weighted<NameBound>[] = [];
      for (const { w, r } of results) {
        if (r.kind !== "ok") continue;
        const s = NameTree.simplify(r.value);
        oks.push({ weight: w.weight, tree: s });
        if (mark && s.type !== "neg" && s.type !== "fail") evaluate(w.tree, true);
      }
      if (oks.length === 0) {
        const failed = results.find((x) => x.r.kind === "failed");
        if (failed && mark) evaluate(failed.w.tree, true);
        return failed?.r ?? Activity.pending;
      }
      return Activity.ok(NameTree.simplify<NameBound>({ type: "union", weighted: oks }));
    }
  }
}

/** Marks the nodes routing uses as `selected` and returns what routing makes of the tree. */
export function markSelected(tree: DelegateTree<NameBound>): ActivityState<NameTree<NameBound>> {
  return evaluate(tree, true);
}

/**
 * Explains how `path` delegates through `dtab` (then `namers`): Linkerd's `delegate`
 * followed by `simplified`, with addresses resolved and the routed branches `selected`.
 * Rejects with DelegateMaxDepthError when the top-level chain exceeds `maxDepth`.
 */
export async function delegate(
  dtab: Dtab,
  path: Path,
  namers: (path: Path) => Activity<NameTree<Name>>,
  opts: DelegateOptions = {},
): Promise<DelegateTree<NameBound>> {
  const ctx: Ctx = {
    dtab,
    namers,
    maxDepth: opts.maxDepth ?? DEFAULT_MAX_DEPTH,
    timeoutMs: opts.timeoutMs ?? 10_000,
  };
  const root: DelegateTree<Name> = {
    type: "leaf",
    path: Path.empty,
    dentry: Dentry.nop,
    value: path,
  };
  const bound = simplifyDelegateTree(await delegateBind(ctx, 0, root));
  await resolveDelegateAddrs(bound, ctx.timeoutMs);
  markSelected(bound);
  return bound;
}
