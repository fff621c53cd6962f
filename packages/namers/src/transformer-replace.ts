/**
 * `io.l5d.replace` and `io.l5d.const`: bind a fixed `path` (empty dtab, system namers only) and
 * use it for every leaf (replace; Neg/Fail/Empty kept) or for the whole tree (const).
 * Neither can explain delegations (Linkerd: not delegating transformers).
 */
import { type PluginFactory, transformerCommonShape } from "@l5d/config";
import {
  Activity,
  createDefaultInterpreter,
  Dtab,
  type NameBound,
  NameTree,
  type NameTreeTransformer,
  Path,
} from "@l5d/dtab";
import { z } from "zod";
import { transformerPrefixSchema } from "./transformer-prefix.js";

const pathSchema = () =>
  z
    .string({
      error: (i) =>
        i.input === undefined ? "required" : "expected a path such as /$/inet/127.1/4141",
    })
    .refine(
      (s) => {
        try {
          Path.read(s);
          return true;
        } catch {
          return false;
        }
      },
      { error: "expected a path such as /$/inet/127.1/4141" },
    );

export const replaceTransformerSchema = z.strictObject({
  ...transformerCommonShape,
  kind: z.literal("io.l5d.replace"),
  /** The path bound in place of every leaf (required). */
  path: pathSchema(),
  /** The id prefix under `/%`. Default `/io.l5d.replace`. */
  prefix: transformerPrefixSchema().optional(),
});
export type ReplaceTransformerConfig = z.infer<typeof replaceTransformerSchema>;

export const constTransformerSchema = z.strictObject({
  ...transformerCommonShape,
  kind: z.literal("io.l5d.const"),
  /** The path bound in place of the whole tree (required). */
  path: pathSchema(),
  /** The id prefix under `/%`. Default `/io.l5d.const`. */
  prefix: transformerPrefixSchema().optional(),
});
export type ConstTransformerConfig = z.infer<typeof constTransformerSchema>;

function bindGlobal(path: Path): Activity<NameTree<NameBound>> {
  return createDefaultInterpreter([]).bind(Dtab.empty, path);
}

function replaceLeaves(
  tree: NameTree<NameBound>,
  replacement: NameTree<NameBound>,
): NameTree<NameBound> {
  switch (tree.type) {
    case "leaf":
      return replacement;
    case "alt":
      return NameTree.alt(...tree.trees.map((t) => replaceLeaves(t, replacement)));
    case "union":
      return NameTree.union(
        ...tree.weighted.map((w) =>
          NameTree.weighted(w.weight, replaceLeaves(w.tree, replacement)),
        ),
      );
    default:
      return tree;
  }
}

export function replaceTransformer(
  path: Path,
  prefix = Path.utf8("io.l5d.replace"),
): NameTreeTransformer {
  const replacement = bindGlobal(path);
  return {
    prefix,
    name: "ReplaceTransformer",
    delegating: false,
    transform: (tree) =>
      Activity.flatMap(tree, (t) => Activity.map(replacement, (r) => replaceLeaves(t, r))),
  };
}

export function constTransformer(
  path: Path,
  prefix = Path.utf8("io.l5d.const"),
): NameTreeTransformer {
  const replacement = bindGlobal(path);
  return {
    prefix,
    name: "ConstTransformer",
    delegating: false,
    transform: (tree) => Activity.flatMap(tree, () => replacement),
  };
}

export const replaceTransformerFactory: PluginFactory<
  ReplaceTransformerConfig,
  NameTreeTransformer
> = {
  kind: "io.l5d.replace",
  schema: replaceTransformerSchema,
  make(config) {
    const path = Path.read(config.path);
    return config.prefix === undefined
      ? replaceTransformer(path)
      : replaceTransformer(path, Path.read(config.prefix));
  },
};

export const constTransformerFactory: PluginFactory<ConstTransformerConfig, NameTreeTransformer> = {
  kind: "io.l5d.const",
  schema: constTransformerSchema,
  make(config) {
    const path = Path.read(config.path);
    return config.prefix === undefined
      ? constTransformer(path)
      : constTransformer(path, Path.read(config.prefix));
  },
};
