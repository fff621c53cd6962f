/**
 * `io.l5d.header.token` (the h2 default): the name is dstPrefix ++ one element holding the raw
 * value of a header (`:authority` by default): `foo.default:4142` → `/svc/foo.default:4142`.
 */

import type { PluginFactory } from "@l5d/config";
import { Path } from "@l5d/dtab";
import { z } from "zod";
import { headerValue } from "./header-list.js";
import type { Identification, IdentifierMaker } from "./identifier.js";

export const headerTokenSchema = z.strictObject({
  kind: z.literal("io.l5d.header.token"),
  /** Header whose value names the service (default `:authority`). */
  header: z
    .string()
    .min(1)
    .default(":authority")
    .transform((h) => h.toLowerCase()),
});

export type HeaderTokenConfig = z.infer<typeof headerTokenSchema>;

/** Distinct header values whose names are remembered (cleared when full). */
const NAME_CACHE_SIZE = 1024;

export function headerTokenIdentifier(cfg: { header: string }): IdentifierMaker {
  // (`header` lower-case; a missing `:authority` falls back to `host`)
  const { header } = cfg;
  return (dstPrefix) => {
    // Paths are immutable: one per distinct value saves building it (and its `show`) per request.
    const names = new Map<string, Identification>();
    return {
      identify(headers) {
        let v = headerValue(headers, header);
        // HTTP/1.1-upgraded requests carry `host` rather than `:authority`
        if ((v === undefined || v === "") && header === ":authority")
          v = headerValue(headers, "host");
        if (v === undefined || v === "")
          return { kind: "unidentified", reason: `missing header: '${header}'` };
        let id = names.get(v);
        if (id === undefined) {
          // one element, UTF-8 encoded as Linkerd's `Path.Utf8` (`café` → bytes 63 61 66 c3 a9)
          id = { kind: "ok", name: dstPrefix.concat(Path.utf8(v)) };
          if (names.size >= NAME_CACHE_SIZE) names.clear();
          names.set(v, id);
        }
        return id;
      },
    };
  };
}

export const headerTokenIdentifierFactory: PluginFactory<HeaderTokenConfig, IdentifierMaker> = {
  kind: "io.l5d.header.token",
  schema: headerTokenSchema as unknown as z.ZodType<HeaderTokenConfig>,
  make: (cfg) => headerTokenIdentifier(cfg),
};
