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
  /**
   * A CustomResourceDefinition's kind (namerd's `DTab`): served as the API server serves custom
   * resources, writable over HTTP (create, replace, delete; built-in kinds stay read-only, tests
   * write them through the programmatic API) and with `apiVersion`/`kind` kept on list items.
   */
  readonly custom?: boolean;
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
  // Linkerd 1's namerd `io.l5d.k8s` dtab storage: the `dtabs.l5d.io` CRD
  // (deploy/k8s-namerd/dtab-crd.yaml), one object per namerd namespace.
  {
    kind: "DTab",
    plural: "dtabs",
    apiVersion: "l5d.io/v1alpha1",
    group: "l5d.io",
    namespaced: true,
    custom: true,
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

/**
 * The kind served at `/<api>/<group version>/.../<plural>`; with `version`, only if the kind is
 * served at that version (`v1`, `v1alpha1`).
 */
export function kindByPlural(
  group: string,
  plural: string,
  version?: string,
): KindInfo | undefined {
  return KINDS.find(
    (k) =>
      k.group === group &&
      k.plural === plural &&
      (version === undefined || k.apiVersion === (group === "" ? version : `${group}/${version}`)),
  );
}

/** How the API server names a resource in messages: `services`, `dtabs.l5d.io`. */
export function qualifiedResource(info: KindInfo): string {
  return info.group === "" ? info.plural : `${info.plural}.${info.group}`;
}
