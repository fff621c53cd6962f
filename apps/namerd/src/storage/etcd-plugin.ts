/**
 * `storage: { kind: io.l5d.etcd, experimental: true, host, port, pathPrefix }` (Linkerd's
 * EtcdConfig: experimental, `localhost:2379`, keys under `/namerd/dtabs`).
 */
import { expected, nonEmptyString, type PluginFactory, pluginCommonShape, port } from "@l5d/config";
import { Path } from "@l5d/dtab";
import { z } from "zod";
import type { DtabStore } from "./dtab-store.js";
import { ETCD_DEFAULT_PATH_PREFIX, EtcdDtabStore } from "./etcd-store.js";

const pathPrefix = z
  .string(expected("expected a path such as /namerd/dtabs"))
  .transform((text, ctx) => {
    try {
      return Path.read(text);
    } catch (e) {
      ctx.issues.push({
        code: "custom",
        message: `invalid path: ${e instanceof Error ? e.message : String(e)}`,
        input: text,
      });
      return z.NEVER;
    }
  });

export const etcdStoreSchema = z.strictObject({
  ...pluginCommonShape,
  kind: z.literal("io.l5d.etcd"),
  host: nonEmptyString().default("localhost"),
  port: port().default(2379),
  pathPrefix: pathPrefix.default(Path.read(ETCD_DEFAULT_PATH_PREFIX)),
});

export type EtcdStoreConfig = z.infer<typeof etcdStoreSchema>;

export const etcdStoreFactory: PluginFactory<EtcdStoreConfig, DtabStore> = {
  kind: "io.l5d.etcd",
  schema: etcdStoreSchema,
  // Upstream requires `experimental: true` for this store.
  experimental: true,
  make: (config, ctx) => {
    const store = new EtcdDtabStore({
      host: config.host,
      port: config.port,
      pathPrefix: config.pathPrefix,
      log: ctx.log,
    });
    ctx.onClose(() => store.close());
    return store;
  },
};
