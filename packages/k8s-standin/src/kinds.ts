/** The resource kinds the stand-in serves, with their REST names. */

export interface KindInfo {
  /** `Service`, `Endpoints`, `Pod`, `Namespace`, `EndpointSlice`, `Ingress`. */
  readonly kind: string;
  /** The REST collection name (`services`). */
  readonly plural: string;
  /** `v1` or `discovery.k8s.io/v1`. */
  readonly apiVersion: string;
  /** `""` for the core group. */
  readonly group: string;
  readonly namespaced: boolean;
}

export const KINDS: readonly KindInfo[] = [
  { kind: "Service", plural: "services", apiVersion: "v1", group: "", namespaced: true },
  { kind: "Endpoints", plural: "endpoints", apiVersion: "v1", group: "", namespaced: true },
  { kind: "Pod", plural: "pods", apiVersion: "v1", group: "", namespaced: true },
  { kind: "Namespace", plural: "namespaces", apiVersion: "v1", group: "", namespaced: false },
  {
    kind: "EndpointSlice",
    plural: "endpointslices",
    apiVersion: "discovery.k8s.io/v1",
    group: "discovery.k8s.io",
    namespaced: true,
  },
  {
    kind: "Ingress",
    plural: "ingresses",
    apiVersion: "networking.k8s.io/v1",
    group: "networking.k8s.io",
    namespaced: true,
  },
];

/** Finds a kind by its kind name or plural, case-insensitively (`Service`, `services`, `svc`). */
export function kindInfo(name: string): KindInfo | undefined {
  const n = name.toLowerCase();
  const alias: Record<string, string> = {
    svc: "services",
    ep: "endpoints",
    ns: "namespaces",
    po: "pods",
    ing: "ingresses",
  };
  const wanted = alias[n] ?? n;
  return KINDS.find((k) => k.kind.toLowerCase() === wanted || k.plural === wanted);
}

/** The kind served at `/<api>/<group version>/.../<plural>`. */
export function kindByPlural(group: string, plural: string): KindInfo | undefined {
  return KINDS.find((k) => k.group === group && k.plural === plural);
}
