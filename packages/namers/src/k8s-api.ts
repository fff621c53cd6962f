/**
 * Access to the Kubernetes API through `@kubernetes/client-node`: a `KubeConfig` for either a
 * `kubectl proxy` (plain HTTP host:port, Linkerd 1's way) or in-cluster service-account auth
 * (HTTPS with the mounted CA and token), typed lists through CoreV1Api / DiscoveryV1Api, and
 * watches through `Watch`.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import type * as K8sClient from "@kubernetes/client-node";
import type {
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  NetworkingV1Api,
  Watch,
} from "@kubernetes/client-node";
import { K8sApiError, K8sConfigError } from "./k8s-errors.js";

let k8sClient: typeof K8sClient | undefined;
/**
 * `@kubernetes/client-node`, loaded on first use (Node ≥ 20.19 `require()`s ES modules): it costs
 * ~70 MB of RSS and ~0.5 s of startup, which only configs with a k8s namer should pay (issue #9).
 */
function client(): typeof K8sClient {
  k8sClient ??= createRequire(import.meta.url)("@kubernetes/client-node") as typeof K8sClient;
  return k8sClient;
}

/** Where the service account's files are mounted in a pod. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** `ingresses` are `networking.k8s.io/v1` Ingresses (the `io.l5d.ingress` identifier). */
export type K8sResource = "endpoints" | "services" | "endpointslices" | "ingresses";

/** A namespace, or `null` for every namespace (cluster-wide list and watch). */
export type K8sNamespace = string | null;

function collectionPath(resource: K8sResource, namespace: K8sNamespace): string {
  const ns = namespace === null ? "" : `/namespaces/${encodeURIComponent(namespace)}`;
  switch (resource) {
    case "endpointslices":
      return `/apis/discovery.k8s.io/v1${ns}/endpointslices`;
    case "ingresses":
      return `/apis/networking.k8s.io/v1${ns}/ingresses`;
    default:
      return `/api/v1${ns}/${resource}`;
  }
}

const where = (namespace: K8sNamespace) => (namespace === null ? "all namespaces" : namespace);

/** How to reach the API. */
export type K8sConnection =
  | {
      readonly mode: "proxy";
      /** Linkerd default `localhost`. */
      readonly host: string;
      /** Linkerd default 8001. */
      readonly port: number;
    }
  | {
      readonly mode: "inCluster";
      /** Directory with `token` and `ca.crt` (default the pod's service-account mount). */
      readonly serviceAccountDir?: string;
      /** Environment holding KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT. */
      readonly env: Readonly<Record<string, string | undefined>>;
    }
  | { readonly mode: "kubeConfig"; readonly kubeConfig: KubeConfig };

/** A loosely typed Kubernetes object (fields read defensively). */
export interface K8sObj {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly [key: string]: unknown;
}

export function makeKubeConfig(conn: K8sConnection): KubeConfig {
  if (conn.mode === "kubeConfig") return conn.kubeConfig;
  const kc = new (client().KubeConfig)();
  if (conn.mode === "proxy") {
    const host =
      conn.host.includes(":") && !conn.host.startsWith("[") ? `[${conn.host}]` : conn.host;
    kc.loadFromOptions({
      // client-node refuses plain http unless skipTLSVerify is set (there is no TLS to verify).
      clusters: [{ name: "proxy", server: `http://${host}:${conn.port}`, skipTLSVerify: true }],
      users: [{ name: "proxy" }],
      contexts: [{ name: "proxy", cluster: "proxy", user: "proxy" }],
      currentContext: "proxy",
    });
    return kc;
  }
  const host = conn.env.KUBERNETES_SERVICE_HOST;
  const port = conn.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new K8sConfigError(
      "inCluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (is this running in a pod?)",
    );
  }
  const dir = conn.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  kc.loadFromOptions({
    clusters: [{ name: "in-cluster", server, caFile: join(dir, "ca.crt"), skipTLSVerify: false }],
    // The tokenFile auth provider re-reads the (rotated) token every minute.
    users: [
      {
        name: "service-account",
        authProvider: { name: "tokenFile", config: { tokenFile: join(dir, "token") } },
      },
    ],
    contexts: [{ name: "in-cluster", cluster: "in-cluster", user: "service-account" }],
    currentContext: "in-cluster",
  });
  return kc;
}

