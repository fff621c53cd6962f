/**
 * The `io.l5d.k8s` namer: `/<namespace>/<port>/<service>[/<labelValue>]/<residual…>` bound to
 * the ready addresses of the service's Endpoints (or EndpointSlices), watched per namespace.
 */
import {
  Activity,
  type ActivityState,
  Addr,
  DerivedVar,
  type Name,
  NameBound,
  type Namer,
  NameTree,
  Path,
  VarCell,
} from "@l5d/dtab";
import { K8sApi, type K8sConnection, type K8sObj, makeKubeConfig } from "./k8s-api.js";
import type { BackoffOptions } from "./k8s-backoff.js";
import {
  addressesKey,
  type EndpointSubset,
  resolvePort,
  type ServicePorts,
  servicePorts,
  subsetsFromEndpoints,
  subsetsFromSlices,
} from "./k8s-endpoints.js";
import { Reflector, type ReflectorLogger, type ReflectorStats } from "./k8s-reflector.js";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

export interface K8sNamerOptions {
  /** How to reach the API (Linkerd: a kubectl proxy at localhost:8001). */
  readonly connection: K8sConnection;
  /** The bound-id prefix, `/#` ++ the configured prefix (default `/#/io.l5d.k8s`). */
  readonly idPrefix?: Path;
  /** Label name; names then carry a 4th segment, its value (Linkerd: none). */
  readonly labelSelector?: string | undefined;
  /** Read discovery.k8s.io/v1 EndpointSlices instead of v1 Endpoints (our extension; default false). */
  readonly useEndpointSlices?: boolean | undefined;
  /** Reconnect backoff (default 10 ms doubling to 10 s, jittered). */
  readonly backoff?: BackoffOptions | undefined;
  /** How long a namespace watch lingers after its last observer leaves (default 60 s). */
  readonly idleTtlMs?: number | undefined;
  readonly log?: ReflectorLogger | undefined;
}

/** A JSON-able snapshot for `/namer_state/io.l5d.k8s.json`. */
export interface K8sNamerState {
  readonly server: string;
  readonly labelSelector: string | null;
  readonly useEndpointSlices: boolean;
  readonly namespaces: readonly {
    readonly namespace: string;
    readonly labelSelector: string | null;
    readonly observers: number;
    readonly watches: Readonly<
      Record<
        string,
        {
          phase: string;
          synced: boolean;
          resourceVersion: string | null;
          lastError: string | null;
          stats: ReflectorStats;
        }
      >
    >;
    readonly services: Readonly<Record<string, { ports: ServicePorts["ports"] }>>;
    readonly endpoints: Readonly<Record<string, readonly EndpointSubset[]>>;
  }[];
}

const NEG_STATE: ActivityState<NameTree<Name>> = Activity.ok(NameTree.neg);

/** One bound id's address cell and its (per-residual) cached leaf states. */
interface BoundEntry {
  readonly addr: VarCell<Addr>;
  addrsKey: string | undefined;
  readonly leaves: Map<string, ActivityState<NameTree<Name>>>;
}

/** The watches of one namespace (with one label selector value). */
class NsWatch {
  readonly reflectors: Reflector[];
  readonly version = new VarCell<ActivityState<number>>(Activity.pending);
  readonly entries = new Map<string, BoundEntry>();
  observers = 0;
  idleTimer: NodeJS.Timeout | undefined;
  #version = 0;
  #services = new Map<string, ServicePorts>();
  #subsets = new Map<string, EndpointSubset[]>();

  constructor(
    api: K8sApi,
    readonly namespace: string,
    readonly labelSelector: string | undefined,
    readonly slices: boolean,
    opts: K8sNamerOptions,
  ) {
    const mk = (resource: "endpoints" | "services" | "endpointslices") =>
      new Reflector({
        api,
        resource,
        namespace,
        labelSelector,
        backoff: opts.backoff,
        log: opts.log,
        onChange: () => this.#changed(),
      });
    this.reflectors = [mk(slices ? "endpointslices" : "endpoints"), mk("services")];
  }

  start(): void {
    for (const r of this.reflectors) r.start();
  }

  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const r of this.reflectors) r.close();
  }

  service(name: string): ServicePorts | undefined {
    return this.#services.get(name);
  }

  subsets(name: string): EndpointSubset[] | undefined {
    return this.#subsets.get(name);
  }

  get services(): ReadonlyMap<string, ServicePorts> {
    return this.#services;
  }

  get allSubsets(): ReadonlyMap<string, EndpointSubset[]> {
    return this.#subsets;
  }

  #changed(): void {
    const [eps, svcs] = this.reflectors as [Reflector, Reflector];
    if (!eps.synced || !svcs.synced) return;
    this.#services = new Map([...svcs.objects].map(([n, o]) => [n, servicePorts(o)]));
    if (this.slices) {
      const byService = new Map<string, K8sObj[]>();
      for (const slice of eps.objects.values()) {
        const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
        if (!svc) continue;
        const list = byService.get(svc) ?? [];
        list.push(slice);
        byService.set(svc, list);
      }
      this.#subsets = new Map([...byService].map(([n, l]) => [n, subsetsFromSlices(l)]));
    } else {
      this.#subsets = new Map([...eps.objects].map(([n, o]) => [n, subsetsFromEndpoints(o)]));
    }
    this.version.update(Activity.ok(++this.#version));
  }
}

