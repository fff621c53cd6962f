/** `startStandin`: the API-server stand-in as a running server with a programmatic API. */
import { createServer as createHttp, type Server } from "node:http";
import { createServer as createHttps } from "node:https";
import type { AddressInfo } from "node:net";
import { deleteServiceEndpoints, reconcileNamespace } from "./endpoints-controller.js";
import { kindInfo } from "./kinds.js";
import { type RequestRecord, StandinHandler } from "./server.js";
import { ObjectStore } from "./store.js";
import type { K8sObject } from "./types.js";

export interface StandinOptions {
  /** Listen address (default `127.0.0.1`). */
  readonly host?: string;
  /** Listen port (default 0: any free port). */
  readonly port?: number;
  /** Require `Authorization: Bearer <token>` on every request (in-cluster auth tests). */
  readonly token?: string;
  /** Serve HTTPS with this key and certificate (PEM) instead of plain HTTP. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** Changes kept for watch resumption before older versions answer 410 (default 1000). */
  readonly historyLimit?: number;
  /**
   * The first resourceVersion (default 1000). A stand-in restarted "after" another one should
   * start above the old one's version, as a real API server never goes back.
   */
  readonly initialResourceVersion?: number;
  /** Interval of BOOKMARK events on watches that allow them (default 1000 ms). */
  readonly bookmarkIntervalMs?: number;
  /** Derive Endpoints and EndpointSlices from Services and Pods (default true). */
  readonly endpointsController?: boolean;
  /** Objects to create at start. */
  readonly objects?: readonly K8sObject[];
}

export interface Standin {
  /** `http://127.0.0.1:<port>` (or https). */
  readonly url: string;
  readonly port: number;
  /** Creates or replaces an object (namespace defaults to `default`; missing namespaces are created). */
  apply(obj: K8sObject): K8sObject;
  /** Deletes an object; deleting a Namespace deletes everything in it. Returns whether it existed. */
  delete(kind: string, namespace: string | undefined, name: string): boolean;
  get(kind: string, namespace: string | undefined, name: string): K8sObject | undefined;
  list(kind: string, namespace?: string): K8sObject[];
  /** Cuts every open watch connection (simulated connection loss). */
  dropWatches(): void;
  /** Forgets the change history and ends open watches with 410 Gone, forcing clients to relist. */
  compactHistory(): void;
  /** The current global resourceVersion. */
  readonly resourceVersion: number;
  /** Number of open watch streams. */
  readonly openWatches: number;
  /** Every request answered so far. */
  readonly requests: readonly RequestRecord[];
  close(): Promise<void>;
}

export async function startStandin(opts: StandinOptions = {}): Promise<Standin> {
  const store = new ObjectStore({
    ...(opts.historyLimit === undefined ? {} : { historyLimit: opts.historyLimit }),
    ...(opts.initialResourceVersion === undefined
      ? {}
      : { initialResourceVersion: opts.initialResourceVersion }),
  });
  const handler = new StandinHandler(store, {
    token: opts.token,
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
  });
  const controller = opts.endpointsController ?? true;
  const server: Server = opts.tls
    ? createHttps({ key: opts.tls.key, cert: opts.tls.cert }, (q, s) => handler.handle(q, s))
    : createHttp((q, s) => handler.handle(q, s));

  const ensureNamespace = (ns: string) => {
    if (!store.get("Namespace", undefined, ns)) {
      store.apply({ kind: "Namespace", metadata: { name: ns }, status: { phase: "Active" } });
    }
  };

  const apply = (obj: K8sObject): K8sObject => {
    const info = kindInfo(obj.kind ?? "");
    const ns = info?.namespaced ? (obj.metadata?.namespace ?? "default") : undefined;
    if (ns !== undefined) ensureNamespace(ns);
    const stored = store.apply(obj);
    if (controller && ns !== undefined && (info?.kind === "Service" || info?.kind === "Pod")) {
      reconcileNamespace(store, ns);
    }
    return stored;
  };

  const del = (kind: string, namespace: string | undefined, name: string): boolean => {
    const info = kindInfo(kind);
    if (info?.kind === "Namespace") {
      if (!store.get("Namespace", undefined, name)) return false;
      for (const k of ["Pod", "Service", "EndpointSlice", "Endpoints", "Ingress", "DTab"]) {
        for (const o of store.list(k, name)) store.delete(k, name, o.metadata.name);
      }
      store.delete("Namespace", undefined, name);
      return true;
    }
    const ns = namespace ?? "default";
    const existed = store.delete(kind, ns, name) !== undefined;
    if (controller && info?.kind === "Service") deleteServiceEndpoints(store, ns, name);
    if (controller && info?.kind === "Pod") reconcileNamespace(store, ns);
    return existed;
  };

  ensureNamespace("default");
  for (const o of opts.objects ?? []) apply(o);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? "127.0.0.1";
  const hostPart = host.includes(":") ? `[${host}]` : host;

  return {
    url: `${opts.tls ? "https" : "http"}://${hostPart}:${port}`,
    port,
    apply,
    delete: del,
    get: (kind, ns, name) => store.get(kind, ns, name),
    list: (kind, ns) => store.list(kind, ns),
    dropWatches: () => handler.dropWatches(),
    compactHistory: () => {
      store.compact();
      handler.expireWatches();
    },
    get resourceVersion() {
      return store.resourceVersion;
    },
    get openWatches() {
      return handler.openWatches;
    },
    get requests() {
      return handler.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        handler.dropWatches();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
