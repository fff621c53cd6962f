/**
 * `io.l5d.localhost`: keeps only addresses that are one of this host's interface IPs (for an
 * incoming router that must only send to local destinations). Empty → Addr.Neg.
 */

import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { type PluginFactory, transformerCommonShape } from "@l5d/config";
import { type Address, type NameTreeTransformer, Path, Var } from "@l5d/dtab";
import { z } from "zod";
import { addrTransformer, filterAddr } from "./addr-transformer.js";
import { transformerPrefixSchema } from "./transformer-prefix.js";

export const localhostTransformerSchema = z.strictObject({
  ...transformerCommonShape,
  kind: z.literal("io.l5d.localhost"),
  /** The id prefix under `/%`. Default `/io.l5d.localhost`. */
  prefix: transformerPrefixSchema().optional(),
});
export type LocalhostTransformerConfig = z.infer<typeof localhostTransformerSchema>;

/** This host's interface addresses (IPv4 and IPv6, loopback included). */
export function localIps(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.add(a.address);
  }
  return out;
}

/** Keeps addresses whose host is in `ips`; host names (not IPs) are kept as Linkerd keeps non-Inet addresses. */
export function hostFilter(ips: ReadonlySet<string>): (a: Address) => boolean {
  return (a) => isIP(a.host) === 0 || ips.has(a.host);
}

export function localhostTransformer(
  ips: ReadonlySet<string> = localIps(),
  prefix = Path.utf8("io.l5d.localhost"),
): NameTreeTransformer {
  const keep = hostFilter(ips);
  return addrTransformer(prefix, "LocalhostTransformer", (addr) =>
    Var.map(addr, (a) => filterAddr(a, keep)),
  );
}

export const localhostTransformerFactory: PluginFactory<
  LocalhostTransformerConfig,
  NameTreeTransformer
> = {
  kind: "io.l5d.localhost",
  schema: localhostTransformerSchema,
  make(config) {
    return config.prefix === undefined
      ? localhostTransformer()
      : localhostTransformer(localIps(), Path.read(config.prefix));
  },
};
