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

function merge<T extends object>(
  defaults: T,
  configs: readonly ({ prefix: string } & Partial<T>)[],
  path: Path,
): T {
  let out: T = defaults;
  for (const c of configs) {
    if (!staticPrefixMatches(c.prefix, path)) continue;
    const { prefix: _p, ...rest } = c;
    const set = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
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