export interface ListResult {
  readonly items: readonly K8sObj[];
  readonly resourceVersion: string;
}

export interface WatchHandle {
  close(): void;
}

/** The slice of the Kubernetes API the namer uses. */
export class K8sApi {
  readonly #core: CoreV1Api;
  readonly #discovery: DiscoveryV1Api;
  readonly #networking: NetworkingV1Api;
  readonly #watch: Watch;
  /** The API server URL, for logs and the namer state. */
  readonly server: string;

  constructor(readonly kubeConfig: KubeConfig) {
    const k8s = client();
    this.#core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.#discovery = kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
    this.#networking = kubeConfig.makeApiClient(k8s.NetworkingV1Api);
    this.#watch = new k8s.Watch(kubeConfig);
    this.server = kubeConfig.getCurrentCluster()?.server ?? "";
  }

  async list(
    resource: K8sResource,
    namespace: K8sNamespace,
    labelSelector?: string,
  ): Promise<ListResult> {
    const sel = labelSelector === undefined ? {} : { labelSelector };
    try {
      const list = await this.#listRaw(resource, namespace, sel);
      return {
        items: (list.items ?? []) as unknown as K8sObj[],
        resourceVersion: list.metadata?.resourceVersion ?? "",
      };
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      throw new K8sApiError(
        `list ${resource} in ${where(namespace)}: ${e instanceof Error ? e.message : String(e)}`,
        typeof code === "number" ? code : undefined,
      );
    }
  }

  #listRaw(
    resource: K8sResource,
    namespace: K8sNamespace,
    sel: { labelSelector?: string },
  ): Promise<{ items?: unknown[]; metadata?: { resourceVersion?: string } }> {
    if (namespace === null) {
      switch (resource) {
        case "endpoints":
          return this.#core.listEndpointsForAllNamespaces(sel);
        case "services":
          return this.#core.listServiceForAllNamespaces(sel);
        case "endpointslices":
          return this.#discovery.listEndpointSliceForAllNamespaces(sel);
        case "ingresses":
          return this.#networking.listIngressForAllNamespaces(sel);
      }
    }
    const req = { namespace, ...sel };
    switch (resource) {
      case "endpoints":
        return this.#core.listNamespacedEndpoints(req);
      case "services":
        return this.#core.listNamespacedService(req);
      case "endpointslices":
        return this.#discovery.listNamespacedEndpointSlice(req);
      case "ingresses":
        return this.#networking.listNamespacedIngress(req);
    }
  }

  /**
   * Watches from `resourceVersion` (bookmarks allowed). `onEvent` gets each event; `onDone`
   * is called once when the stream ends (error or null), never after `close()`.
   */
  watch(
    resource: K8sResource,
    namespace: K8sNamespace,
    opts: { readonly resourceVersion: string; readonly labelSelector?: string | undefined },
    onEvent: (type: string, object: K8sObj) => void,
    onDone: (err: K8sApiError | null) => void,
  ): WatchHandle {
    const path = collectionPath(resource, namespace);
    const query: Record<string, string> = {
      resourceVersion: opts.resourceVersion,
      allowWatchBookmarks: "true",
    };
    if (opts.labelSelector !== undefined) query.labelSelector = opts.labelSelector;
    let closed = false;
    let controller: AbortController | undefined;
    const done = (err: unknown) => {
      if (closed) return;
      closed = true;
      if (err === null || err === undefined) return onDone(null);
      const code = (err as { statusCode?: unknown }).statusCode;
      onDone(
        new K8sApiError(
          `watch ${resource} in ${where(namespace)}: ${err instanceof Error ? err.message : String(err)}`,
          typeof code === "number" ? code : undefined,
        ),
      );
    };
    this.#watch
      .watch(
        path,
        query,
        (type: string, obj: unknown) => {
          if (!closed) onEvent(type, obj as K8sObj);
        },
        done,
      )
      .then((c) => {
        controller = c;
        if (closed) c.abort();
      }, done);
    return {
      close: () => {
        closed = true;
        controller?.abort();
      },
    };
  }
}
