/**
 * Name-tree transformers (Linkerd's NameTreeTransformer): post-processing of a bound tree,
 * e.g. `io.l5d.port`. Every bound id a transformer produces gets `/%` ++ its prefix
 * prepended (`/%/io.l5d.port/4141/#/io.l5d.fs/foo`); that prefixing is done here, so a
 * transformer's `transform` must return the ids it was given.
 */
import { Activity } from "./activity.js";
import { markSelected, resolveDelegateAddrs } from "./delegate.js";
import { type DelegateTree, delegateFromNameTree } from "./delegate-tree.js";
import type { Dtab } from "./dtab.js";
import type { NameInterpreter } from "./interpreter.js";
import { isBound, type Name, type NameBound } from "./name.js";
import { NameTree } from "./name-tree.js";
import type { Namer } from "./namer.js";
import { Path } from "./path.js";

export interface NameTreeTransformer {
  /** The id prefix without `/%`, e.g. `/io.l5d.port/4141`; ids become `/%` ++ prefix ++ id. */
  readonly prefix: Path;
  transform(tree: Activity<NameTree<NameBound>>): Activity<NameTree<NameBound>>;
  /** Shown in delegation explanations (Linkerd shows the class name). Default: `/%` ++ prefix. */
  readonly name?: string;
  /**
   * Whether an interpreter wrapped by this transformer can still explain delegations
   * (false for `io.l5d.replace` / `io.l5d.const`). Default true.
   */
  readonly delegating?: boolean;
}

const PCT = Path.of("%");

/** The full id prefix `/%` ++ prefix. */
export function transformerIdPrefix(t: NameTreeTransformer): Path {
  return PCT.concat(t.prefix);
}

function prefixIds(tree: NameTree<NameBound>, idPrefix: Path): NameTree<NameBound> {
  return NameTree.map(tree, (b) => b.withId(idPrefix.concat(b.id)));
}

/** Applies one transformer to a bound-tree Activity, prefixing the resulting ids. */
export function applyTransformer(
  t: NameTreeTransformer,
  tree: Activity<NameTree<NameBound>>,
): Activity<NameTree<NameBound>> {
  const idPrefix = transformerIdPrefix(t);
  return Activity.map(t.transform(tree), (x) => prefixIds(x, idPrefix));
}

async function transformDelegate(
  t: NameTreeTransformer,
  tree: DelegateTree<NameBound>,
  timeoutMs: number,
): Promise<DelegateTree<NameBound>> {
  const name = t.name ?? transformerIdPrefix(t).show;
  const rec = async (d: DelegateTree<NameBound>): Promise<DelegateTree<NameBound>> => {
    switch (d.type) {
      case "leaf": {
        const out = await Activity.toPromise(
          applyTransformer(t, Activity.value(NameTree.leaf(d.value))),
          timeoutMs,
        );
        const after: DelegateTree<NameBound> =
          out.type === "leaf"
            ? { type: "leaf", path: out.value.id, dentry: d.dentry, value: out.value }
            : delegateFromNameTree(d.path, d.dentry, out);
        return { type: "transformation", path: d.path, name, value: d.value, tree: after };
      }
      case "delegate":
        return { ...d, tree: await rec(d.tree) };
      case "transformation":
        return { ...d, tree: await rec(d.tree) };
      case "alt":
        return { ...d, trees: await Promise.all(d.trees.map(rec)) };
      case "union":
        return {
          ...d,
          weighted: await Promise.all(
            d.weighted.map(async (w) => ({ weight: w.weight, tree: await rec(w.tree) })),
          ),
        };
      default:
        return d;
    }
  };
  return rec(tree);
}

/**
 * Wraps an interpreter with transformers, applied in order (the last one's prefix ends up
 * outermost). Delegation stays available when the interpreter has it and every transformer
 * is delegating; it then shows a Transformation node per bound leaf.
 */
export function withTransformers(
  interpreter: NameInterpreter,
  transformers: readonly NameTreeTransformer[],
  opts: { delegateTimeoutMs?: number } = {},
): NameInterpreter {
  if (transformers.length === 0) return interpreter;
  const out: NameInterpreter = {
    bind(dtab: Dtab, path: Path) {
      let tree = interpreter.bind(dtab, path);
      for (const t of transformers) tree = applyTransformer(t, tree);
      return tree;
    },
  };
  const underlying = interpreter.delegate?.bind(interpreter);
  if (underlying && transformers.every((t) => t.delegating !== false)) {
    const timeoutMs = opts.delegateTimeoutMs ?? 10_000;
    out.delegate = async (dtab: Dtab, path: Path) => {
      let tree = await underlying(dtab, path);
      for (const t of transformers) tree = await transformDelegate(t, tree, timeoutMs);
      await resolveDelegateAddrs(tree, timeoutMs);
      markSelected(tree);
      return tree;
    };
  }
  return out;
}

function isFullyBound(tree: NameTree<Name>): tree is NameTree<NameBound> {
  switch (tree.type) {
    case "leaf":
      return isBound(tree.value);
    case "alt":
      return tree.trees.every(isFullyBound);
    case "union":
      return tree.weighted.every((w) => isFullyBound(w.tree));
    default:
      return true;
  }
}

/**
 * A namer whose fully bound answers go through `transformer` (a namer's own
 * `transformers:`); answers still holding paths to look up pass unchanged.
 */
export function transformNamer(namer: Namer, transformer: NameTreeTransformer): Namer {
  return {
    lookup(path: Path) {
      return Activity.flatMap(
        namer.lookup(path),
        (tree): Activity<NameTree<Name>> =>
          isFullyBound(tree)
            ? applyTransformer(transformer, Activity.value(tree))
            : Activity.value(tree),
      );
    },
  };
}
