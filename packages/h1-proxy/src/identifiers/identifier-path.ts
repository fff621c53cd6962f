/**
 * `io.l5d.path` (Linkerd's `PathIdentifier`): `dstPrefix/<first segments of the path>`
 * (`segments`, default 1); fewer segments: unidentified ("not enough segments in path"). With
 * `consume: true` the request goes on without those segments (`/api/books/42?x` with 2 segments
 * → `/42?x`; nothing left → `/`; a trailing slash is kept). Unlike Linkerd's, the query string
 * is kept when every segment is consumed (`/api/books?x` → `/?x`).
 */
import type { PluginFactory } from "@l5d/config";
import { Path } from "@l5d/dtab";
import { headerValue, type Identification, type IdentifierMaker } from "@l5d/h2-proxy";
import { z } from "zod";
import { targetPath, targetQuery } from "./request-target.js";

export const pathIdentifierSchema = z.strictObject({
  kind: z.literal("io.l5d.path"),
  segments: z.number().int().min(1, { error: "expected a positive integer" }).default(1),
  consume: z.boolean().default(false),
});

export type PathIdentifierConfig = z.infer<typeof pathIdentifierSchema>;

export function pathIdentifier(cfg: { segments: number; consume: boolean }): IdentifierMaker {
  const { segments, consume } = cfg;
  return (dstPrefix) => ({
    identify(headers): Identification {
      const target = headerValue(headers, ":path") ?? "/";
      const path = targetPath(target);
      // as Java's split: "/a/b/".split("/") drops the trailing empty segment
      const parts = path.split("/").slice(1);
      while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
      if (parts.length < segments || parts.slice(0, segments).some((p) => p === ""))
        return { kind: "unidentified", reason: "not enough segments in path" };
      const name = dstPrefix.concat(Path.utf8(...parts.slice(0, segments)));
      if (!consume) return { kind: "ok", name };
      const rest = parts.slice(segments);
      const trailing = rest.length > 0 && path.endsWith("/") ? "/" : "";
      const rewritePath = `${rest.length === 0 ? "/" : `/${rest.join("/")}${trailing}`}${targetQuery(target)}`;
      return { kind: "ok", name, rewritePath };
    },
  });
}

export const pathIdentifierFactory: PluginFactory<PathIdentifierConfig, IdentifierMaker> = {
  kind: "io.l5d.path",
  schema: pathIdentifierSchema as unknown as z.ZodType<PathIdentifierConfig>,
  make: (cfg) => pathIdentifier(cfg),
};
