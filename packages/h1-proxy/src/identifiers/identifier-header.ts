/**
 * `io.l5d.header` (Linkerd's `HeaderIdentifier` with `headerPath = true`): the value of a header
 * (`l5d-name` by default, any case) read as a dtab path, `dstPrefix ++ <that path>`
 * (`l5d-name: /books/v2` → `/svc/books/v2`). Missing or empty: unidentified
 * ("l5d-name header is absent"). A value that is not a path is unidentified too, with the parse
 * error (Linkerd fails the request with it: also a 400, but it does not try the next
 * identifier).
 */
import type { PluginFactory } from "@l5d/config";
import { Path } from "@l5d/dtab";
import type { Identification, IdentifierMaker } from "@l5d/h2-proxy";
import { z } from "zod";
import { fieldValue } from "./request-target.js";

export const headerIdentifierSchema = z.strictObject({
  kind: z.literal("io.l5d.header"),
  /** The header whose value is the name (matched case-insensitively). */
  header: z.string().min(1).default("l5d-name"),
});

export type HeaderIdentifierConfig = z.infer<typeof headerIdentifierSchema>;

export function headerIdentifier(cfg: { header: string }): IdentifierMaker {
  const { header } = cfg;
  const field = header.toLowerCase();
  const absent: Identification = { kind: "unidentified", reason: `${header} header is absent` };
  return (dstPrefix) => ({
    identify(headers): Identification {
      const v = fieldValue(headers, field);
      if (v === undefined || v === "") return absent;
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
