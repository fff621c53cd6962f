import { describe, expect, it } from "vitest";
import {
  compilePath,
  hostMatches,
  type IngressSpec,
  ingressClassMatches,
  matchIngresses,
  parseIngress,
  pathMatches,
  requestPath,
  stripPort,
} from "./ingress-rules.js";

interface PathSpec {
  path?: string;
  pathType?: string;
  service: string;
  port: number | string;
}

/** A networking.k8s.io/v1 Ingress. */
function v1(
  name: string,
  opts: {
    namespace?: string;
    annotations?: Record<string, string>;
    ingressClassName?: string;
    defaultBackend?: { service: string; port: number | string };
    rules?: { host?: string; paths: PathSpec[] }[];
  } = {},
): unknown {
  const backend = (service: string, port: number | string) => ({
    service: { name: service, port: typeof port === "number" ? { number: port } : { name: port } },
  });
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name,
      namespace: opts.namespace ?? "default",
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    spec: {
      ...(opts.ingressClassName ? { ingressClassName: opts.ingressClassName } : {}),
      ...(opts.defaultBackend
        ? { defaultBackend: backend(opts.defaultBackend.service, opts.defaultBackend.port) }
        : {}),
      rules: (opts.rules ?? []).map((r) => ({
        ...(r.host ? { host: r.host } : {}),
        http: {
          paths: r.paths.map((p) => ({
            ...(p.path === undefined ? {} : { path: p.path }),
            pathType: p.pathType ?? "ImplementationSpecific",
            backend: backend(p.service, p.port),
          })),
        },
      })),
    },
  };
}

function specs(...objs: unknown[]): IngressSpec[] {
  return objs.flatMap((o) => parseIngress(o, "linkerd") ?? []);
}

const match = (
  ings: IngressSpec[],
  host: string | undefined,
  path: string,
  ignoreDefaultBackends = false,
) => {
  const b = matchIngresses(ings, host, path, { ignoreDefaultBackends });
  return b && `${b.namespace}/${b.port}/${b.service}`;
};

describe("ingress rules: parsing", () => {
  it("reads v1 backends (port number or name) and the v1 default backend", () => {
    const [spec] = specs(
      v1("web", {
        namespace: "prod",
        defaultBackend: { service: "fallback", port: "http" },
        rules: [{ host: "a.example", paths: [{ path: "/x", service: "svc", port: 8080 }] }],
      }),
    );
    expect(spec?.namespace).toBe("prod");
    expect(spec?.rules.map((r) => [r.host, r.pathText, r.backend])).toEqual([
      ["a.example", "/x", { namespace: "prod", service: "svc", port: "8080" }],
    ]);
    expect(spec?.defaultBackend).toEqual({ namespace: "prod", service: "fallback", port: "http" });
  });

  it("reads the extensions/v1beta1 shape Linkerd 1 used (serviceName/servicePort, spec.backend)", () => {
    const [spec] = specs({
      apiVersion: "extensions/v1beta1",
      kind: "Ingress",
      metadata: { name: "old" },
      spec: {
        backend: { serviceName: "dflt", servicePort: 80 },
        rules: [
          {
            host: "h",
            http: { paths: [{ path: "/a.*", backend: { serviceName: "a", servicePort: "grpc" } }] },
          },
        ],
      },
    });
    expect(spec?.namespace).toBe("default");
    expect(spec?.rules[0]?.backend).toEqual({ namespace: "default", service: "a", port: "grpc" });
    expect(spec?.rules[0]?.path.kind).toBe("regex");
    expect(spec?.defaultBackend).toEqual({ namespace: "default", service: "dflt", port: "80" });
  });

  it("skips non-Service (resource) backends and nameless objects", () => {
    const [spec] = specs({
      metadata: { name: "r" },
      spec: {
        rules: [
          {
            http: {
              paths: [
                { path: "/", backend: { resource: { kind: "Bucket", name: "b" } } },
                { path: "/ok", backend: { service: { name: "s", port: { number: 1 } } } },
              ],
            },
          },
        ],
      },
    });
    expect(spec?.rules.map((r) => r.backend.service)).toEqual(["s"]);
    expect(parseIngress({ metadata: {}, spec: {} }, "linkerd")).toBeUndefined();
    expect(parseIngress("nope", "linkerd")).toBeUndefined();
  });

  it("keeps only our class: annotation absent or equal, else v1 ingressClassName", () => {
    const mk = (annotations?: Record<string, string>, ingressClassName?: string) =>
      v1("x", {
        ...(annotations ? { annotations } : {}),
        ...(ingressClassName ? { ingressClassName } : {}),
      });
    expect(ingressClassMatches(mk(), "linkerd")).toBe(true);
    expect(ingressClassMatches(mk({ "kubernetes.io/ingress.class": "linkerd" }), "linkerd")).toBe(
      true,
    );
    expect(ingressClassMatches(mk({ "kubernetes.io/ingress.class": "nginx" }), "linkerd")).toBe(
      false,
    );
    expect(ingressClassMatches(mk(undefined, "nginx"), "linkerd")).toBe(false);
    expect(ingressClassMatches(mk(undefined, "linkerd"), "linkerd")).toBe(true);
    // the annotation wins over spec.ingressClassName, as in Kubernetes
    expect(
      ingressClassMatches(mk({ "kubernetes.io/ingress.class": "linkerd" }, "nginx"), "linkerd"),
    ).toBe(true);
    expect(ingressClassMatches(mk({ "kubernetes.io/ingress.class": "custom" }), "custom")).toBe(
      true,
    );
    expect(
      specs(
        mk({ "kubernetes.io/ingress.class": "nginx" }),
        mk({ "kubernetes.io/ingress.class": "linkerd" }),
      ),
    ).toHaveLength(1);
  });
});

