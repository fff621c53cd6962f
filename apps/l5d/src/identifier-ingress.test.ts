import type { BuildContext } from "@l5d/config";
import { Path } from "@l5d/dtab";
import { headerList, type Identification, type Identifier } from "@l5d/h2-proxy";
import { type Standin, startStandin } from "@l5d/k8s-standin";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "./__tests__/support.js";
import {
  ingressIdentifierFactory,
  ingressIdentifierSchema,
  NO_MATCH_REASON,
} from "./identifier-ingress.js";

function ingress(
  name: string,
  namespace: string,
  host: string | undefined,
  service: string,
  extra: { annotations?: Record<string, string>; defaultBackend?: string } = {},
) {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      ...(extra.defaultBackend
        ? { defaultBackend: { service: { name: extra.defaultBackend, port: { number: 80 } } } }
        : {}),
      rules: [
        {
          ...(host ? { host } : {}),
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: service, port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

const show = (r: Identification) => (r.kind === "ok" ? r.name.show : `unidentified: ${r.reason}`);

/** Polls `f` every 10 ms for at most 5 s until it returns `want`. */
async function eventually(f: () => string, want: string): Promise<void> {
  let last = f();
  for (let i = 0; i < 500 && last !== want; i++) {
    await new Promise((r) => setTimeout(r, 10));
    last = f();
  }
  expect(last).toBe(want);
}

describe("io.l5d.ingress identifier against the API stand-in", () => {
  const closers: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of closers.reverse()) await f();
    closers.length = 0;
  });

  async function standin(objects: object[]): Promise<Standin> {
    const s = await startStandin({ objects: objects as Parameters<Standin["apply"]>[0][] });
    closers.push(() => s.close());
    return s;
  }

  function build(yaml: Record<string, unknown>, dstPrefix = "/svc"): Identifier {
    const cfg = ingressIdentifierSchema.parse({ kind: "io.l5d.ingress", ...yaml });
    const ctx: BuildContext = {
      env: {},
      log: { info() {}, warn() {}, error() {}, debug() {} },
      onClose: (f) => closers.push(f),
      services: {},
    };
    return ingressIdentifierFactory.make(cfg, ctx)(Path.read(dstPrefix));
  }

  const req = (authority: string, path = "/helloworld.Hello/Greeting") =>
    headerList({ ":authority": authority, ":path": path, ":method": "POST" });

  it("has Linkerd's defaults and a strict schema", () => {
    expect(ingressIdentifierSchema.parse({ kind: "io.l5d.ingress" })).toEqual({
      kind: "io.l5d.ingress",
      ingressClassAnnotation: "linkerd",
      host: "localhost",
      port: 8001,
      ignoreDefaultBackends: false,
      inCluster: false,
    });
    expect(ingressIdentifierSchema.safeParse({ kind: "io.l5d.ingress", bogus: 1 }).success).toBe(
      false,
    );
  });

  it("identifies by host across namespaces, follows changes live, filters by class", async () => {
    const s = await standin([
      ingress("hello", "default", "hello.example", "hello"),
      ingress("world", "other", "world.example", "world"),
      ingress("nginx", "default", "nginx.example", "nope", {
        annotations: { "kubernetes.io/ingress.class": "nginx" },
      }),
    ]);
    const id = build({ host: "127.0.0.1", port: s.port });
    await eventually(() => show(id.identify(req("hello.example:4140"))), "/svc/default/80/hello");
    expect(show(id.identify(req("world.example")))).toBe("/svc/other/80/world");
    expect(show(id.identify(req("nginx.example")))).toBe(`unidentified: ${NO_MATCH_REASON}`);
    // `host` stands in for `:authority` (HTTP/1.1 upgrades)
    expect(show(id.identify(headerList({ host: "world.example:80", ":path": "/" })))).toBe(
      "/svc/other/80/world",
    );

    s.apply(ingress("world", "other", "world.example", "world-v2"));
    await eventually(() => show(id.identify(req("world.example"))), "/svc/other/80/world-v2");
    s.apply(ingress("catchall", "third", undefined, "any", { defaultBackend: "dflt" }));
    await eventually(() => show(id.identify(req("nobody.example"))), "/svc/third/80/any");
    s.delete("Ingress", "third", "catchall");
    await eventually(
      () => show(id.identify(req("nobody.example"))),
      `unidentified: ${NO_MATCH_REASON}`,
    );
    // re-classed to nginx: no longer ours
    s.apply(
      ingress("hello", "default", "hello.example", "hello", {
        annotations: { "kubernetes.io/ingress.class": "nginx" },
      }),
    );
    await eventually(
      () => show(id.identify(req("hello.example"))),
      `unidentified: ${NO_MATCH_REASON}`,
    );
  });

  it("watches one namespace; honours ingressClassAnnotation and ignoreDefaultBackends", async () => {
    const s = await standin([
      ingress("a", "default", "a.example", "a", { defaultBackend: "fallback" }),
      ingress("b", "other", "b.example", "b", {
        annotations: { "kubernetes.io/ingress.class": "custom" },
      }),
    ]);
    const custom = build({
      host: "127.0.0.1",
      port: s.port,
      namespace: "other",
      ingressClassAnnotation: "custom",
    });
    await eventually(() => show(custom.identify(req("b.example"))), "/svc/other/80/b");
    expect(show(custom.identify(req("a.example")))).toBe(`unidentified: ${NO_MATCH_REASON}`);
    expect(
      s.requests.some((q) => q.path === "/apis/networking.k8s.io/v1/namespaces/other/ingresses"),
    ).toBe(true);

    const withDefault = build({ host: "127.0.0.1", port: s.port }, "/ingress");
    await eventually(
      () => show(withDefault.identify(req("zzz.example"))),
      "/ingress/default/80/fallback",
    );
    const noDefault = build({ host: "127.0.0.1", port: s.port, ignoreDefaultBackends: true });
    await eventually(() => show(noDefault.identify(req("a.example"))), "/svc/default/80/a");
    expect(show(noDefault.identify(req("zzz.example")))).toBe(`unidentified: ${NO_MATCH_REASON}`);
  });

  it("says why before the first list completes (API unreachable)", async () => {
    const port = await freePort();
    const id = build({ host: "127.0.0.1", port });
    const first = id.identify(req("hello.example"));
    expect(first.kind).toBe("unidentified");
    expect(first.kind === "unidentified" && first.reason).toContain(
      `ingresses not yet listed from http://127.0.0.1:${port}`,
    );
    // after a failed attempt the reason carries the error
    await eventually(() => {
      const r = id.identify(req("hello.example"));
      return r.kind === "unidentified" && r.reason.includes("(") ? "error shown" : show(r);
    }, "error shown");
  });
});
