/** The effective config as JSON, for the admin `/config.json` endpoint. */
import { Dtab, Path } from "@l5d/dtab";
import type { LinkerdConfig } from "./linkerd-config-types.js";
import { isParsedPlugin } from "./parsed-plugin.js";
import { redactSecrets } from "./redact.js";

function toJson(v: unknown): unknown {
  if (v instanceof Path) return v.show;
  if (v instanceof Dtab) return v.show;
  if (Array.isArray(v)) return v.map(toJson);
  if (isParsedPlugin(v)) {
    const extra = v as { transformers?: unknown[]; mountPrefix?: Path };
    const config = toJson(v.config);
    return {
      ...(typeof config === "object" && config !== null ? config : {}),
      kind: v.kind,
      ...(v.experimental ? { experimental: true } : {}),
      ...(extra.transformers && extra.transformers.length > 0
        ? { transformers: toJson(extra.transformers) }
        : {}),
    };
  }
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined || typeof x === "function") continue;
      out[k] = toJson(x);
    }
    return out;
  }
  return v;
}

/**
 * A plain-JSON rendering of the parsed config (paths and dtabs shown as text, plugins by kind),
 * secrets redacted (`redact.ts`): the admin port shows it to anyone who can reach it.
 */
export function toConfigJson(config: LinkerdConfig): unknown {
  const json = toJson(config) as Record<string, unknown>;
  // Show the namers' mount points too (Linkerd's /config.json echoes `prefix`).
  json.namers = config.namers.map((n, i) => ({
    ...((json.namers as Record<string, unknown>[])[i] ?? {}),
    prefix: n.mountPrefix.drop(1).show,
  }));
  return redactSecrets(json);
}
