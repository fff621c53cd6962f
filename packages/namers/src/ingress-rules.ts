/**
 * Kubernetes Ingress objects as routing rules for the `io.l5d.ingress` identifier of h2 and http
 * routers alike (Linkerd's `IngressCache`): parsing (`networking.k8s.io/v1` and the `extensions/v1beta1` shape Linkerd 1
 * read), ingress-class filtering, and matching a request's host and path.
 */

/** The annotation naming an Ingress's controller class. */
export const INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class";

/** A Service backend: the name is `dstPrefix/<namespace>/<port>/<service>`. */
export interface IngressBackend {
  readonly namespace: string;
  readonly service: string;
  /** A port number (as text) or a port name. */
  readonly port: string;
}

/** How a rule path is compared with the request path. */
export type PathMatch =
  /** Any path (no or empty rule path, or `Prefix /`). */
  | { readonly kind: "any" }
  /** Linkerd's rule: a regex that must match the whole path (`ImplementationSpecific`, v1beta1). */
  | { readonly kind: "regex"; readonly re: RegExp }
  /** v1 `Exact`. */
  | { readonly kind: "exact"; readonly path: string }
  /** v1 `Prefix`, element-wise: `/foo` matches `/foo`, `/foo/`, `/foo/bar`, not `/foobar`. */
  | { readonly kind: "prefix"; readonly path: string }
  /** A rule whose path could not be compiled (an invalid regex): never matches. */
  | { readonly kind: "none"; readonly error: string };

export interface IngressRule {
  /** `undefined` matches any host; `*.foo.com` matches exactly one extra label (v1 wildcard). */
  readonly host: string | undefined;
  readonly path: PathMatch;
  /** The rule path as written (for logs and state). */
  readonly pathText: string | undefined;
  readonly backend: IngressBackend;
}

