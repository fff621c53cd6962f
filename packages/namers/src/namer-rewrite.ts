/**
 * `io.l5d.rewrite`: rewrites names matching `pattern` to `name` (with `{var}` substitution),
 * to be looked up again; no match is Neg. `prefix` is required (Linkerd has no default).
 */
import type { PluginFactory } from "@l5d/config";
import { namerCommonShape } from "@l5d/config";
import {
  Activity,
  type MountedNamer,
  type Name,
  type Namer,
  NameTree,
  Path,
  toError,
} from "@l5d/dtab";
import { z } from "zod";
import { namerPrefixSchema } from "./namer-prefix.js";
import { PathMatcher } from "./path-matcher.js";

export const rewriteNamerSchema = z.strictObject({
  ...namerCommonShape,
  kind: z.literal("io.l5d.rewrite"),
  /** Required: the namer is mounted at `/#` ++ prefix. */
  prefix: namerPrefixSchema(),
  /** The path pattern, e.g. `/{service}/{version}` (required). */
  pattern: z.string().min(1),
  /** The resulting name, e.g. `/srv/{service}-{version}` (required). */
  name: z.string().min(1),
});
export type RewriteNamerConfig = z.infer<typeof rewriteNamerSchema>;

/** A namer that rewrites matching paths (Linkerd's RewritingNamer). */
export function rewritingNamer(pattern: string, name: string): Namer {
  const matcher = new PathMatcher(pattern);
  return {
    lookup(path: Path) {
      try {
        const out = matcher.substitutePath(path, name);
        return Activity.value<NameTree<Name>>(
          out === undefined ? NameTree.neg : NameTree.leaf(out),
        );
      } catch (e) {
        return Activity.exception(toError(e));
      }
    },
  };
}

export const rewriteNamerFactory: PluginFactory<RewriteNamerConfig, MountedNamer> = {
  kind: "io.l5d.rewrite",
  schema: rewriteNamerSchema,
  make(config) {
    return {
      prefix: Path.of("#").concat(Path.read(config.prefix)),
      namer: rewritingNamer(config.pattern, config.name),
      kind: "io.l5d.rewrite",
    };
  },
};
