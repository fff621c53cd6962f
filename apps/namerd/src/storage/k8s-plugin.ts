/**
 * `storage: { kind: io.l5d.k8s, host, port, namespace }` (Linkerd's K8sConfig: a `kubectl proxy`
 * at `localhost:8001`, dtabs in the Kubernetes namespace `default`; not experimental, so
 * `experimental:` is accepted but not required). Like our k8s namer, `inCluster: true` talks to
 * the API server directly with the pod's service account instead of through a proxy.
 */
import { bool, nonEmptyString, type PluginFactory, pluginCommonShape, port } from "@l5d/config";
import type { K8sConnection } from "@l5d/namers";
import { z } from "zod";
import type { DtabStore } from "./dtab-store.js";
import { K8sDtabStore } from "./k8s-store.js";

export const k8sStoreSchema = z.strictObject({
  ...pluginCommonShape,
  kind: z.literal("io.l5d.k8s"),
  /** The kubectl proxy's host (Linkerd default `localhost`). */
  host: nonEmptyString().default("localhost"),
  /** The kubectl proxy's port (Linkerd default 8001). */
  port: port().default(8001),
  /** The Kubernetes namespace holding the DTab objects (Linkerd default `default`). */
  namespace: nonEmptyString()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
      error: "expected a Kubernetes namespace name (lowercase letters, digits and '-')",
    })
    .max(63, { error: "Kubernetes namespace names are at most 63 characters" })
    .default("default"),
  /** Ours: the pod's service account and KUBERNETES_SERVICE_HOST/PORT instead of host/port. */
  inCluster: bool().default(false),
  /** Ours: where the service account's `token` and `ca.crt` are (default the pod's mount). */
  serviceAccountDir: nonEmptyString().optional(),
});

export type K8sStoreConfig = z.infer<typeof k8sStoreSchema>;

function connection(
  c: K8sStoreConfig,
  env: Readonly<Record<string, string | undefined>>,
): K8sConnection {
  if (!c.inCluster) return { mode: "proxy", host: c.host, port: c.port };
  return c.serviceAccountDir === undefined
    ? { mode: "inCluster", env }
    : { mode: "inCluster", env, serviceAccountDir: c.serviceAccountDir };
}

export const k8sStoreFactory: PluginFactory<K8sStoreConfig, DtabStore> = {
  kind: "io.l5d.k8s",
  schema: k8sStoreSchema,
  make: (config, ctx) => {
    const store = new K8sDtabStore({
      connection: connection(config, ctx.env),
      namespace: config.namespace,
      log: ctx.log,
    });
    ctx.onClose(() => store.close());
    return store;
  },
};
