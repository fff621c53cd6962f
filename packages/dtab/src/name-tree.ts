/**
 * Name trees (Finagle's `NameTree`): Leaf, Alt (`|`, fallback), Union (`&`, weighted load
 * balancing), Neg (`~`), Fail (`!`) and Empty (`$`).
 */
import { formatWeight } from "./format-weight.js";
import { parseNameTreeText } from "./parser.js";
import type { Path } from "./path.js";

export interface NameTreeLeaf<T> {
  readonly type: "leaf";
  readonly value: T;
}
export interface NameTreeAlt<T> {
  readonly type: "alt";
  readonly trees: readonly NameTree<T>[];
}
/** A Union member with its weight (default 1.0). */
export interface Weighted<T> {
  readonly weight: number;
  readonly tree: NameTree<T>;
}
export interface NameTreeUnion<T> {
  readonly type: "union";
  readonly weighted: readonly Weighted<T>[];
}
export interface NameTreeNeg {
  readonly type: "neg";
}
export interface NameTreeFail {
  readonly type: "fail";
}
export interface NameTreeEmpty {
  readonly type: "empty";
}

export type NameTree<T> =
  | NameTreeLeaf<T>
  | NameTreeAlt<T>
  | NameTreeUnion<T>
  | NameTreeNeg
  | NameTreeFail
  | NameTreeEmpty;

/** Union weight when none is given. */
export const DEFAULT_WEIGHT = 1.0;

const NEG: NameTreeNeg = Object.freeze({ type: "neg" });
const FAIL: NameTreeFail = Object.freeze({ type: "fail" });
const EMPTY: NameTreeEmpty = Object.freeze({ type: "empty" });

function defaultShowLeaf(v: unknown): string {
  if (v !== null && typeof v === "object") {
    const o = v as { show?: unknown; id?: unknown };
    if (typeof o.show === "string") return o.show;
    // NameBound (or any leaf with an id): Finagle prints the id.
    if (o.id !== null && typeof o.id === "object") {
      const id = o.id as { show?: unknown };
      if (typeof id.show === "string") return id.show;
    }
  }
  return String(v);
}

function defaultLeafEquals(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (
    a !== null &&
    typeof a === "object" &&
    typeof (a as { equals?: unknown }).equals === "function"
  ) {
    return (a as { equals(o: unknown): boolean }).equals(b);
  }
  return false;
}

function showTop<T>(tree: NameTree<T>, leaf: (v: T) => string): string {
  for (;;) {
    if (tree.type === "union" && tree.weighted.length === 1) tree = tree.weighted[0]!.tree;
    else if (tree.type === "alt" && tree.trees.length === 1) tree = tree.trees[0]!;
    else break;
  }
  if (tree.type === "alt") return tree.trees.map((t) => show1(t, leaf)).join(" | ");
  return show1(tree, leaf);
}

function show1<T>(tree: NameTree<T>, leaf: (v: T) => string): string {
  for (;;) {
    if (tree.type === "union" && tree.weighted.length === 1) tree = tree.weighted[0]!.tree;
    else if (tree.type === "alt" && tree.trees.length === 1) tree = tree.trees[0]!;
    else break;
  }
  if (tree.type === "union") {
    return tree.weighted
      .map((w) =>
        w.weight === DEFAULT_WEIGHT
          ? showSimple(w.tree, leaf)
          : formatWeight(w.weight) + "*" + showSimple(w.tree, leaf),
      )
      .join(" & ");
  }
  if (tree.type === "alt") return "(" + showTop(tree, leaf) + ")";
  return showSimple(tree, leaf);
}

function showSimple<T>(tree: NameTree<T>, leaf: (v: T) => string): string {
  for (;;) {
    if (tree.type === "union" && tree.weighted.length === 1) tree = tree.weighted[0]!.tree;
    else if (tree.type === "alt" && tree.trees.length === 1) tree = tree.trees[0]!;
    else break;
  }
  switch (tree.type) {
    case "union":
    case "alt":
      return "(" + showTop(tree, leaf) + ")";
    case "leaf":
      return leaf(tree.value);
    case "fail":
      return "!";
    case "neg":
      return "~";
    case "empty":
      return "$";
  }
}

function simplify<T>(tree: NameTree<T>): NameTree<T> {
  switch (tree.type) {
    case "alt": {
      if (tree.trees.length === 0) return NEG;
      if (tree.trees.length === 1) return simplify(tree.trees[0]!);
      const kept: NameTree<T>[] = [];
      for (const t of tree.trees) {
        const s = simplify(t);
        if (s.type === "fail") {
          kept.push(s);
          break;
        }
        if (s.type !== "neg") kept.push(s);
      }
      if (kept.length === 0) return NEG;
      if (kept.length === 1) return kept[0]!;
      return { type: "alt", trees: kept };
    }
    case "union": {
      if (tree.weighted.length === 0) return NEG;
      if (tree.weighted.length === 1) return simplify(tree.weighted[0]!.tree);
      const kept: Weighted<T>[] = [];
      for (const w of tree.weighted) {
        const s = simplify(w.tree);
        if (s.type !== "neg" && s.type !== "fail") kept.push({ weight: w.weight, tree: s });
      }
      if (kept.length === 0) return NEG;
      if (kept.length === 1) return kept[0]!.tree;
      return { type: "union", weighted: kept };
    }
    default:
      return tree;
  }
}

