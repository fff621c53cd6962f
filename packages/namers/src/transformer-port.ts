/** `io.l5d.port`: every address gets the configured port (e.g. the incoming router's). */
import { type PluginFactory, transformerCommonShape } from "@l5d/config";
import { Addr, type NameTreeTransformer, Path, Var } from "@l5d/dtab";
import { z } from "zod";
import { addrTransformer } from "./addr-transformer.js";
import { transformerPrefixSchema } from "./transformer-prefix.js";

export const portTransformerSchema = z.strictObject({
  ...transformerCommonShape,
  kind: z.literal("io.l5d.port"),
  /** The port every address is rewritten to (required). */
  port: z
    .number({
      error: (i) => (i.input === undefined ? "required" : "expected a port number (1-65535)"),
    })
    .int({ error: "expected a port number (1-65535)" })
    .min(1, { error: "expected a port number (1-65535)" })
    .max(65535, { error: "expected a port number (1-65535)" }),
  /** The id prefix under `/%`. Default `/io.l5d.port/<port>`. */
  prefix: transformerPrefixSchema().optional(),
});
export type PortTransformerConfig = z.infer<typeof portTransformerSchema>;

export function portTransformer(
  port: number,
  prefix = Path.utf8("io.l5d.port", String(port)),
): NameTreeTransformer {
  return addrTransformer(prefix, "PortTransformer", (addr) =>
    Var.map(addr, (a) =>
      a.type === "bound"
        ? Addr.bound(
            a.addrs.map((x) => ({ ...x, port })),
            { ...a.meta },
          )
        : a,
    ),
  );
}

export const portTransformerFactory: PluginFactory<PortTransformerConfig, NameTreeTransformer> = {
  kind: "io.l5d.port",
  schema: portTransformerSchema,
  make(config) {
    return config.prefix === undefined
      ? portTransformer(config.port)
      : portTransformer(config.port, Path.read(config.prefix));
  },
};
