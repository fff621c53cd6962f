/**
 * `io.l5d.ingress` (Linkerd 1's `io.l5d.h2.ingress`, renamed in 1.0): names a request after the
 * Kubernetes Ingress rule its `:authority` and `:path` match, as
 * `dstPrefix/<namespace>/<servicePort>/<serviceName>` (pairs with `/svc => /#/io.l5d.k8s`).
 * Ingresses (`networking.k8s.io/v1`) are listed then watched through the `@l5d/namers` reflector.
 */
import type { BuildContext, PluginFactory } from "@l5d/config";
import { Path } from "@l5d/dtab";
import {
  headerValue,
  type Identification,
  type Identifier,
  type IdentifierMaker,
} from "@l5d/h2-proxy";
import {
  type IngressBackend,
  type IngressSpec,
  K8sApi,
  type K8sConnection,
  makeKubeConfig,
  matchIngresses,
  parseIngress,
  Reflector,
  requestPath,
  stripPort,
} from "@l5d/namers";
import { z } from "zod";

export const ingressIdentifierSchema = z.strictObject({
  kind: z.literal("io.l5d.ingress"),
  /** Watch Ingresses in this namespace only (default: all namespaces). */
  namespace: z.string().min(1).optional(),
  /** Keep Ingresses whose `kubernetes.io/ingress.class` is absent or this (default `linkerd`). */
  ingressClassAnnotation: z.string().min(1).default("linkerd"),
  /** Kubernetes API host, a `kubectl proxy` (default `localhost`). */
  host: z.string().min(1).default("localhost"),
  /** Kubernetes API port (default 8001). */
  port: z.number().int().min(1).max(65535).default(8001),
  /** Never fall back to an Ingress's default backend (default false). */
  ignoreDefaultBackends: z.boolean().default(false),
  /** (ours) Use the pod's service account over HTTPS instead of host/port (default false). */
  inCluster: z.boolean().default(false),
  /** (ours) Where `token` and `ca.crt` are (default the pod's service-account mount). */
  serviceAccountDir: z.string().min(1).optional(),
});

export type IngressIdentifierConfig = z.infer<typeof ingressIdentifierSchema>;

/** Why a request is not identified when no rule nor default backend matches. */
export const NO_MATCH_REASON = "no ingress rule matches";

/** The watched, parsed Ingresses; shared by the identifiers of every router using the config. */
export class IngressWatch {
  readonly #reflector: Reflector;
  readonly #ingressClass: string;
  #specs: readonly IngressSpec[] = [];
  #started = false;

  constructor(
    readonly api: K8sApi,
    opts: {
      readonly namespace: string | undefined;
      readonly ingressClass: string;
      readonly log?: BuildContext["log"] | undefined;
    },
  ) {
    this.#ingressClass = opts.ingressClass;
    const log = opts.log;
    this.#reflector = new Reflector({
      api,
      resource: "ingresses",
      namespace: opts.namespace ?? null,
      log: log && {
        debug: (o, m) => log.debug(o, m),
        info: (o, m) => log.info(o, m),
        warn: (o, m) => log.warn(o, m),
      },
      onChange: () => this.#rebuild(),
    });
  }

  /** Starts listing and watching (idempotent). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#reflector.start();
  }

  close(): void {
    this.#reflector.close();
  }

  /** True once the first list completed. */
  get synced(): boolean {
    return this.#reflector.synced;
  }

  /** The Ingresses of our class, in the reflector's order (list order, then arrivals). */
  get ingresses(): readonly IngressSpec[] {
    return this.#specs;
  }

  /** Why requests are not yet identified (before the first list). */
  notSyncedReason(): string {
    const err = this.#reflector.lastError;
    return `ingresses not yet listed from ${this.api.server}${err ? ` (${err})` : ""}`;
  }

  #rebuild(): void {
    const specs: IngressSpec[] = [];
    for (const obj of this.#reflector.objects.values()) {
      const spec = parseIngress(obj, this.#ingressClass);
      if (spec) specs.push(spec);
    }
    this.#specs = specs;
  }
}

/** Builds identifiers over a (started) watch. */
export function ingressIdentifier(
  watch: IngressWatch,
  opts: { readonly ignoreDefaultBackends: boolean },
): IdentifierMaker {
  return (dstPrefix) => {
    watch.start();
    const names = new WeakMap<IngressBackend, Identification>();
    const identifier: Identifier = {
      identify(headers) {
        if (!watch.synced) return { kind: "unidentified", reason: watch.notSyncedReason() };
        const auth = headerValue(headers, ":authority") ?? headerValue(headers, "host");
        const host = auth !== undefined && auth !== "" ? stripPort(auth) : undefined;
        const path = requestPath(headerValue(headers, ":path") ?? "/");
        const backend = matchIngresses(watch.ingresses, host, path, opts);
        if (!backend) return { kind: "unidentified", reason: NO_MATCH_REASON };
        let id = names.get(backend);
        if (id === undefined) {
          const name = dstPrefix.concat(
            Path.utf8(backend.namespace, backend.port, backend.service),
          );
          id = { kind: "ok", name };
          names.set(backend, id);
        }
        return id;
      },
    };
    return identifier;
  };
}

export function ingressConnection(
  cfg: IngressIdentifierConfig,
  env: Readonly<Record<string, string | undefined>>,
): K8sConnection {
  if (!cfg.inCluster) return { mode: "proxy", host: cfg.host, port: cfg.port };
  return cfg.serviceAccountDir === undefined
    ? { mode: "inCluster", env }
    : { mode: "inCluster", env, serviceAccountDir: cfg.serviceAccountDir };
}

export const ingressIdentifierFactory: PluginFactory<IngressIdentifierConfig, IdentifierMaker> = {
  kind: "io.l5d.ingress",
  schema: ingressIdentifierSchema as unknown as z.ZodType<IngressIdentifierConfig>,
  make(cfg, ctx) {
    const api = new K8sApi(makeKubeConfig(ingressConnection(cfg, ctx.env)));
    const watch = new IngressWatch(api, {
      namespace: cfg.namespace,
      ingressClass: cfg.ingressClassAnnotation,
      log: ctx.log,
    });
    ctx.onClose(() => watch.close());
    return ingressIdentifier(watch, { ignoreDefaultBackends: cfg.ignoreDefaultBackends });
  },
};
