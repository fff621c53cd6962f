/** `storage: { kind: io.l5d.inMemory, namespaces: { <ns>: <dtab> } }` (Linkerd's InMemoryDtabStore). */
import { type PluginFactory, pluginCommonShape } from "@l5d/config";
import { Dtab } from "@l5d/dtab";
import { z } from "zod";
import type { DtabStore } from "./dtab-store.js";
import { NAMESPACE_RE } from "./dtab-store.js";
import { InMemoryDtabStore } from "./in-memory-store.js";

const dtabText = z.string({ error: "expected a dtab" }).transform((text, ctx) => {
  try {
    return Dtab.read(text);
  } catch (e) {
    ctx.issues.push({
      code: "custom",
      message: `invalid dtab: ${e instanceof Error ? e.message : String(e)}`,
      input: text,
    });
    return z.NEVER;
  }
});

export const inMemoryStoreSchema = z.strictObject({
  ...pluginCommonShape,
  kind: z.enum(["io.l5d.inMemory", "io.buoyant.namerd.storage.inMemory"]),
  namespaces: z
    .record(
      z.string().regex(NAMESPACE_RE, { error: "namespace names are letters, digits, _ . -" }),
      dtabText,
    )
    .default({}),
});

function factory(kind: string): PluginFactory<z.infer<typeof inMemoryStoreSchema>, DtabStore> {
  return {
    kind,
    schema: inMemoryStoreSchema,
    make: (config) => new InMemoryDtabStore(config.namespaces),
  };
}

export const inMemoryStoreFactory = factory("io.l5d.inMemory");
/** The 0.x class-name kind of the upstream docs' first examples. */
export const inMemoryStoreLegacyFactory = factory("io.buoyant.namerd.storage.inMemory");
