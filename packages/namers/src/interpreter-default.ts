/**
 * The `default` interpreter: the router's dtab, then the configured namers in order, then the
 * `/$` system namers (Linkerd's ConfiguredNamersInterpreter), wrapped by `transformers`.
 * Its factory reads `ctx.services.namers` (MountedNamer[]) and `ctx.services.transformers`
 * (built NameTreeTransformer[], in config order); `buildInterpreter` supplies both.
 */
import { type PluginFactory, pluginCommonShape } from "@l5d/config";
import {
  createDefaultInterpreter,
  type MountedNamer,
  type NameInterpreter,
  type NameTreeTransformer,
  withTransformers,
} from "@l5d/dtab";
import { z } from "zod";

export const defaultInterpreterSchema = z.strictObject({
  ...pluginCommonShape,
  kind: z.literal("default"),
  /** Maximum dtab/namer lookup depth. Default 100 (Finagle's). */
  maxDepth: z.number().int().min(1).optional(),
});
export type DefaultInterpreterConfig = z.infer<typeof defaultInterpreterSchema>;

export const defaultInterpreterFactory: PluginFactory<DefaultInterpreterConfig, NameInterpreter> = {
  kind: "default",
  schema: defaultInterpreterSchema,
  make(config, ctx) {
    const namers = (ctx.services.namers ?? []) as readonly MountedNamer[];
    const transformers = (ctx.services.transformers ?? []) as readonly NameTreeTransformer[];
    const base = createDefaultInterpreter(
      namers,
      config.maxDepth === undefined ? {} : { maxDepth: config.maxDepth },
    );
    return withTransformers(base, transformers);
  },
};
