/**
 * Dispatching a `kind:` subtree to its registry (Linkerd's PolymorphicConfig): unknown kinds,
 * the plugin's own schema errors and missing `experimental: true` are all reported, by path.
 */
import { z } from "zod";
import type { ParsedPlugin } from "./parsed-plugin.js";
import type { Registry } from "./plugin.js";
import { issueMessages } from "./schema-helpers.js";

export type Report = (path: readonly (string | number)[], message: string) => void;

/** Keys the config layer handles itself for a family (stripped before the plugin schema). */
export type SlotRole = "plain" | "namer" | "interpreter";

export interface SlotOptions {
  /** The kind used when the key is absent (only if registered). */
  readonly defaultKind?: string;
  readonly role?: SlotRole;
  /** The transformers registry, for namer/interpreter `transformers:` lists. */
  readonly transformers?: Registry<unknown>;
}

export interface RawSlot extends Omit<ParsedPlugin, "path"> {
  /** The raw `prefix:` (namers only). */
  readonly rawPrefix?: unknown;
  readonly transformers?: readonly Omit<ParsedPlugin, "path">[];
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "string" ? `string '${v}'` : `${typeof v} ${String(v)}`;
}

/** Validates one plugin object against its registry. Returns undefined after errors. */
export function parsePluginObject(
  raw: unknown,
  registry: Registry<unknown>,
  opts: SlotOptions,
  report: Report,
): RawSlot | undefined {
  let input = raw;
  if (input === undefined) {
    if (opts.defaultKind === undefined || registry.get(opts.defaultKind) === undefined)
      return undefined;
    input = { kind: opts.defaultKind };
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    report([], `expected a map with a 'kind' key, got ${describe(input)}`);
    return undefined;
  }
  const obj = { ...(input as Record<string, unknown>) };
  const kind = obj.kind;
  if (kind === undefined) {
    report(
      ["kind"],
      `required (known ${registry.family} kinds: ${registry.kinds.join(", ") || "none"})`,
    );
    return undefined;
  }
  if (typeof kind !== "string") {
    report(["kind"], `expected a string, got ${describe(kind)}`);
    return undefined;
  }
  const factory = registry.get(kind);
  if (!factory) {
    report(
      ["kind"],
      `unknown ${registry.family} kind '${kind}' (known: ${registry.kinds.join(", ") || "none"})`,
    );
    return undefined;
  }
  let ok = true;
  const experimental = obj.experimental;
  delete obj.experimental;
  if (experimental !== undefined && typeof experimental !== "boolean") {
    report(["experimental"], `expected true or false, got ${describe(experimental)}`);
    ok = false;
  }
  if (factory.experimental && experimental !== true) {
    report(
      ["experimental"],
      `${registry.family} kind '${kind}' is experimental and must be explicitly enabled with 'experimental: true'`,
    );
    ok = false;
  }
  let transformers: Omit<ParsedPlugin, "path">[] | undefined;
  const role = opts.role ?? "plain";
  if (role !== "plain") {
    const list = obj.transformers;
    delete obj.transformers;
    transformers = [];
    if (list !== undefined) {
      if (!Array.isArray(list)) {
        report(["transformers"], `expected a list of transformers, got ${describe(list)}`);
        ok = false;
      } else if (opts.transformers) {
        for (let i = 0; i < list.length; i++) {
          const t = parsePluginObject(list[i], opts.transformers, {}, (p, m) =>
            report(["transformers", i, ...p], m),
          );
          if (t) transformers.push(t);
          else ok = false;
        }
      } else if (list.length > 0) {
        report(["transformers"], "transformers are not supported here");
        ok = false;
      }
    }
  }
  const result = factory.schema.safeParse(obj, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      for (const m of issueMessages(issue)) report(m.path, m.message);
    }
    return undefined;
  }
  if (!ok) return undefined;
  const base = { kind, factory, config: result.data, experimental: experimental === true };
  const withPrefix = role === "namer" ? { ...base, rawPrefix: obj.prefix } : base;
  return transformers ? { ...withPrefix, transformers } : withPrefix;
}

/** A zod schema for a plugin slot (validated through the registry, errors reported by path). */
export function pluginSlot(
  registry: Registry<unknown>,
  opts: SlotOptions = {},
): z.ZodType<RawSlot | undefined> {
  return z
    .unknown()
    .transform((raw, ctx) => {
      let failed = false;
      const parsed = parsePluginObject(raw, registry, opts, (path, message) => {
        failed = true;
        ctx.issues.push({ code: "custom", message, path: [...path], input: raw });
      });
      return failed ? z.NEVER : parsed;
    })
    .prefault(undefined);
}

/** One plugin or a list of them (Linkerd's `identifier:`), normalized to a list. */
export function pluginListSlot(
  registry: Registry<unknown>,
  opts: SlotOptions = {},
): z.ZodType<RawSlot[]> {
  return z
    .unknown()
    .transform((raw, ctx) => {
      let failed = false;
      const out: RawSlot[] = [];
      const items = raw === undefined ? [undefined] : Array.isArray(raw) ? raw : [raw];
      const isList = Array.isArray(raw);
      items.forEach((item, i) => {
        const parsed = parsePluginObject(item, registry, opts, (path, message) => {
          failed = true;
          ctx.issues.push({
            code: "custom",
            message,
            path: isList ? [i, ...path] : [...path],
            input: raw,
          });
        });
        if (parsed) out.push(parsed);
      });
      if (isList && items.length === 0) {
        failed = true;
        ctx.issues.push({
          code: "custom",
          message: "expected at least one entry",
          path: [],
          input: raw,
        });
      }
      return failed ? z.NEVER : out;
    })
    .prefault(undefined);
}
