/** A validated plugin config: its kind, factory and config object (defaults applied). */
import type { Path } from "@l5d/dtab";
import type { PluginFactory } from "./plugin.js";

export interface ParsedPlugin<T = unknown> {
  readonly kind: string;
  /** Build it later with `factory.make(config, ctx)`. */
  readonly factory: PluginFactory<unknown, T>;
  /** The plugin schema's output (Linkerd defaults applied). `experimental` is not included. */
  readonly config: unknown;
  /** Key path of the plugin in the config file, e.g. `routers[0].identifier[1]`. */
  readonly path: string;
  /** The `experimental:` flag as written (default false). */
  readonly experimental: boolean;
}

/** A configured namer: where it is mounted and its namer-level transformers. */
export interface NamerEntry<T = unknown> extends ParsedPlugin<T> {
  /** The mount point, `/#` ++ (config `prefix` or `/<kind>`), e.g. `/#/io.l5d.fs`. */
  readonly mountPrefix: Path;
  /** Applied to this namer's answers when they are fully bound (Linkerd's namer `transformers`). */
  readonly transformers: readonly ParsedPlugin[];
}

/** A router's interpreter, with the `transformers` applied to its bound trees in order. */
export interface InterpreterEntry<T = unknown> extends ParsedPlugin<T> {
  readonly transformers: readonly ParsedPlugin[];
}

export function isParsedPlugin(v: unknown): v is ParsedPlugin {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as { kind?: unknown }).kind === "string" &&
    typeof (v as { factory?: { make?: unknown } }).factory?.make === "function"
  );
}
