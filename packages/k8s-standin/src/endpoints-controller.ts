/**
 * What the Kubernetes endpoints and EndpointSlice controllers do, for the stand-in: derive an
 * Endpoints object and EndpointSlices for every Service with a selector from the Pods it
 * selects (selector matching, readiness, named target ports, nodeName).
 */
import type { ObjectStore } from "./store.js";
import type { K8sObject } from "./types.js";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
const MANAGED_BY = "endpointslice-controller.k8s.io";

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}
interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}
interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
}

const rec = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A pod is ready when it has an IP, is not terminating, and its Ready condition is True (or, without conditions, it is Running). */
export function isPodReady(pod: K8sObject): boolean {
  const st = rec(pod.status);
  if (typeof st.podIP !== "string" || pod.metadata.deletionTimestamp) return false;
  const conds = arr(st.conditions).map(rec);
  const ready = conds.find((c) => c.type === "Ready");
  if (ready) return ready.status === "True";
  return st.phase === undefined || st.phase === "Running";
}

function selects(selector: Record<string, string>, pod: K8sObject): boolean {
  const labels = pod.metadata.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function containerPorts(pod: K8sObject): ContainerPort[] {
  return arr(rec(pod.spec).containers).flatMap((c) => arr(rec(c).ports) as ContainerPort[]);
}

/** Resolves the Service's ports on one pod; a named targetPort the pod lacks drops that port. */
function portsFor(svcPorts: ServicePort[], pod: K8sObject): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svcPorts) {
    const protocol = sp.protocol ?? "TCP";
    const target = sp.targetPort ?? sp.port;
    let port: number | undefined;
    if (typeof target === "number") port = target;
    else if (/^\d+$/.test(target)) port = Number(target);
    else port = containerPorts(pod).find((cp) => cp.name === target)?.containerPort;
    if (port === undefined) continue;
    out.push(sp.name === undefined ? { port, protocol } : { name: sp.name, port, protocol });
  }
  return out;
}

interface Group {
  ports: EndpointPort[];
  pods: { pod: K8sObject; ready: boolean }[];
}

function groupPods(svc: K8sObject, pods: K8sObject[]): Group[] {
  const spec = rec(svc.spec);
  const selector = rec(spec.selector) as Record<string, string>;
  const svcPorts = arr(spec.ports) as ServicePort[];
  const groups = new Map<string, Group>();
  for (const pod of pods) {
    if (!selects(selector, pod)) continue;
    if (typeof rec(pod.status).podIP !== "string") continue;
    const ports = portsFor(svcPorts, pod);
    const k = JSON.stringify(ports);
    let g = groups.get(k);
    if (!g) {
      g = { ports, pods: [] };
      groups.set(k, g);
    }
    g.pods.push({ pod, ready: isPodReady(pod) });
  }
  return [...groups.values()];
}

function targetRef(pod: K8sObject) {
  return {
    kind: "Pod",
    name: pod.metadata.name,
    namespace: pod.metadata.namespace,
    uid: pod.metadata.uid,
  };
}

function epAddress(pod: K8sObject): Record<string, unknown> {
  const a: Record<string, unknown> = { ip: rec(pod.status).podIP, targetRef: targetRef(pod) };
  const nodeName = rec(pod.spec).nodeName;
  if (typeof nodeName === "string") a.nodeName = nodeName;
  return a;
}

/** The Endpoints object the endpoints controller would write for `svc`. */
export function deriveEndpoints(svc: K8sObject, pods: K8sObject[]): K8sObject {
  const subsets = groupPods(svc, pods)
    .filter((g) => g.ports.length > 0)
    .map((g) => {
      const s: Record<string, unknown> = {};
      const ready = g.pods.filter((p) => p.ready).map((p) => epAddress(p.pod));
      const notReady = g.pods.filter((p) => !p.ready).map((p) => epAddress(p.pod));
      if (ready.length > 0) s.addresses = ready;
      if (notReady.length > 0) s.notReadyAddresses = notReady;
      s.ports = g.ports;
      return s;
    });
  const ep: K8sObject = {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: svc.metadata.name, namespace: svc.metadata.namespace ?? "default" },
  };
  if (svc.metadata.labels) ep.metadata.labels = { ...svc.metadata.labels };
  if (subsets.length > 0) ep.subsets = subsets;
  return ep;
}

/** The EndpointSlices the EndpointSlice controller would write for `svc` (one per port mapping). */
export function deriveEndpointSlices(svc: K8sObject, pods: K8sObject[]): K8sObject[] {
  const name = svc.metadata.name;
  const namespace = svc.metadata.namespace ?? "default";
  const groups = groupPods(svc, pods);
  const labels = {
    ...(svc.metadata.labels ?? {}),
    [SERVICE_NAME_LABEL]: name,
    [MANAGED_BY_LABEL]: MANAGED_BY,
  };
  if (groups.length === 0) groups.push({ ports: [], pods: [] });
  return groups.map((g, i) => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: `${name}-standin${i}`, namespace, labels },
    addressType: "IPv4",
    endpoints: g.pods.map(({ pod, ready }) => {
      const e: Record<string, unknown> = {
        addresses: [rec(pod.status).podIP],
        conditions: { ready, serving: ready, terminating: Boolean(pod.metadata.deletionTimestamp) },
        targetRef: targetRef(pod),
      };
      const nodeName = rec(pod.spec).nodeName;
      if (typeof nodeName === "string") e.nodeName = nodeName;
      return e;
    }),
    ports: g.ports.length > 0 ? g.ports : null,
  }));
}

const sameContent = (a: K8sObject | undefined, b: K8sObject): boolean => {
  if (!a) return false;
  const strip = (o: K8sObject) => {
    const { metadata, ...rest } = o;
    return JSON.stringify({ ...rest, labels: metadata.labels ?? {} });
  };
  return strip(a) === strip(b);
};

/**
 * Brings the namespace's Endpoints and EndpointSlices in line with its Services and Pods.
 * Only Services with a non-empty selector are managed (as in Kubernetes); writes happen only
 * for real changes, so resourceVersions move only when something changed.
 */
export function reconcileNamespace(store: ObjectStore, namespace: string): void {
  const pods = store.list("Pod", namespace);
  const services = store.list("Service", namespace);
  const wantedSlices = new Set<string>();
  for (const svc of services) {
    const selector = rec(rec(svc.spec).selector);
    if (Object.keys(selector).length === 0) continue;
    const ep = deriveEndpoints(svc, pods);
    if (!sameContent(store.get("Endpoints", namespace, svc.metadata.name), ep)) store.apply(ep);
    for (const slice of deriveEndpointSlices(svc, pods)) {
      wantedSlices.add(slice.metadata.name);
      if (!sameContent(store.get("EndpointSlice", namespace, slice.metadata.name), slice))
        store.apply(slice);
    }
  }
  for (const slice of store.list("EndpointSlice", namespace)) {
    const managed = slice.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
    if (managed && !wantedSlices.has(slice.metadata.name)) {
      store.delete("EndpointSlice", namespace, slice.metadata.name);
    }
  }
}

/** What deleting a Service does to its derived objects: its Endpoints and slices go too. */
export function deleteServiceEndpoints(store: ObjectStore, namespace: string, name: string): void {
  store.delete("Endpoints", namespace, name);
  for (const slice of store.list("EndpointSlice", namespace)) {
    if (slice.metadata.labels?.[SERVICE_NAME_LABEL] === name) {
      store.delete("EndpointSlice", namespace, slice.metadata.name);
    }
  }
}
