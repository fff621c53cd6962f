/**
 * `io.l5d.static` (Linkerd's `StaticIdentifier`, built by `StaticIdentifierConfig` with
 * `prefix ++ path`): every request is `dstPrefix ++ path`. `path` is required and must be a dtab
 * path (`/foo/bar`; `/` names `dstPrefix` itself).
 */
import type { PluginFactory } from "@l5d/config";
import { Path } from "@l5d/dtab";
import type { Identification, IdentifierMaker } from "@l5d/h2-proxy";
import { z } from "zod";

export const staticIdentifierSchema = z.strictObject({
  kind: z.literal("io.l5d.static"),
  /** The name every request gets, after `dstPrefix`. */
  path: z
    .string({ error: (i) => (i.input === undefined ? "required" : "expected a path such as /foo") })
    .transform((text, ctx) => {
      try {
        return Path.read(text);
      } catch (e) {
        ctx.issues.push({
          code: "custom",
          message: `invalid path: ${(e as Error).message}`,
          input: text,
        });
        return z.NEVER;
      }
    }),
});

export type StaticIdentifierConfig = z.infer<typeof staticIdentifierSchema>;

export function staticIdentifier(cfg: { path: Path }): IdentifierMaker {
  return (dstPrefix) => {
    const id: Identification = { kind: "ok", name: dstPrefix.concat(cfg.path) };
    return { identify: () => id };
  };
}

export const staticIdentifierFactory: PluginFactory<StaticIdentifierConfig, IdentifierMaker> = {
  kind: "io.l5d.static",
  schema: staticIdentifierSchema as unknown as z.ZodType<StaticIdentifierConfig>,
  make: (cfg) => staticIdentifier(cfg),
};
