/**
 * Binding (Finagle's `Namer.bind`): turns a tree of names into a tree of bound names by
 * repeated lookup. Dynamic: every lookup answers an Activity and the bound tree is an
 * Activity that changes when any answer it depends on changes. Values contain no Alt.
 */
import { Activity, type ActivityState, toError } from "./activity.js";
import { Addr } from "./addr.js";
import { BindBudgetExceededError, NamerExceededMaxDepthError } from "./errors.js";
import { isBound, type Name, NameBound } from "./name.js";
import { NameTree, type Weighted } from "./name-tree.js";
import type { Path } from "./path.js";
import { Var } from "./var.js";

/** Default maximum number of chained lookups (Finagle's `namerMaxDepth` flag). */
export const DEFAULT_MAX_DEPTH = 100;

/** One lookup step: a path to the tree it stands for (dtab, then namers). */
export type LookupFn = (path: Path) => Activity<NameTree<Name>>;

/** Metadata key under which a Union weight is copied into bound addresses (Finagle's AddrWeightKey). */
export const ADDR_WEIGHT_KEY = "namer_nametree_weight";

/**
 * Default bound on the lookups one binding makes per second (`BindOptions.maxLookups`): an
 * ordinary binding makes a handful (dtab, namers), a union one chain per member: the largest
 * union in linkerd-examples has 3 members. A bomb costs ~5 ms at this bound (~30 at 1,000).
 */
export const DEFAULT_MAX_LOOKUPS = 250;

export interface BindOptions {
  /** Maximum lookup depth; Linkerd default 100. */
  readonly maxDepth?: number;
  /**
   * Lookups per second the binding may make (default {@link DEFAULT_MAX_LOOKUPS}); past it the
   * lookups fail with `BindBudgetExceededError`. Depth alone does not bound the work: a union
   * or an alternative of self-referencing entries fans out at every level.
   */
  readonly maxLookups?: number | undefined;
}

/** Window of the lookup budget: a long-lived binding re-evaluated on namer updates starts afresh. */
const BUDGET_WINDOW_MS = 1_000;

/**
 * `lookup`, counted: past `max` lookups in a window every further lookup fails at once, and the
 * binding is marked `tripped` (its result is then a failure, not a union missing the members
 * whose lookups failed).
 */
function budgeted(lookup: LookupFn, max: number): { lookup: LookupFn; tripped: boolean } {
  let used = 0;
  let since = performance.now();
  let error: Activity<NameTree<Name>> | undefined;
  const b = {
    tripped: false,
    lookup: (path: Path): Activity<NameTree<Name>> => {
      if (++used > max) {
        const now = performance.now();
        if (now - since < BUDGET_WINDOW_MS) {
          b.tripped = true;
          // one error for every refused lookup: a stack trace each would dominate the cost
          error ??= Activity.exception(new BindBudgetExceededError(max));
          return error;
        }
        since = now;
        used = 1;
      }
      return lookup(path);
    },
  };
  return b;
}

const NEG = Activity.value<NameTree<NameBound>>(NameTree.neg);
const FAIL = Activity.value<NameTree<NameBound>>(NameTree.fail);
const EMPTY = Activity.value<NameTree<NameBound>>(NameTree.empty);

/** Calls `lookup`, turning a synchronous throw into a failed Activity. */
export function safeLookup(lookup: LookupFn, path: Path): Activity<NameTree<Name>> {
  try {
    return lookup(path);
  } catch (e) {
    return Activity.exception(toError(e));
  }
}

function withWeight(bound: NameBound, weight: number | undefined): NameBound {
  if (weight === undefined) return bound;
  const addr = Var.map(
    bound.addr,
    (a): Addr =>
      a.type === "bound" ? Addr.bound(a.addrs, { ...a.meta, [ADDR_WEIGHT_KEY]: weight }) : a,
  );
  return new NameBound(bound.id, addr, bound.residual);
}

function bindUnion(
  lookup: LookupFn,
  depth: number,
  maxDepth: number,
  members: readonly Weighted<Name>[],
): Activity<NameTree<NameBound>> {
  const states = members.map((m) =>
    Activity.map(bindTree(lookup, m.tree, depth, maxDepth, m.weight), (t) => ({
      weight: m.weight,
      tree: t,
    })),
  );
  return Var.map(Var.collect(states), (seq): ActivityState<NameTree<NameBound>> => {
    const oks: Weighted<NameBound>[] = [];
    for (const s of seq) if (s.kind === "ok") oks.push(s.value);
    if (oks.length === 0) {
      // No member bound: the first failure, else still pending.
      return seq.find((s) => s.kind === "failed") ?? Activity.pending;
    }
    return Activity.ok(NameTree.simplify<NameBound>({ type: "union", weighted: oks }));
  });
}