export interface IngressSpec {
  readonly namespace: string;
  readonly name: string;
  readonly rules: readonly IngressRule[];
  /** v1 `spec.defaultBackend` or v1beta1 `spec.backend`. */
  readonly defaultBackend: IngressBackend | undefined;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === "string" && v.length > 0 ? v : undefined;
const arr = (v: unknown): readonly unknown[] => (Array.isArray(v) ? v : []);

/**
 * Whether an Ingress belongs to our class: its `kubernetes.io/ingress.class` annotation (or,
 * when there is none, v1 `spec.ingressClassName`) is absent or equals `ingressClass`.
 */
export function ingressClassMatches(obj: unknown, ingressClass: string): boolean {
  if (!isObj(obj)) return false;
  const meta = isObj(obj.metadata) ? obj.metadata : {};
  const annotations = isObj(meta.annotations) ? meta.annotations : {};
  const annotated = annotations[INGRESS_CLASS_ANNOTATION];
  if (typeof annotated === "string") return annotated === ingressClass;
  const spec = isObj(obj.spec) ? obj.spec : {};
  const className = str(spec.ingressClassName);
  return className === undefined || className === ingressClass;
}

/** A backend in either shape: v1 `service.{name, port.{number|name}}` or v1beta1 `serviceName`/`servicePort`. */
export function parseBackend(v: unknown, namespace: string): IngressBackend | undefined {
  if (!isObj(v)) return undefined;
  if (isObj(v.service)) {
    const service = str(v.service.name);
    const p = isObj(v.service.port) ? v.service.port : {};
    const port =
      typeof p.number === "number" && Number.isInteger(p.number) && p.number > 0
        ? String(p.number)
        : str(p.name);
    return service && port ? { namespace, service, port } : undefined;
  }
  const service = str(v.serviceName);
  const sp = v.servicePort;
  const port = typeof sp === "number" && Number.isInteger(sp) && sp > 0 ? String(sp) : str(sp);
  return service && port ? { namespace, service, port } : undefined;
}

/** Compiles a rule path according to its v1 `pathType` (absent: Linkerd's whole-match regex). */
export function compilePath(path: string | undefined, pathType: string | undefined): PathMatch {
  if (path === undefined || path === "") return { kind: "any" };
  if (pathType === "Exact") return { kind: "exact", path };
  if (pathType === "Prefix") {
    const trimmed = path.replace(/\/+$/, "");
    return trimmed === "" ? { kind: "any" } : { kind: "prefix", path: trimmed };
  }
  try {
    return { kind: "regex", re: new RegExp(`^(?:${path})$`) };
  } catch (e) {
    return { kind: "none", error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * An Ingress object as rules, or `undefined` when it has no name or is not for `ingressClass`.
 * Paths whose backend is not a Service (v1 `resource` backends) are skipped.
 */
export function parseIngress(obj: unknown, ingressClass: string): IngressSpec | undefined {
  if (!isObj(obj) || !ingressClassMatches(obj, ingressClass)) return undefined;
  const meta = isObj(obj.metadata) ? obj.metadata : {};
  const name = str(meta.name);
  if (name === undefined) return undefined;
  const namespace = str(meta.namespace) ?? "default";
  const spec = isObj(obj.spec) ? obj.spec : {};
  const rules: IngressRule[] = [];
  for (const rule of arr(spec.rules)) {
    if (!isObj(rule) || !isObj(rule.http)) continue;
    const host = str(rule.host);
    for (const p of arr(rule.http.paths)) {
      if (!isObj(p)) continue;
      const backend = parseBackend(p.backend, namespace);
      if (!backend) continue;
      const pathText = typeof p.path === "string" ? p.path : undefined;
      const pathType = str(p.pathType);
      rules.push({ host, path: compilePath(pathText, pathType), pathText, backend });
    }
  }
  const defaultBackend =
    parseBackend(spec.defaultBackend, namespace) ?? parseBackend(spec.backend, namespace);
  return { namespace, name, rules, defaultBackend };
}

/** The request host without any `:port` (`[::1]:80` → `[::1]`). */
export function stripPort(authority: string): string {
  if (authority.startsWith("[")) {
    const end = authority.indexOf("]");
    return end < 0 ? authority : authority.slice(0, end + 1);
  }
  const colon = authority.indexOf(":");
  return colon < 0 ? authority : authority.slice(0, colon);
}

/** The request path without its query string or fragment. */
export function requestPath(path: string): string {
  const q = path.search(/[?#]/);
  return q < 0 ? path : path.slice(0, q);
}

export function hostMatches(ruleHost: string | undefined, host: string | undefined): boolean {
  if (ruleHost === undefined) return true;
  if (host === undefined) return false;
  if (ruleHost.startsWith("*.")) {
    const suffix = ruleHost.slice(1);
    if (!host.endsWith(suffix)) return false;
    const label = host.slice(0, host.length - suffix.length);
    return label.length > 0 && !label.includes(".");
  }
  return ruleHost === host;
}

export function pathMatches(m: PathMatch, path: string): boolean {
  switch (m.kind) {
    case "any":
      return true;
    case "regex":
      return m.re.test(path);
    case "exact":
      return m.path === path;
    case "prefix":
      return path === m.path || path.startsWith(`${m.path}/`);
    case "none":
      return false;
  }
}

export interface MatchOptions {
  /** Linkerd `ignoreDefaultBackends` (default false). */
  readonly ignoreDefaultBackends: boolean;
}

/**
 * The backend for a request: the first rule (over all ingresses, in order) whose host and path
 * match; otherwise the first default backend unless `ignoreDefaultBackends`.
 * `host` is the request authority with its port already removed.
 */
export function matchIngresses(
  ingresses: Iterable<IngressSpec>,
  host: string | undefined,
  path: string,
  opts: MatchOptions,
): IngressBackend | undefined {
  let fallback: IngressBackend | undefined;
  for (const ing of ingresses) {
    for (const rule of ing.rules) {
      if (hostMatches(rule.host, host) && pathMatches(rule.path, path)) return rule.backend;
    }
    fallback ??= ing.defaultBackend;
  }
  return opts.ignoreDefaultBackends ? undefined : fallback;
}
