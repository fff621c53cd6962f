/**
 * The k8s plugins: the `io.l5d.k8s` namer and the `io.l5d.k8s.daemonset` /
 * `io.l5d.k8s.localnode` transformers, each with a strict zod schema carrying Linkerd's defaults.
 */
import type { PluginFactory } from "@l5d/config";
import { type MountedNamer, Path } from "@l5d/dtab";
import { z } from "zod";
import type { K8sConnection } from "./k8s-api.js";
import type { NameTreeTransformer } from "./k8s-transformer-support.js";
import { K8sNamer } from "./namer-k8s.js";
import { daemonSetTransformer } from "./transformer-k8s-daemonset.js";
import { localNodeTransformer } from "./transformer-k8s-localnode.js";

const pathString = z.string().refine((s) => {
  try {
    Path.read(s);
    return s.startsWith("/");
  } catch {
    return false;
  }
}, "expected a path such as /io.l5d.k8s");

const port = z.number().int().min(1).max(65535);

/** Our extensions shared by the namer and the daemonset transformer. */
const apiExtensions = {
  /** Use the pod's service account (token + CA) and KUBERNETES_SERVICE_HOST/PORT instead of host/port (default false). */
  inCluster: z.boolean().default(false),
  /** Where the service account's `token` and `ca.crt` are (default /var/run/secrets/kubernetes.io/serviceaccount). */
  serviceAccountDir: z.string().optional(),
  /** Read discovery.k8s.io/v1 EndpointSlices instead of v1 Endpoints (default false). */
  useEndpointSlices: z.boolean().default(false),
};

export const k8sNamerSchema = z
  .object({
    kind: z.literal("io.l5d.k8s"),
    /** Mounted at `/#` ++ prefix (Linkerd default `/io.l5d.k8s`). */
    prefix: pathString.default("/io.l5d.k8s"),
    /** The kubectl proxy host (Linkerd default `localhost`). */
    host: z.string().min(1).default("localhost"),
    /** The kubectl proxy port (Linkerd default 8001). */
    port: port.default(8001),
    /** A label name; names then carry its value as a 4th segment (Linkerd default none). */
    labelSelector: z.string().min(1).optional(),
    experimental: z.boolean().optional(),
    /** Transformers applied to this namer's own answers (applied by the interpreter/config). */
    transformers: z.array(z.looseObject({ kind: z.string() })).optional(),
    ...apiExtensions,
  })
  .strict();
export type K8sNamerConfig = z.infer<typeof k8sNamerSchema>;

function connection(
  c: { inCluster: boolean; serviceAccountDir?: string | undefined; host: string; port: number },
  env: Readonly<Record<string, string | undefined>>,
): K8sConnection {
  if (!c.inCluster) return { mode: "proxy", host: c.host, port: c.port };
  return c.serviceAccountDir === undefined
    ? { mode: "inCluster", env }
    : { mode: "inCluster", env, serviceAccountDir: c.serviceAccountDir };
}

/** A mounted k8s namer; `namer.state()` feeds `/namer_state/io.l5d.k8s.json`. */
export interface MountedK8sNamer extends MountedNamer {
  readonly namer: K8sNamer;
}

export const k8sNamerFactory: PluginFactory<K8sNamerConfig, MountedK8sNamer> = {
  kind: "io.l5d.k8s",
  schema: k8sNamerSchema,
  make(config, ctx) {
    const prefix = Path.read(config.prefix);
    const namer = new K8sNamer({
      connection: connection(config, ctx.env),
      idPrefix: Path.of("#").concat(prefix),
      labelSelector: config.labelSelector,
      useEndpointSlices: config.useEndpointSlices,
      log: ctx.log,
    });
    ctx.onClose(() => namer.close());
    return { prefix: Path.of("#").concat(prefix), namer, kind: "io.l5d.k8s" };
  },
};

export const daemonSetSchema = z
  .object({
    kind: z.literal("io.l5d.k8s.daemonset"),
    /** Namespace of the daemonset's Service (required). */
    namespace: z.string().min(1),
    /** Port name (or number) on the daemonset's Service (required). */
    port: z.union([z.string().min(1), port]).transform(String),
    /** The daemonset's Service (required). */
    service: z.string().min(1),
    /** Match gateways by node name instead of /24 (Linkerd default false). */
    hostNetwork: z.boolean().default(false),
    /** The kubectl proxy host (Linkerd default `localhost`). */
    k8sHost: z.string().min(1).default("localhost"),
    /** The kubectl proxy port (Linkerd default 8001). */
    k8sPort: port.default(8001),
    /** Overrides the id prefix `/io.l5d.k8s.daemonset/<ns>/<port>/<service>`. */
    prefix: pathString.optional(),
    ...apiExtensions,
  })
  .strict();
export type DaemonSetConfig = z.infer<typeof daemonSetSchema>;

export const daemonSetFactory: PluginFactory<DaemonSetConfig, NameTreeTransformer> = {
  kind: "io.l5d.k8s.daemonset",
  schema: daemonSetSchema,
  make(config, ctx) {
    const namer = new K8sNamer({
      connection: connection({ ...config, host: config.k8sHost, port: config.k8sPort }, ctx.env),
      useEndpointSlices: config.useEndpointSlices,
      log: ctx.log,
    });
    ctx.onClose(() => namer.close());
    return daemonSetTransformer({
      namespace: config.namespace,
      port: config.port,
      service: config.service,
      hostNetwork: config.hostNetwork,
      namer,
      ...(config.prefix === undefined ? {} : { prefix: Path.read(config.prefix) }),
    });
  },
};

export const localNodeSchema = z
  .object({
    kind: z.literal("io.l5d.k8s.localnode"),
    /** Match by NODE_NAME instead of POD_IP's /24 (Linkerd default false). */
    hostNetwork: z.boolean().default(false),
    /** Overrides the id prefix `/io.l5d.k8s.localnode/<POD_IP or NODE_NAME>`. */
    prefix: pathString.optional(),
  })
  .strict();
export type LocalNodeConfig = z.infer<typeof localNodeSchema>;

export const localNodeFactory: PluginFactory<LocalNodeConfig, NameTreeTransformer> = {
  kind: "io.l5d.k8s.localnode",
  schema: localNodeSchema,
  make(config, ctx) {
    return localNodeTransformer({
      hostNetwork: config.hostNetwork,
      env: ctx.env,
      ...(config.prefix === undefined ? {} : { prefix: Path.read(config.prefix) }),
    });
  },
};

/** Namer factories of this module (register them in the namers Registry). */
export const k8sNamerFactories: readonly PluginFactory<unknown, MountedK8sNamer>[] = [
  k8sNamerFactory as PluginFactory<unknown, MountedK8sNamer>,
];

/** Transformer factories of this module (register them in the transformers Registry). */
export const k8sTransformerFactories: readonly PluginFactory<unknown, NameTreeTransformer>[] = [
  daemonSetFactory as PluginFactory<unknown, NameTreeTransformer>,
  localNodeFactory as PluginFactory<unknown, NameTreeTransformer>,
];
