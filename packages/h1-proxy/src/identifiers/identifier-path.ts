/**
 * `io.l5d.path` (Linkerd's `PathIdentifier`): `dstPrefix/<first segments of the uri path>`
 * (`segments`, default 1, each segment one UTF-8 element as `Path.Utf8`); fewer segments:
 * unidentified ("not enough segments in path"). Segments are the path (before `?`) split on `/`
 * as Java splits it: trailing empty segments dropped (`/a/` has one), inner ones kept (`/a//b`
 * has three, and naming one of its empty segments fails the request, as Finagle's `Path` refuses
 * an empty element). With `consume: true` the request goes on without those segments
 * (`rewritePath`): `/api/books/42?x` with 2 segments → `/42?x`; a trailing slash is kept
 * (`/api/books/a/` → `/a/`); nothing left → `/`, the query still kept (`/api/books?x` → `/?x`).
 */
import type { PluginFactory } from "@l5d/config";
import { Path } from "@l5d/dtab";
import { headerValue, type Identification, type IdentifierMaker } from "@l5d/h2-proxy";
import { z } from "zod";
import { pathSegments, targetPath, targetQuery } from "./request-target.js";

const POSITIVE = { error: "expected a positive integer" };

export const pathIdentifierSchema = z.strictObject({
  kind: z.literal("io.l5d.path"),
  /** Leading path segments that name the service. */
  segments: z.number(POSITIVE).int(POSITIVE).min(1, POSITIVE).default(1),
  /** Send the request on without the segments that named it. */
  consume: z.boolean().default(false),
});

export type PathIdentifierConfig = z.infer<typeof pathIdentifierSchema>;

export const TOO_FEW_SEGMENTS_REASON = "not enough segments in path";

export function pathIdentifier(cfg: { segments: number; consume: boolean }): IdentifierMaker {
  const { segments, consume } = cfg;
  const tooFew: Identification = { kind: "unidentified", reason: TOO_FEW_SEGMENTS_REASON };
  return (dstPrefix) => ({
    identify(headers): Identification {
      const target = headerValue(headers, ":path") ?? "/";
      const path = targetPath(target);
      const parts = pathSegments(path);
      if (parts.length < segments) return tooFew;
      const named = parts.slice(0, segments);
      if (named.includes(""))
        throw new Error(`empty segment in the first ${segments} of request path '${path}'`);
      const name = dstPrefix.concat(Path.utf8(...named));
      if (!consume) return { kind: "ok", name };
      const rest = parts.slice(segments);
      const restPath =
        rest.length === 0 ? "/" : `/${rest.join("/")}${path.endsWith("/") ? "/" : ""}`;
      return { kind: "ok", name, rewritePath: restPath + targetQuery(target) };
    },
  });
}

export const pathIdentifierFactory: PluginFactory<PathIdentifierConfig, IdentifierMaker> = {
  kind: "io.l5d.path",
  schema: pathIdentifierSchema as unknown as z.ZodType<PathIdentifierConfig>,
  make: (cfg) => pathIdentifier(cfg),
};
