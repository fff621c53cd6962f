/**
 * `parseLinkerdConfig`: YAML text → validated Linkerd config, or EVERY error by key path.
 * Cross-field rules (unique router labels, port clashes, unique namer prefixes) are checked on
 * the raw document too, so they are listed alongside schema errors.
 */
import { Path } from "@l5d/dtab";
import { type ConfigError, type KeyPath, showKeyPath } from "./config-error.js";
import type {
  ClientParams,
  ClientSection,
  ClientStaticEntry,
  LinkerdConfig,
  RouterConfig,
  ServiceParams,
  ServiceSection,
  ServiceStaticEntry,
} from "./linkerd-config-types.js";
import { linkerdSchema, type Registries, ROUTER_PROTOCOLS } from "./linkerd-schema.js";
import { loadYaml } from "./load-yaml.js";
import type { InterpreterEntry, NamerEntry, ParsedPlugin } from "./parsed-plugin.js";
import type { RawSlot } from "./plugin-slot.js";
import { issueMessages } from "./schema-helpers.js";

export type ParseResult =
  | { ok: true; config: LinkerdConfig }
  | { ok: false; errors: ConfigError[] };

/** Removes `key: null` entries (YAML's empty values), which Linkerd treats as absent. */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNulls(x);
    return out;
  }
  return v;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const WILDCARDS = new Set(["0.0.0.0", "::", "0:0:0:0:0:0:0:0"]);
const normIp = (ip: string) => (ip === "localhost" ? "127.0.0.1" : ip);

