import { type Standin, startStandin } from "@l5d/k8s-standin";
import { afterEach, describe, expect, it } from "vitest";
import { K8sApi, makeKubeConfig } from "./k8s-api.js";
import { Reflector } from "./k8s-reflector.js";

const ingress = (name: string, namespace: string, service: string) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name, namespace },
  spec: { defaultBackend: { service: { name: service, port: { number: 80 } } } },
});

/** Polls `cond` every 10 ms for at most 5 s. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

describe("Reflector over networking.k8s.io/v1 Ingresses", () => {
  let s: Standin | undefined;
  let r: Reflector | undefined;
  afterEach(async () => {
    r?.close();
    r = undefined;
    await s?.close();
    s = undefined;
  });

  function reflect(namespace: string | null): Reflector {
    const api = new K8sApi(
      makeKubeConfig({ mode: "proxy", host: "127.0.0.1", port: s?.port ?? 0 }),
    );
    r = new Reflector({
      api,
      resource: "ingresses",
      namespace,
      backoff: { minMs: 5, maxMs: 40 },
      onChange: () => {},
    });
    r.start();
    return r;
  }

  it("keys a cluster-wide reflector by namespace/name and follows watch events", async () => {
    s = await startStandin({
      objects: [ingress("web", "default", "a"), ingress("web", "other", "b")],
    });
    const refl = reflect(null);
    await until(() => refl.synced && refl.phase === "watching");
    expect([...refl.objects.keys()].sort()).toEqual(["default/web", "other/web"]);
    s.apply(ingress("api", "third", "c"));
    s.delete("Ingress", "default", "web");
    await until(() => refl.objects.has("third/api") && !refl.objects.has("default/web"));
    expect([...refl.objects.keys()].sort()).toEqual(["other/web", "third/api"]);
    expect(s.requests.some((q) => q.path === "/apis/networking.k8s.io/v1/ingresses")).toBe(true);
  });

  it("keeps a namespaced reflector keyed by name", async () => {
    s = await startStandin({
      objects: [ingress("web", "default", "a"), ingress("web", "other", "b")],
    });
    const refl = reflect("other");
    await until(() => refl.synced);
    expect([...refl.objects.keys()]).toEqual(["web"]);
    expect(
      s.requests.some((q) => q.path === "/apis/networking.k8s.io/v1/namespaces/other/ingresses"),
    ).toBe(true);
  });
});
