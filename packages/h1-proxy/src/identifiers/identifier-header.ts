/**
 * `io.l5d.header` (Linkerd's `HeaderIdentifier`): the value of a header (`l5d-name` by default)
 * read as a path, `dstPrefix ++ <that path>`. Missing, or not a path: unidentified, saying why.
 */
import type { PluginFactory } from "@l5d/config";
import { Path } from "@l5d/dtab";
import { headerValue, type Identification, type IdentifierMaker } from "@l5d/h2-proxy";
import { z } from "zod";

export const headerIdentifierSchema = z.strictObject({
  kind: z.literal("io.l5d.header"),
  header: z
    .string()
    .min(1)
    .default("l5d-name")
    .transform((h) => h.toLowerCase()),
});

export type HeaderIdentifierConfig = z.infer<typeof headerIdentifierSchema>;

export function headerIdentifier(cfg: { header: string }): IdentifierMaker {
  const { header } = cfg;
  return (dstPrefix) => ({
    identify(headers): Identification {
      const v = headerValue(headers, header);
      if (v === undefined || v === "")
        return { kind: "unidentified", reason: `${header} header is absent` };
      let path: Path;
      try {
        path = Path.read(v);
      } catch (e) {
        return {
          kind: "unidentified",
          reason: `${header} header is not a path: ${(e as Error).message}`,
        };
      }
      return { kind: "ok", name: dstPrefix.concat(path) };
    },
  });
}

export const headerIdentifierFactory: PluginFactory<HeaderIdentifierConfig, IdentifierMaker> = {
  kind: "io.l5d.header",
  schema: headerIdentifierSchema as unknown as z.ZodType<HeaderIdentifierConfig>,
  make: (cfg) => headerIdentifier(cfg),
};