describe("ingress rules: host and path", () => {
  it("strips any :port from the authority and the query from the path", () => {
    expect(stripPort("foo.example:4140")).toBe("foo.example");
    expect(stripPort("foo.example")).toBe("foo.example");
    expect(stripPort("[::1]:80")).toBe("[::1]");
    expect(requestPath("/a/b?x=1")).toBe("/a/b");
    expect(requestPath("/a#frag")).toBe("/a");
  });

  it("compares hosts exactly; a rule without host matches any; *.x matches one label", () => {
    expect(hostMatches(undefined, undefined)).toBe(true);
    expect(hostMatches(undefined, "x")).toBe(true);
    expect(hostMatches("a.example", "a.example")).toBe(true);
    expect(hostMatches("a.example", "A.example")).toBe(false);
    expect(hostMatches("a.example", "b.a.example")).toBe(false);
    expect(hostMatches("a.example", undefined)).toBe(false);
    expect(hostMatches("*.example", "a.example")).toBe(true);
    expect(hostMatches("*.example", "b.a.example")).toBe(false);
    expect(hostMatches("*.example", "example")).toBe(false);
  });

  it("regex (ImplementationSpecific / v1beta1) paths must match the whole path", () => {
    const root = compilePath("/", "ImplementationSpecific");
    expect(pathMatches(root, "/")).toBe(true);
    expect(pathMatches(root, "/x")).toBe(false);
    const re = compilePath("/helloworld\\..*", undefined);
    expect(pathMatches(re, "/helloworld.Hello/Greeting")).toBe(true);
    expect(pathMatches(re, "/x/helloworld.Hello")).toBe(false);
    const alt = compilePath("/a|/b", undefined);
    expect(pathMatches(alt, "/b")).toBe(true);
    expect(pathMatches(alt, "/ab")).toBe(false);
    expect(compilePath(undefined, undefined).kind).toBe("any");
    expect(compilePath("", "Prefix").kind).toBe("any");
    const bad = compilePath("/(", undefined);
    expect(bad.kind).toBe("none");
    expect(pathMatches(bad, "/(")).toBe(false);
  });

  it("v1 Prefix matches by path element; Exact matches exactly", () => {
    const p = compilePath("/foo/", "Prefix");
    expect(pathMatches(p, "/foo")).toBe(true);
    expect(pathMatches(p, "/foo/")).toBe(true);
    expect(pathMatches(p, "/foo/bar")).toBe(true);
    expect(pathMatches(p, "/foobar")).toBe(false);
    expect(pathMatches(compilePath("/", "Prefix"), "/anything/at/all")).toBe(true);
    // a Prefix path is not a regex
    expect(pathMatches(compilePath("/a.c", "Prefix"), "/abc")).toBe(false);
    const e = compilePath("/foo", "Exact");
    expect(pathMatches(e, "/foo")).toBe(true);
    expect(pathMatches(e, "/foo/")).toBe(false);
  });
});

describe("ingress rules: choosing a backend", () => {
  const first = v1("first", {
    defaultBackend: { service: "default-one", port: 80 },
    rules: [
      { host: "api.example", paths: [{ path: "/v1/.*", service: "api-v1", port: 80 }] },
      { paths: [{ path: "/static", pathType: "Prefix", service: "static", port: "http" }] },
    ],
  });
  const second = v1("second", {
    namespace: "other",
    defaultBackend: { service: "default-two", port: 80 },
    rules: [
      { host: "api.example", paths: [{ service: "api-any", port: 8080 }] },
      { host: "web.example", paths: [{ path: "/", pathType: "Prefix", service: "web", port: 80 }] },
    ],
  });

  it("takes the first matching rule over all ingresses, in order", () => {
    const ings = specs(first, second);
    expect(match(ings, "api.example", "/v1/users")).toBe("default/80/api-v1");
    expect(match(ings, "api.example", "/v2/users")).toBe("other/8080/api-any");
    expect(match(ings, "web.example", "/static/x.css")).toBe("default/http/static");
    expect(match(ings, "web.example", "/index.html")).toBe("other/80/web");
    // order matters: with `second` first, its host-wide rule wins
    expect(match(specs(second, first), "api.example", "/v1/users")).toBe("other/8080/api-any");
  });

  it("falls back to the first default backend unless ignoreDefaultBackends", () => {
    const ings = specs(first, second);
    expect(match(ings, "nobody.example", "/x")).toBe("default/80/default-one");
    expect(match(ings, undefined, "/x")).toBe("default/80/default-one");
    expect(match(ings, "nobody.example", "/x", true)).toBeUndefined();
    expect(match(specs(second), "nobody.example", "/x")).toBe("other/80/default-two");
    expect(match([], "a", "/")).toBeUndefined();
  });
});
