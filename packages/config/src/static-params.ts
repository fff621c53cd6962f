/**
 * Per-client and per-service settings: `io.l5d.global` applies one set; `io.l5d.static` merges
 * every config whose `prefix` matches (later configs win, key by key) over the defaults.
 */
import { type Path, showElem } from "@l5d/dtab";
import type {
  ClientParams,
  ClientSection,
  ServiceParams,
  ServiceSection,
} from "./linkerd-config-types.js";

/**
 * Whether a static-config prefix matches the start of `path`. Segments: a literal (compared to
 * the element's shown form), `*` (any one element) or `{name}` (any one element, captured).
 */
export function staticPrefixMatches(prefix: string, path: Path): boolean {
  const segs = prefix.split("/").filter((s) => s !== "");
  if (segs.length > path.size) return false;
  return segs.every((seg, i) => {
    if (seg === "*" || /^\{[^{}]+\}$/.test(seg)) return true;
    return seg === showElem(path.elems[i] ?? "");
  });
}

/** The `{name}` segments of a matching static-config prefix and the elements they matched. */
export function staticPrefixCaptures(prefix: string, path: Path): Record<string, string> {
  const out: Record<string, string> = {};
  prefix
    .split("/")
    .filter((s) => s !== "")
    .forEach((seg, i) => {
      const m = /^\{([^{}]+)\}$/.exec(seg);
      if (m) out[m[1] as string] = showElem(path.elems[i] ?? "");
    });
  return out;
}

/** A `tls` whose `commonName` names prefix captures (`{service}`), filled in for `path`. */
function withCaptures(value: unknown, prefix: string, path: Path): unknown {
  const tls = value as { commonName?: string } | undefined;
  if (tls?.commonName === undefined || !tls.commonName.includes("{")) return value;
  const captures = staticPrefixCaptures(prefix, path);
  return {
    ...tls,
    commonName: tls.commonName.replace(/\{([^{}]+)\}/g, (m, n: string) => captures[n] ?? m),
  };
}

function merge<T extends object>(
  defaults: T,
  configs: readonly ({ prefix: string } & Partial<T>)[],
  path: Path,
): T {
  let out: T = defaults;
  for (const c of configs) {
    if (!staticPrefixMatches(c.prefix, path)) continue;
    const { prefix, ...rest } = c;
    const set = Object.fromEntries(
      Object.entries(rest)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, k === "tls" ? withCaptures(v, prefix, path) : v]),
    );
    out = { ...out, ...set };
  }
  return out;
}

/** The client settings for a client id (e.g. `/%/io.l5d.port/4141/#/io.l5d.fs/hello`). */
export function resolveClientParams(section: ClientSection, id: Path): ClientParams {
  return section.kind === "io.l5d.global"
    ? section.params
    : merge(section.defaults, section.configs, id);
}

/** The service settings for a logical name (e.g. `/svc/helloworld.Hello`). */
export function resolveServiceParams(section: ServiceSection, name: Path): ServiceParams {
  return section.kind === "io.l5d.global"
    ? section.params
    : merge(section.defaults, section.configs, name);
}
