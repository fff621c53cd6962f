/**
 * Delegation explanations (Linkerd's `DelegateTree`): the tree the dtab playground shows,
 * with every alternative evaluated and each node carrying the path it was reached at and the
 * dentry that produced it.
 */
import type { Addr } from "./addr.js";
import { Dentry } from "./dtab.js";
import type { NameBound } from "./name.js";
import { NameTree } from "./name-tree.js";
import { Path } from "./path.js";

interface Base {
  readonly path: Path;
  readonly dentry: Dentry;
  /**
   * Set on the members routing actually uses (the Alt member `bind` picks, the Union members
   * it keeps), so the explanation never disagrees with routing (Linkerd issues #604, #521).
   */
  selected?: boolean;
}

export interface DelegateException extends Base {
  readonly type: "exception";
  readonly error: Error;
}
export interface DelegateEmpty extends Base {
  readonly type: "empty";
}
export interface DelegateFail extends Base {
  readonly type: "fail";
}
export interface DelegateNeg extends Base {
  readonly type: "neg";
}
export interface DelegateDelegate<T> extends Base {
  readonly type: "delegate";
  readonly tree: DelegateTree<T>;
}
export interface DelegateLeaf<T> extends Base {
  readonly type: "leaf";
  readonly value: T;
  /** The first non-pending addresses of a bound leaf, filled in by `delegate`. */
  addr?: Addr;
}
export interface DelegateAlt<T> extends Base {
  readonly type: "alt";
  readonly trees: readonly DelegateTree<T>[];
}
export interface DelegateWeighted<T> {
  readonly weight: number;
  readonly tree: DelegateTree<T>;
}
export interface DelegateUnion<T> extends Base {
  readonly type: "union";
  readonly weighted: readonly DelegateWeighted<T>[];
}
/** A transformer's effect on one bound leaf: `value` before, `tree` after. */
export interface DelegateTransformation<T> {
  readonly type: "transformation";
  readonly path: Path;
  readonly name: string;
  readonly value: T;
  readonly tree: DelegateTree<T>;
  addr?: Addr;
  selected?: boolean;
}

export type DelegateTree<T = NameBound> =
  | DelegateException
  | DelegateEmpty
  | DelegateFail
  | DelegateNeg
  | DelegateDelegate<T>
  | DelegateLeaf<T>
  | DelegateAlt<T>
  | DelegateUnion<T>
  | DelegateTransformation<T>;

/** Linkerd's `DelegateTree.fromNameTree(path, dentry, tree)`; Neg gets the empty path. */
export function delegateFromNameTree<T>(
  path: Path,
  dentry: Dentry,
  tree: NameTree<T>,
): DelegateTree<T> {
  switch (tree.type) {
    case "empty":
      return { type: "empty", path, dentry };
    case "fail":
      return { type: "fail", path, dentry };
    case "neg":
      return { type: "neg", path: Path.empty, dentry };
    case "leaf":
      return { type: "leaf", path, dentry, value: tree.value };
    case "alt":
      return {
        type: "alt",
        path,
        dentry,
        trees: tree.trees.map((t) => delegateFromNameTree(path, dentry, t)),
      };
    case "union":
      return {
        type: "union",
        path,
        dentry,
        weighted: tree.weighted.map((w) => ({
          weight: w.weight,
          tree: delegateFromNameTree(path, dentry, w.tree),
        })),
      };
  }
}

function withDentry<T>(t: DelegateTree<T>, dentry: Dentry): DelegateTree<T> {
  return t.type === "transformation" ? t : { ...t, dentry };
}

/** Linkerd's `DelegateTree.simplify`. */
export function simplifyDelegateTree<T>(tree: DelegateTree<T>): DelegateTree<T> {
  switch (tree.type) {
    case "delegate": {
      const s = simplifyDelegateTree(tree.tree);
      const collapse =
        s.type !== "neg" && s.type !== "fail" && s.type !== "empty" && s.path.equals(tree.path);
      return collapse ? withDentry(s, tree.dentry) : { ...tree, tree: s };
    }
    case "alt": {
      if (tree.trees.length === 0) return { type: "neg", path: tree.path, dentry: tree.dentry };
      if (tree.trees.length === 1) {
        return simplifyDelegateTree({
          type: "delegate",
          path: tree.path,
          dentry: tree.dentry,
          tree: tree.trees[0]!,
        });
      }
      const out: DelegateTree<T>[] = [];
      for (const t of tree.trees) {
        const s = simplifyDelegateTree(t);
        if (s.type === "alt" && s.path.equals(tree.path)) out.push(...s.trees);
        else out.push(s);
      }
      return { ...tree, trees: out };
    }
    case "union": {
      if (tree.weighted.length === 0) return { type: "neg", path: tree.path, dentry: tree.dentry };
      if (tree.weighted.length === 1) {
        return simplifyDelegateTree({
          type: "delegate",
          path: tree.path,
          dentry: tree.dentry,
          tree: tree.weighted[0]!.tree,
        });
      }
      return {
        ...tree,
        weighted: tree.weighted.map((w) => ({
          weight: w.weight,
          tree: simplifyDelegateTree(w.tree),
        })),
      };
    }
    default:
      return tree;
  }
}

/** Linkerd's `toNameTree`: Delegate/Transformation transparent; an Exception node rethrows. */
export function delegateTreeToNameTree<T>(tree: DelegateTree<T>): NameTree<T> {
  switch (tree.type) {
    case "exception":
      throw tree.error;
    case "empty":
      return NameTree.empty;
    case "fail":
      return NameTree.fail;
    case "neg":
      return NameTree.neg;
    case "delegate":
    case "transformation":
      return delegateTreeToNameTree(tree.tree);
    case "leaf":
      return NameTree.leaf(tree.value);
    case "alt":
      return NameTree.alt(...tree.trees.map(delegateTreeToNameTree));
    case "union":
      return NameTree.union(
        ...tree.weighted.map((w) => NameTree.weighted(w.weight, delegateTreeToNameTree(w.tree))),
      );
  }
}

function isNop(d: Dentry): boolean {
  return d.prefix.equals(Dentry.nop.prefix) && NameTree.simplify(d.dst).type === "neg";
}

/**
 * Linkerd's `DelegateTree.find`: the (path, dentry show) chain from the root to the first
 * leaf satisfying `predicate` (`""` for the nop dentry), or undefined.
 */
export function findInDelegateTree<T>(
  tree: DelegateTree<T>,
  predicate: (value: T) => boolean,
): [Path, string][] | undefined {
  const show = (d: Dentry): string => (isNop(d) ? "" : d.show);
  switch (tree.type) {
    case "leaf":
      return predicate(tree.value) ? [[tree.path, show(tree.dentry)]] : undefined;
    case "transformation": {
      const rest = findInDelegateTree(tree.tree, predicate);
      if (!rest) return undefined;
      if (rest.length === 1) {
        const [leafPath, leafDentry] = rest[0]!;
        return [
          [tree.path, leafDentry],
          [leafPath, tree.name],
        ];
      }
      return [[tree.path, tree.name], ...rest];
    }
    case "delegate": {
      const rest = findInDelegateTree(tree.tree, predicate);
      return rest ? [[tree.path, show(tree.dentry)], ...rest] : undefined;
    }
    case "alt":
    case "union": {
      const members = tree.type === "alt" ? tree.trees : tree.weighted.map((w) => w.tree);
      for (const m of members) {
        const rest = findInDelegateTree(m, predicate);
        if (rest) return [[tree.path, show(tree.dentry)], ...rest];
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

export { isNop as isNopDentry };