/** Finagle's private eval: null for Neg/Fail; otherwise the set (as an array) of leaves. */
type EvalResult<T> = { kind: "neg" } | { kind: "fail" } | { kind: "ok"; values: T[] };

function evalTree<T>(tree: NameTree<T>): EvalResult<T> {
  switch (tree.type) {
    case "fail":
      return { kind: "fail" };
    case "neg":
      return { kind: "neg" };
    case "empty":
      return { kind: "ok", values: [] };
    case "leaf":
      return { kind: "ok", values: [tree.value] };
    case "union": {
      if (tree.weighted.length === 0) return { kind: "neg" };
      if (tree.weighted.length === 1) return evalTree(tree.weighted[0]!.tree);
      let any = false;
      const values: T[] = [];
      for (const w of tree.weighted) {
        const r = evalTree(w.tree);
        if (r.kind === "ok") {
          any = true;
          values.push(...r.values);
        }
      }
      return any ? { kind: "ok", values } : { kind: "neg" };
    }
    case "alt": {
      for (const t of tree.trees) {
        const r = evalTree(t);
        if (r.kind !== "neg") return r;
      }
      return { kind: "neg" };
    }
  }
}

function dedupe<T>(values: T[], eq: (a: T, b: T) => boolean): T[] {
  const out: T[] = [];
  for (const v of values) if (!out.some((o) => eq(o, v))) out.push(v);
  return out;
}

function map<T, U>(tree: NameTree<T>, f: (value: T) => U): NameTree<U> {
  switch (tree.type) {
    case "leaf":
      return { type: "leaf", value: f(tree.value) };
    case "alt":
      return { type: "alt", trees: tree.trees.map((t) => map(t, f)) };
    case "union":
      return {
        type: "union",
        weighted: tree.weighted.map((w) => ({ weight: w.weight, tree: map(w.tree, f) })),
      };
    default:
      return tree;
  }
}

function equals<T>(
  a: NameTree<T>,
  b: NameTree<T>,
  leafEquals: (x: T, y: T) => boolean = defaultLeafEquals,
): boolean {
  if (a === b) return true;
  switch (a.type) {
    case "leaf":
      return b.type === "leaf" && leafEquals(a.value, b.value);
    case "alt":
      return (
        b.type === "alt" &&
        a.trees.length === b.trees.length &&
        a.trees.every((t, i) => equals(t, b.trees[i]!, leafEquals))
      );
    case "union":
      return (
        b.type === "union" &&
        a.weighted.length === b.weighted.length &&
        a.weighted.every((w, i) => {
          const o = b.weighted[i]!;
          return w.weight === o.weight && equals(w.tree, o.tree, leafEquals);
        })
      );
    default:
      return a.type === b.type;
  }
}

function isWeighted<T>(x: Weighted<T> | NameTree<T>): x is Weighted<T> {
  return !("type" in x);
}

export const NameTree = {
  neg: NEG as NameTree<never>,
  fail: FAIL as NameTree<never>,
  empty: EMPTY as NameTree<never>,
  leaf<T>(value: T): NameTree<T> {
    return { type: "leaf", value };
  },
  alt<T>(...trees: NameTree<T>[]): NameTree<T> {
    return { type: "alt", trees };
  },
  /** A union; bare trees get weight 1.0. */
  union<T>(...members: (Weighted<T> | NameTree<T>)[]): NameTree<T> {
    return {
      type: "union",
      weighted: members.map((m) => (isWeighted(m) ? m : { weight: DEFAULT_WEIGHT, tree: m })),
    };
  },
  weighted<T>(weight: number, tree: NameTree<T>): Weighted<T> {
    return { weight, tree };
  },
  /** Parses Finagle name-tree syntax; throws DtabParseError. */
  read(text: string): NameTree<Path> {
    return parseNameTreeText(text);
  },
  /**
   * Finagle's `NameTree.show`, byte-identical. Leaves print with `leaf` if given, else their
   * `show` (Path), else their `id.show` (NameBound), else `String(v)`.
   */
  show<T>(tree: NameTree<T>, leaf?: (value: T) => string): string {
    return showTop(tree, leaf ?? defaultShowLeaf);
  },
  simplify,
  /**
   * Finagle's `eval`: null when the tree is negative or failed, otherwise its leaves
   * (deduplicated; `[]` for Empty). Weights are ignored.
   */
  eval<T>(tree: NameTree<T>, leafEquals: (a: T, b: T) => boolean = defaultLeafEquals): T[] | null {
    const r = evalTree(tree);
    return r.kind === "ok" ? dedupe(r.values, leafEquals) : null;
  },
  map,
  /** Structural equality (weights included); leaves compared with `equals` when they have it. */
  equals,
  /** Finagle's `Equiv`: equality of the simplified trees. */
  equiv<T>(a: NameTree<T>, b: NameTree<T>, leafEquals?: (x: T, y: T) => boolean): boolean {
    return equals(simplify(a), simplify(b), leafEquals);
  },
  /** Every leaf value, left to right. */
  leaves<T>(tree: NameTree<T>): T[] {
    const out: T[] = [];
    const walk = (t: NameTree<T>): void => {
      if (t.type === "leaf") out.push(t.value);
      else if (t.type === "alt") for (const x of t.trees) walk(x);
      else if (t.type === "union") for (const w of t.weighted) walk(w.tree);
    };
    walk(tree);
    return out;
  },
};
