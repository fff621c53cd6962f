/**
 * `io.l5d.header.token` on an HTTP/1.1 router, its default identifier (Linkerd's
 * `HeaderIdentifier` with `headerPath = false`): the value of a header (`Host` by default,
 * matched case-insensitively) as one path element, UTF-8 encoded as Linkerd's `Path.Utf8`:
 * `Host: web:8080` → `/svc/web:8080`, `café` → the bytes 63 61 66 c3 a9, shown
 * `/svc/\x63\x61\x66\xc3\xa9` (Finagle escapes every byte of an element that has one it cannot
 * show). The value is taken as sent: not lower-cased, port kept; for Host, an absolute-form
 * target's authority wins (Linkerd's `ProxyRewriteFilter`). Missing or empty: unidentified
 * ("Host header is absent").
 */
import type { PluginFactory } from "@l5d/config";
import { type Identification, type IdentifierMaker, tokenNamer } from "@l5d/h2-proxy";
import { z } from "zod";
import { fieldValue } from "./request-target.js";

export const httpHeaderTokenSchema = z.strictObject({
  kind: z.literal("io.l5d.header.token"),
  /** The header whose value names the service (matched case-insensitively). */
  header: z.string().min(1).default("Host"),
});

export type HttpHeaderTokenConfig = z.infer<typeof httpHeaderTokenSchema>;

export function httpHeaderTokenIdentifier(cfg: { header: string }): IdentifierMaker {
  const { header } = cfg;
  const field = header.toLowerCase();
  const absent: Identification = { kind: "unidentified", reason: `${header} header is absent` };
  return (dstPrefix) => {
    const named = tokenNamer(dstPrefix);
    return {
      identify(headers) {
        const v = fieldValue(headers, field);
        return v === undefined || v === "" ? absent : named(v);
      },
    };
  };
}

export const httpHeaderTokenIdentifierFactory: PluginFactory<
  HttpHeaderTokenConfig,
  IdentifierMaker
> = {
  kind: "io.l5d.header.token",
  schema: httpHeaderTokenSchema as unknown as z.ZodType<HttpHeaderTokenConfig>,
  make: (cfg) => httpHeaderTokenIdentifier(cfg),
};
