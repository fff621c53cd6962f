/**
 * `io.l5d.header.token` (the h2 default): the name is dstPrefix ++ one element holding the raw
 * value of a header (`:authority` by default): `foo.default:4142` → `/svc/foo.default:4142`.
 */

import type { PluginFactory } from "@l5d/config";
import { z } from "zod";
import { headerValue } from "./header-list.js";
import type { IdentifierMaker } from "./identifier.js";
import { tokenNamer } from "./token-namer.js";

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

export function headerTokenIdentifier(cfg: { header: string }): IdentifierMaker {
  // (`header` lower-case; a missing `:authority` falls back to `host`)
  const { header } = cfg;
  return (dstPrefix) => {
    const named = tokenNamer(dstPrefix);
    return {
      identify(headers) {
        let v = headerValue(headers, header);
        // HTTP/1.1-upgraded requests carry `host` rather than `:authority`
        if ((v === undefined || v === "") && header === ":authority")
          v = headerValue(headers, "host");
        if (v === undefined || v === "")
          return { kind: "unidentified", reason: `missing header: '${header}'` };
        return named(v);
      },
    };
  };
}

export const headerTokenIdentifierFactory: PluginFactory<HeaderTokenConfig, IdentifierMaker> = {
  kind: "io.l5d.header.token",
  schema: headerTokenSchema as unknown as z.ZodType<HeaderTokenConfig>,
  make: (cfg) => headerTokenIdentifier(cfg),
};