/**
 * The failed binding of a branch past the depth limit, one per limit: a union of
 * self-referencing entries reaches it on many branches, and a stack trace each would dominate.
 */
const depthErrors = new Map<number, Activity<NameTree<NameBound>>>();
function depthExceeded(maxDepth: number): Activity<NameTree<NameBound>> {
  let a = depthErrors.get(maxDepth);
  if (a === undefined) {
    a = Activity.exception(new NamerExceededMaxDepthError(maxDepth));
    depthErrors.set(maxDepth, a);
  }
  return a;
}

function bindTree(
  lookup: LookupFn,
  tree: NameTree<Name>,
  depth: number,
  maxDepth: number,
  weight: number | undefined,
): Activity<NameTree<NameBound>> {
  if (depth > maxDepth) return depthExceeded(maxDepth);
  switch (tree.type) {
    case "leaf": {
      const v = tree.value;
      if (isBound(v)) return Activity.value(NameTree.leaf(withWeight(v, weight)));
      return Activity.flatMap(safeLookup(lookup, v), (t) =>
        bindTree(lookup, t, depth + 1, maxDepth, weight),
      );
    }
    case "fail":
      return FAIL;
    case "neg":
      return NEG;
    case "empty":
      return EMPTY;
    case "union":
      if (tree.weighted.length === 0) return NEG;
      if (tree.weighted.length === 1) {
        const only = tree.weighted[0]!;
        return bindTree(lookup, only.tree, depth, maxDepth, only.weight);
      }
      return bindUnion(lookup, depth, maxDepth, tree.weighted);
    case "alt": {
      if (tree.trees.length === 0) return NEG;
      if (tree.trees.length === 1) return bindTree(lookup, tree.trees[0]!, depth, maxDepth, weight);
      const loop = (i: number): Activity<NameTree<NameBound>> => {
        const member = tree.trees[i];
        if (member === undefined) return NEG;
        return Activity.flatMap(bindTree(lookup, member, depth, maxDepth, weight), (r) => {
          if (r.type === "fail") return FAIL;
          if (r.type === "neg") return loop(i + 1);
          return Activity.value(r);
        });
      };
      return loop(0);
    }
  }
}

/**
 * Binds `tree` with `lookup` (Finagle's `Namer.bind`). The result's values are simplified
 * and contain no Alt; it fails with NamerExceededMaxDepthError after `maxDepth` chained
 * lookups, with BindBudgetExceededError past `maxLookups` lookups in a second.
 */
export function bind(
  lookup: LookupFn,
  tree: NameTree<Name>,
  opts: BindOptions = {},
): Activity<NameTree<NameBound>> {
  const max = opts.maxLookups ?? DEFAULT_MAX_LOOKUPS;
  const budget = budgeted(lookup, max);
  const bound = bindTree(budget.lookup, tree, 0, opts.maxDepth ?? DEFAULT_MAX_DEPTH, undefined);
  return Var.map(
    bound,
    (st): ActivityState<NameTree<NameBound>> =>
      budget.tripped ? Activity.failed(new BindBudgetExceededError(max)) : st,
  );
}

/** Structural equality of bound trees: same shape, weights, ids, residuals and addr Vars. */
export function boundTreeEquals(a: NameTree<NameBound>, b: NameTree<NameBound>): boolean {
  return NameTree.equals(
    a,
    b,
    (x, y) => x === y || (x.id.equals(y.id) && x.residual.equals(y.residual) && x.addr === y.addr),
  );
}

/** An Activity that skips states equal to the previous one (Linkerd's `.dedup`). */
export function dedupActivity(a: Activity<NameTree<NameBound>>): Activity<NameTree<NameBound>> {
  let last: ActivityState<NameTree<NameBound>> | undefined;
  return Var.map(a, (s) => {
    if (
      last !== undefined &&
      ((last.kind === "pending" && s.kind === "pending") ||
        (last.kind === "ok" && s.kind === "ok" && boundTreeEquals(last.value, s.value)) ||
        (last.kind === "failed" && s.kind === "failed" && last.error === s.error))
    ) {
      return last;
    }
    last = s;
    return s;
  });
}