export class K8sNamer implements Namer {
  readonly #api: K8sApi;
  readonly #idPrefix: Path;
  readonly #watches = new Map<string, NsWatch>();
  readonly #segments: number;
  #closed = false;

  constructor(private readonly opts: K8sNamerOptions) {
    this.#api = new K8sApi(makeKubeConfig(opts.connection));
    this.#idPrefix = opts.idPrefix ?? Path.read("/#/io.l5d.k8s");
    this.#segments = opts.labelSelector === undefined ? 3 : 4;
  }

  lookup(path: Path): Activity<NameTree<Name>> {
    if (path.size < this.#segments) return Activity.value(NameTree.neg);
    const segs = path.take(this.#segments).utf8Elems.map((s) => s.toLowerCase());
    const [ns = "", port = "", svc = "", labelValue] = segs;
    const id = this.#idPrefix.concat(Path.utf8(...segs));
    const residual = path.drop(this.#segments);
    const selector =
      labelValue === undefined ? undefined : `${this.opts.labelSelector}=${labelValue}`;
    return new DerivedVar<ActivityState<NameTree<Name>>>((emit) => {
      const w = this.#acquire(ns, selector);
      const sub = w.version.observe((st) => {
        if (st.kind !== "ok") return emit(st);
        const r = resolvePort(port, w.service(svc), w.subsets(svc));
        let entry = w.entries.get(id.show);
        if (r.type === "neg") {
          entry?.addr.update(Addr.neg);
          if (entry) entry.addrsKey = undefined;
          return emit(NEG_STATE);
        }
        if (!entry) {
          entry = { addr: new VarCell<Addr>(Addr.pending), addrsKey: undefined, leaves: new Map() };
          w.entries.set(id.show, entry);
        }
        const key = addressesKey(r.addrs);
        if (entry.addrsKey !== key) {
          entry.addrsKey = key;
          entry.addr.update(Addr.bound(r.addrs));
        }
        let leaf = entry.leaves.get(residual.show);
        if (!leaf) {
          leaf = Activity.ok<NameTree<Name>>(
            NameTree.leaf(new NameBound(id, entry.addr, residual)),
          );
          entry.leaves.set(residual.show, leaf);
        }
        emit(leaf);
      });
      return {
        close: () => {
          sub.close();
          this.#release(w);
        },
      };
    });
  }

  /** A JSON-able snapshot of watched namespaces, services and endpoints. */
  state(): K8sNamerState {
    return {
      server: this.#api.server,
      labelSelector: this.opts.labelSelector ?? null,
      useEndpointSlices: this.opts.useEndpointSlices ?? false,
      namespaces: [...this.#watches.values()].map((w) => ({
        namespace: w.namespace,
        labelSelector: w.labelSelector ?? null,
        observers: w.observers,
        watches: Object.fromEntries(
          w.reflectors.map((r, i) => [
            i === 0 ? (w.slices ? "endpointslices" : "endpoints") : "services",
            {
              phase: r.phase,
              synced: r.synced,
              resourceVersion: r.resourceVersion ?? null,
              lastError: r.lastError ?? null,
              stats: { ...r.stats },
            },
          ]),
        ),
        services: Object.fromEntries([...w.services].map(([n, s]) => [n, { ports: s.ports }])),
        endpoints: Object.fromEntries(w.allSubsets),
      })),
    };
  }

  /** Stops every watch. Lookups after close stay pending. */
  close(): void {
    this.#closed = true;
    for (const w of this.#watches.values()) w.close();
    this.#watches.clear();
  }

  #acquire(namespace: string, selector: string | undefined): NsWatch {
    const key = `${namespace}\u0000${selector ?? ""}`;
    let w = this.#watches.get(key);
    if (!w) {
      w = new NsWatch(
        this.#api,
        namespace,
        selector,
        this.opts.useEndpointSlices ?? false,
        this.opts,
      );
      this.#watches.set(key, w);
      if (!this.#closed) w.start();
    }
    if (w.idleTimer) {
      clearTimeout(w.idleTimer);
      w.idleTimer = undefined;
    }
    w.observers++;
    return w;
  }

  #release(w: NsWatch): void {
    w.observers--;
    if (w.observers > 0 || this.#closed) return;
    w.idleTimer = setTimeout(() => {
      if (w.observers > 0) return;
      const key = `${w.namespace}\u0000${w.labelSelector ?? ""}`;
      if (this.#watches.get(key) === w) this.#watches.delete(key);
      w.close();
    }, this.opts.idleTtlMs ?? 60_000);
    w.idleTimer.unref();
  }
}
