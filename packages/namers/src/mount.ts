/**
 * Building what the config describes: mounted namers (with their namer-level transformers)
 * and a router's interpreter (with its transformers). Errors thrown by a factory come back as
 * PluginBuildError naming the plugin's key path.
 */
import type { BuildContext, InterpreterEntry, NamerEntry, ParsedPlugin } from "@l5d/config";
import {
  type MountedNamer,
  type NameInterpreter,
  type NameTreeTransformer,
  transformNamer,
} from "@l5d/dtab";

export class PluginBuildError extends Error {
  constructor(
    readonly path: string,
    override readonly cause: unknown,
  ) {
    super(`${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "PluginBuildError";
  }
}

function build<T>(p: ParsedPlugin, ctx: BuildContext): T {
  try {
    return p.factory.make(p.config, ctx) as T;
  } catch (e) {
    throw new PluginBuildError(p.path, e);
  }
}

/** Builds transformers in config order. */
export function buildTransformers(
  list: readonly ParsedPlugin[],
  ctx: BuildContext,
): NameTreeTransformer[] {
  return list.map((t) => build<NameTreeTransformer>(t, ctx));
}

/**
 * Builds the configured namers in order. Each factory returns a MountedNamer; the namer's own
 * `transformers` then apply to its fully bound answers. The mount point is the config's
 * (`/#` ++ prefix), also given to factories as `ctx.services.prefix`.
 */
export function mountNamers(entries: readonly NamerEntry[], ctx: BuildContext): MountedNamer[] {
  return entries.map((e) => {
    const mounted = build<MountedNamer>(e, {
      ...ctx,
      services: { ...ctx.services, prefix: e.mountPrefix },
    });
    let namer = mounted.namer;
    for (const t of buildTransformers(e.transformers, ctx)) namer = transformNamer(namer, t);
    return { prefix: mounted.prefix, namer, kind: e.kind };
  });
}

/** Builds a router's interpreter over the mounted namers. */
export function buildInterpreter(
  entry: InterpreterEntry,
  namers: readonly MountedNamer[],
  ctx: BuildContext,
): NameInterpreter {
  const transformers = buildTransformers(entry.transformers, ctx);
  return build<NameInterpreter>(entry, {
    ...ctx,
    services: { ...ctx.services, namers, transformers },
  });
}
