/**
 * namerd's YAML config (Linkerd's NamerdConfig): `admin`, `storage`, `namers`, `interfaces`,
 * `telemetry`. Validated like l5d's: every error names its key path, nothing starts on a bad
 * config.
 */
import {
  type ConfigError,
  expected,
  issueMessages,
  loadYaml,
  type NamerEntry,
  type ParsedPlugin,
  pluginSlot,
  port,
  type RawSlot,
  type Registry,
  showKeyPath,
} from "@l5d/config";
import { Path } from "@l5d/dtab";
import { z } from "zod";

/** namerd's plugin families. */
export interface NamerdRegistries {
  readonly storage: Registry<unknown>;
  readonly interfaces: Registry<unknown>;
  readonly namers: Registry<unknown>;
  readonly transformers: Registry<unknown>;
  readonly telemeters: Registry<unknown>;
}

export interface NamerdAdminConfig {
  readonly ip: string;
  readonly port: number;
}

export interface NamerdConfig {
  readonly admin: NamerdAdminConfig;
  readonly storage: ParsedPlugin;
  readonly namers: readonly NamerEntry[];
  readonly interfaces: readonly ParsedPlugin[];
  readonly telemetry: readonly ParsedPlugin[];
}

export type NamerdParseResult =
  | { readonly ok: true; readonly config: NamerdConfig }
  | { readonly ok: false; readonly errors: readonly ConfigError[] };

/** namerd's admin port (Linkerd's namerd default). */
export const NAMERD_ADMIN_PORT = 9991;

function schema(r: NamerdRegistries) {
  return z.strictObject(
    {
      admin: z
        .strictObject({
          ip: z.string(expected("expected an IP address")).default("127.0.0.1"),
          port: port().default(NAMERD_ADMIN_PORT),
        })
        .prefault({}),
      storage: z.unknown().transform((raw, ctx) => {
        if (raw === undefined) {
          ctx.issues.push({
            code: "custom",
            message: `required (known storage kinds: ${r.storage.kinds.join(", ")})`,
            input: raw,
          });
          return z.NEVER;
        }
        return raw;
      }),
      namers: z
        .array(
          pluginSlot(r.namers, { role: "namer", transformers: r.transformers }),
          expected("expected a list"),
        )
        .default([]),
      interfaces: z.array(pluginSlot(r.interfaces), expected("expected a list")).default([]),
      telemetry: z.array(pluginSlot(r.telemeters), expected("expected a list")).default([]),
    },
    expected("expected a map of top-level keys (admin, storage, namers, interfaces, telemetry)"),
  );
}

function plugin(slot: RawSlot, path: string): ParsedPlugin {
  return {
    kind: slot.kind,
    factory: slot.factory,
    config: slot.config,
    path,
    experimental: slot.experimental,
  };
}

/** Parses and validates a namerd YAML config against the given registries. */
export function parseNamerdConfig(text: string, r: NamerdRegistries): NamerdParseResult {
  const loaded = loadYaml(text);
  const errors: ConfigError[] = [...loaded.errors];
  if (!loaded.usable) return { ok: false, errors };
  if (loaded.value === undefined || loaded.value === null)
    return { ok: false, errors: [...errors, { path: "", message: "the config is empty" }] };
  const push = (path: readonly (string | number)[], message: string) => {
    const at = loaded.locate(path);
    errors.push(
      at
        ? { path: showKeyPath(path), message, line: at.line, column: at.column }
        : { path: showKeyPath(path), message },
    );
  };
  const result = schema(r).safeParse(loaded.value, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues)
      for (const m of issueMessages(issue)) push(m.path, m.message);
    return { ok: false, errors };
  }
  const storage = pluginSlot(r.storage).safeParse(result.data.storage, { reportInput: true });
  if (!storage.success) {
    for (const issue of storage.error.issues)
      for (const m of issueMessages(issue)) push(["storage", ...m.path], m.message);
  }
  const seenPorts = new Map<string, number>();
  result.data.interfaces.forEach((slot, i) => {
    const c = (slot as RawSlot).config as { ip?: string; port?: number };
    if (c.port === undefined || c.port === 0) return;
    const key = `${c.ip ?? ""}:${c.port}`;
    const first = seenPorts.get(key);
    if (first !== undefined)
      push(["interfaces", i, "port"], `port ${c.port} is also used by interfaces[${first}]`);
    else seenPorts.set(key, i);
  });
  const prefixes = new Map<string, number>();
  const namers: NamerEntry[] = [];
  result.data.namers.forEach((slot, i) => {
    const s = slot as RawSlot;
    const text = typeof s.rawPrefix === "string" ? s.rawPrefix : `/${s.kind}`;
    let prefix: Path;
    try {
      prefix = Path.read(text);
    } catch (e) {
      push(["namers", i, "prefix"], `invalid path: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const first = prefixes.get(prefix.show);
    if (first !== undefined) {
      push(["namers", i, "prefix"], `prefix ${prefix.show} is already used by namers[${first}]`);
      return;
    }
    prefixes.set(prefix.show, i);
    namers.push({
      ...plugin(s, `namers[${i}]`),
      mountPrefix: Path.utf8("#").concat(prefix),
      transformers: (s.transformers ?? []).map((t, j) =>
        plugin(t as RawSlot, `namers[${i}].transformers[${j}]`),
      ),
    });
  });
  if (errors.length > 0 || !storage.success || storage.data === undefined)
    return { ok: false, errors };
  return {
    ok: true,
    config: {
      admin: result.data.admin,
      storage: plugin(storage.data, "storage"),
      namers,
      interfaces: result.data.interfaces.map((s, i) => plugin(s as RawSlot, `interfaces[${i}]`)),
      telemetry: result.data.telemetry.map((s, i) => plugin(s as RawSlot, `telemetry[${i}]`)),
    },
  };
}