/** Unique labels, port clashes and unique namer prefixes, checked on the raw document. */
function crossChecks(doc: unknown, push: (path: KeyPath, message: string) => void): void {
  if (!isObj(doc)) return;
  const routers = Array.isArray(doc.routers) ? doc.routers : [];
  const labels = new Map<string, number>();
  const listeners: { ip: string; port: number; where: string }[] = [];
  const admin = isObj(doc.admin) ? doc.admin : {};
  const adminIp = typeof admin.ip === "string" ? admin.ip : "127.0.0.1";
  const adminPort = typeof admin.port === "number" ? admin.port : 9990;
  listeners.push({ ip: normIp(adminIp), port: adminPort, where: "admin" });
  routers.forEach((r, i) => {
    if (!isObj(r)) return;
    const label =
      typeof r.label === "string"
        ? r.label
        : typeof r.protocol === "string"
          ? r.protocol
          : undefined;
    if (label !== undefined) {
      const first = labels.get(label);
      if (first !== undefined) {
        push(
          ["routers", i, r.label === undefined ? "protocol" : "label"],
          `duplicate router label '${label}' (also routers[${first}]); set a unique 'label'`,
        );
      } else labels.set(label, i);
    }
    const servers = Array.isArray(r.servers) ? r.servers : [];
    servers.forEach((s, j) => {
      if (!isObj(s)) return;
      const ip = typeof s.ip === "string" ? normIp(s.ip) : "127.0.0.1";
      const port =
        typeof s.port === "number"
          ? s.port
          : (ROUTER_PROTOCOLS[typeof r.protocol === "string" ? r.protocol : "h2"] ?? 4142);
      const where = `routers[${i}].servers[${j}]`;
      if (port !== 0) {
        const clash = listeners.find(
          (l) => l.port === port && (l.ip === ip || WILDCARDS.has(l.ip) || WILDCARDS.has(ip)),
        );
        if (clash) {
          push(
            ["routers", i, "servers", j, "port"],
            `${ip}:${port} clashes with ${clash.where} (${clash.ip}:${clash.port})`,
          );
        }
      }
      listeners.push({ ip, port, where });
    });
  });
  const namers = Array.isArray(doc.namers) ? doc.namers : [];
  const prefixes = new Map<string, number>();
  namers.forEach((n, i) => {
    if (!isObj(n) || typeof n.kind !== "string") return;
    const text = typeof n.prefix === "string" ? n.prefix : `/${n.kind}`;
    let key: string;
    try {
      key = Path.read(text).show;
    } catch (e) {
      push(["namers", i, "prefix"], `invalid path: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (key === "/") {
      push(["namers", i, "prefix"], "the prefix must not be empty");
      return;
    }
    const first = prefixes.get(key);
    if (first !== undefined) {
      push(["namers", i, "prefix"], `prefix ${key} is already used by namers[${first}]`);
    } else prefixes.set(key, i);
  });
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

function withTransformers(
  slot: RawSlot,
  path: string,
): ParsedPlugin & { transformers: ParsedPlugin[] } {
  return {
    ...plugin(slot, path),
    transformers: (slot.transformers ?? []).map((t, i) =>
      plugin(t as RawSlot, `${path}.transformers[${i}]`),
    ),
  };
}

type Out = {
  admin: LinkerdConfig["admin"];
  namers: (RawSlot | undefined)[];
  routers: (Omit<RouterConfig, "identifiers" | "interpreter" | "label" | "client" | "service"> & {
    label?: string;
    identifier: RawSlot[];
    interpreter: RawSlot | undefined;
    client: { kind: string; params?: Obj; configs?: Obj[]; defaults?: Obj };
    service: { kind: string; params?: Obj; configs?: Obj[]; defaults?: Obj };
  })[];
  telemetry: (RawSlot | undefined)[];
  usage: LinkerdConfig["usage"];
  workers: number;
};

function withPluginPaths(params: Obj | undefined, path: string, keys: readonly string[]): Obj {
  const out: Obj = { ...(params ?? {}) };
  for (const k of keys) {
    const v = out[k] as RawSlot | undefined;
    if (v === undefined) delete out[k];
    else out[k] = plugin(v, `${path}.${k}`);
  }
  return out;
}

function section(
  s: Out["routers"][number]["client"],
  path: string,
  keys: readonly string[],
): { kind: string; params?: Obj; configs?: Obj[]; defaults?: Obj } {
  if (s.kind === "io.l5d.static") {
    return {
      kind: s.kind,
      configs: (s.configs ?? []).map((c, i) => withPluginPaths(c, `${path}.configs[${i}]`, keys)),
      defaults: withPluginPaths(s.defaults, path, keys),
    };
  }
  return { kind: s.kind, params: withPluginPaths(s.params, path, keys) };
}

function assemble(out: Out): LinkerdConfig {
  const namers: NamerEntry[] = out.namers.map((slot, i) => {
    const s = slot as RawSlot;
    const prefixText = typeof s.rawPrefix === "string" ? s.rawPrefix : `/${s.kind}`;
    return {
      ...withTransformers(s, `namers[${i}]`),
      mountPrefix: Path.utf8("#").concat(Path.read(prefixText)),
    };
  });
  const routers: RouterConfig[] = out.routers.map((r, i) => {
    const base = `routers[${i}]`;
    const { identifier, interpreter, client, service, label, ...rest } = r;
    const identifiers = identifier.map((id, j) =>
      plugin(id, identifier.length > 1 ? `${base}.identifier[${j}]` : `${base}.identifier`),
    );
    const interp: InterpreterEntry | undefined = interpreter
      ? withTransformers(interpreter, `${base}.interpreter`)
      : undefined;
    const router = {
      ...rest,
      label: label ?? r.protocol,
      identifiers,
      ...(interp ? { interpreter: interp } : {}),
      client: section(client, `${base}.client`, [
        "loadBalancer",
        "failureAccrual",
      ]) as unknown as ClientSection,
      service: section(service, `${base}.service`, [
        "responseClassifier",
      ]) as unknown as ServiceSection,
    } as RouterConfig;
    return router;
  });
  return {
    admin: out.admin,
    namers,
    routers,
    telemetry: out.telemetry.map((t, i) => plugin(t as RawSlot, `telemetry[${i}]`)),
    usage: out.usage,
    workers: out.workers,
  };
}

/** Parses and validates a Linkerd 1.x YAML config against the given plugin registries. */
export function parseLinkerdConfig(text: string, registries: Registries): ParseResult {
  const loaded = loadYaml(text);
  const errors: ConfigError[] = [...loaded.errors];
  if (!loaded.usable) return { ok: false, errors };
  const value = dropNulls(loaded.value);
  if (value === undefined || value === null) {
    return { ok: false, errors: [...errors, { path: "", message: "the config is empty" }] };
  }
  const push = (path: KeyPath, message: string) => {
    const at = loaded.locate(path);
    errors.push(
      at
        ? { path: showKeyPath(path), message, line: at.line, column: at.column }
        : { path: showKeyPath(path), message },
    );
  };
  const result = linkerdSchema(registries).safeParse(value, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues)
      for (const m of issueMessages(issue)) push(m.path, m.message);
  }
  crossChecks(value, push);
  if (errors.length > 0 || !result.success) {
    return { ok: false, errors: sortErrors(dedupe(errors)) };
  }
  return { ok: true, config: assemble(result.data as unknown as Out) };
}

function dedupe(errors: ConfigError[]): ConfigError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.path}\u0000${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Errors in file order (errors without a line keep their relative order, at the end). */
function sortErrors(errors: ConfigError[]): ConfigError[] {
  return errors
    .map((e, i) => ({ e, i }))
    .sort(
      (a, b) =>
        (a.e.line ?? Number.MAX_SAFE_INTEGER) - (b.e.line ?? Number.MAX_SAFE_INTEGER) || a.i - b.i,
    )
    .map((x) => x.e);
}

// Re-exported for callers who resolve per-client / per-service settings.
export type { ClientParams, ClientStaticEntry, ServiceParams, ServiceStaticEntry };
