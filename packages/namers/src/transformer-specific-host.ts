/** `io.l5d.specificHost`: keeps only addresses equal to `host` (resolved once). Empty → Addr.Neg. */
import { type PluginFactory, transformerCommonShape } from "@l5d/config";
import { type Address, type NameTreeTransformer, Path, VarCell } from "@l5d/dtab";
import { z } from "zod";
import { addrTransformer, filterAddrVar } from "./addr-transformer.js";
import { resolveHost } from "./fs-addr-file.js";
import { hostFilter } from "./transformer-localhost.js";
import { transformerPrefixSchema } from "./transformer-prefix.js";

export const specificHostTransformerSchema = z.strictObject({
  ...transformerCommonShape,
  kind: z.literal("io.l5d.specificHost"),
  /** The host (IP or name) whose addresses are kept (required). */
  host: z.string({ error: (i) => (i.input === undefined ? "required" : "expected a host") }).min(1),
  /** The id prefix under `/%`. Default `/io.l5d.specificHost`. */
  prefix: transformerPrefixSchema().optional(),
});
export type SpecificHostTransformerConfig = z.infer<typeof specificHostTransformerSchema>;

export function specificHostTransformer(
  host: string,
  prefix = Path.utf8("io.l5d.specificHost"),
): NameTreeTransformer {
  const keep = new VarCell<((a: Address) => boolean) | Error | undefined>(undefined);
  resolveHost(host).then(
    (ip) => keep.update(hostFilter(new Set([ip]))),
    (e: unknown) =>
      keep.update(new Error(`io.l5d.specificHost: cannot resolve '${host}': ${String(e)}`)),
  );
  return addrTransformer(prefix, "SpecificHostTransformer", (addr) => filterAddrVar(addr, keep));
}

export const specificHostTransformerFactory: PluginFactory<
  SpecificHostTransformerConfig,
  NameTreeTransformer
> = {
  kind: "io.l5d.specificHost",
  schema: specificHostTransformerSchema,
  make(config) {
    return config.prefix === undefined
      ? specificHostTransformer(config.host)
      : specificHostTransformer(config.host, Path.read(config.prefix));
  },
};
