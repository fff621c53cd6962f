/**
 * `io.l5d.header.path`: the name is dstPrefix ++ the first `segments` elements of the
 * request path (gRPC: `/helloworld.Hello/Greeting` with `segments: 1` → `/svc/helloworld.Hello`).
 */

import type { PluginFactory } from "@l5d/config";
import { Path } from "@l5d/dtab";
import { z } from "zod";
import { headerValue } from "./header-list.js";
import type { IdentifierMaker } from "./identifier.js";

export const headerPathSchema = z.strictObject({
  kind: z.literal("io.l5d.header.path"),
  /** Header to read (default `:path`), lower-cased. */
  header: z
    .string()
    .min(1)
    .default(":path")
    .transform((h) => h.toLowerCase()),
  /** Number of leading path segments that name the service; all of them when absent. */
  segments: z
    .number({ error: "expected a positive integer" })
    .int({ error: "expected a positive integer" })
    .min(1, { error: "expected a positive integer" })
    .optional(),
});

export type HeaderPathConfig = z.infer<typeof headerPathSchema>;

export function headerPathIdentifier(cfg: {
  header: string;
  segments?: number | undefined;
}): IdentifierMaker {
  const { header, segments } = cfg;
  return (dstPrefix) => ({
    identify(headers) {
      let v = headerValue(headers, header) ?? "";
      const q = v.indexOf("?");
      if (q >= 0) v = v.slice(0, q);
      if (v.endsWith("/")) v = v.slice(0, -1);
      const path = v === "" ? Path.empty : Path.read(v);
      if (segments !== undefined) {
        if (path.size < segments) {
          return {
            kind: "unidentified",
            // Linkerd's wording, "(s)" and all
            reason: `Path must have at least ${segments} segment(s)`,
          };
        }
        return { kind: "ok", name: dstPrefix.concat(path.take(segments)) };
      }
      if (path.isEmpty) return { kind: "unidentified", reason: "Missing destination path" };
      return { kind: "ok", name: dstPrefix.concat(path) };
    },
  });
}

export const headerPathIdentifierFactory: PluginFactory<HeaderPathConfig, IdentifierMaker> = {
  kind: "io.l5d.header.path",
  schema: headerPathSchema as unknown as z.ZodType<HeaderPathConfig>,
  make: (cfg) => headerPathIdentifier(cfg),
};
