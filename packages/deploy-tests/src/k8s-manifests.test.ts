import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateK8sObject } from "./k8s-schema.js";
import { type K8sObject, parseManifests, readManifests } from "./manifests.js";
import { repoRoot } from "./repo-root.js";

const root = repoRoot();
const k8sDir = join(root, "deploy", "k8s");
const manifestFiles = readdirSync(k8sDir).filter((f) => f.endsWith(".yml"));

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped JSON, navigated by key
type Json = any;

function load(file: string): K8sObject[] {
  return readManifests(join(k8sDir, file));
}
function find(objs: K8sObject[], kind: string, name: string): Json {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not found`);
  return o;
}
function container(workload: Json, name: string): Json {
  const c = workload.spec.template.spec.containers.find((x: Json) => x.name === name);
  if (!c) throw new Error(`container ${name} not found in ${workload.metadata.name}`);
  return c;
}
function envFrom(c: Json, name: string): Json {
  return c.env?.find((e: Json) => e.name === name);
}
function dentries(dtab: string): string[] {
  return dtab
    .split(";")
    .map((d) => d.replace(/\s+/g, ""))
    .filter((d) => d !== "");
}

/** The tutorial's Linkerd config (tutorial.md (d), 1.0.0 era plus HEAD's `admin.ip`). */
const TUTORIAL_DTAB = [
  "/srv=>/#/io.l5d.k8s/default/grpc",
  "/grpc=>/srv",
  "/grpc/World=>/srv/world-v1",
  "/svc=>/$/io.buoyant.http.domainToPathPfx/grpc",
];
function tutorialRouter(label: string, port: number, transformer: Json): Json {
  return {
    protocol: "h2",
    experimental: true,
    label,
    dtab: TUTORIAL_DTAB,
    identifier: { kind: "io.l5d.header.path", segments: 1 },
    interpreter: { kind: "default", transformers: [transformer] },
    servers: [{ port, ip: "0.0.0.0" }],
  };
}
const TUTORIAL_CONFIG: Json = {
  admin: { ip: "0.0.0.0", port: 9990 },
  namers: [{ kind: "io.l5d.k8s", experimental: true }],
  telemetry: [{ kind: "io.l5d.prometheus" }, { kind: "io.l5d.recentRequests", sampleRate: 0.25 }],
  usage: { orgId: "linkerd-examples-daemonset-grpc" },
  routers: [
    tutorialRouter("outgoing", 4140, {
      kind: "io.l5d.k8s.daemonset",
      namespace: "default",
      port: "incoming",
      service: "l5d",
    }),
    tutorialRouter("incoming", 4141, { kind: "io.l5d.k8s.localnode" }),
  ],
};

/** The embedded config with dtabs as dentry lists and the API-access keys taken out. */
function embeddedConfig(objs: K8sObject[]): {
  config: Json;
  api: { namer: Json; daemonset: Json };
} {
  const cm = find(objs, "ConfigMap", "l5d-config");
  expect(Object.keys(cm.data)).toEqual(["config.yaml"]);
  const config = parse(cm.data["config.yaml"], { uniqueKeys: true });
  const api = { namer: {} as Json, daemonset: {} as Json };
  for (const key of ["host", "port", "inCluster"]) {
    if (key in config.namers[0]) {
      api.namer[key] = config.namers[0][key];
      delete config.namers[0][key];
    }
  }
  for (const r of config.routers) {
    r.dtab = dentries(r.dtab);
    for (const t of r.interpreter.transformers) {
      if (t.kind !== "io.l5d.k8s.daemonset") continue;
      for (const key of ["k8sHost", "k8sPort", "inCluster"]) {
        if (key in t) {
          api.daemonset[key] = t[key];
          delete t[key];
        }
      }
    }
  }
  return { config, api };
}

describe("Kubernetes manifests: schema of current Kubernetes (offline)", () => {
  it("finds the tutorial's manifests", () => {
    expect(manifestFiles.sort()).toEqual([
      "hello-world-grpc-legacy.yml",
      "hello-world-grpc.yml",
      "linkerd-grpc-kubectl-proxy.yml",
      "linkerd-grpc.yml",
      "linkerd-rbac.yml",
      "node-name-test.yml",
    ]);
  });

  it.each(manifestFiles)("%s: every object is valid", (file) => {
    const objs = load(file);
    expect(objs.length).toBeGreaterThan(0);
    for (const o of objs) {
      expect({ object: `${o.kind}/${o.metadata.name}`, issues: validateK8sObject(o) }).toEqual({
        object: `${o.kind}/${o.metadata.name}`,
        issues: [],
      });
    }
  });

  it("the validator rejects what the API server would (removed API, unknown field, wrong type, missing field)", () => {
    const [ds] = parseManifests(
      [
        "apiVersion: extensions/v1beta1",
        "kind: DaemonSet",
        "metadata: {name: l5d}",
        "spec: {template: {spec: {containers: [{name: l5d, image: x}]}}}",
      ].join("\n"),
    );
    expect(validateK8sObject(ds!)[0]?.message).toMatch(/extensions\/v1beta1\/DaemonSet is not/);

    const good = find(load("hello-world-grpc.yml"), "Deployment", "hello");
    const unknown = structuredClone(good);
    unknown.spec.template.spec.containers[0].hostPort = 4140; // belongs in ports[]
    expect(validateK8sObject(unknown)).toEqual([
      {
        path: "spec.template.spec.containers[0].hostPort",
        message: 'unknown field "hostPort" in V1Container',
      },
    ]);

    const wrongType = structuredClone(good);
    wrongType.spec.template.spec.containers[0].ports[0].containerPort = "7777";
    expect(validateK8sObject(wrongType).map((i) => i.path)).toContain(
      "spec.template.spec.containers[0].ports[0].containerPort",
    );

    const noSelector = structuredClone(good);
    delete noSelector.spec.selector;
    expect(
      validateK8sObject(noSelector)
        .map((i) => i.message)
        .join(),
    ).toMatch(/selector/);
  });
});

describe("Kubernetes manifests: the tutorial's objects", () => {
  const workloads = manifestFiles.flatMap((f) =>
    load(f).filter((o) => o.kind === "Deployment" || o.kind === "DaemonSet"),
  );

  it.each(workloads.map((w) => [`${w.kind}/${w.metadata.name}`, w] as const))(
    "%s: the selector matches its pod labels",
    (_name, w: Json) => {
      const match = w.spec.selector.matchLabels;
      expect(Object.keys(match).length).toBeGreaterThan(0);
      for (const [k, v] of Object.entries(match))
        expect(w.spec.template.metadata.labels[k]).toBe(v);
    },
  );

  it.each([
    "hello-world-grpc.yml",
    "hello-world-grpc-legacy.yml",
    "linkerd-grpc.yml",
    "linkerd-grpc-kubectl-proxy.yml",
  ])(
    "%s: every Service selects pods of a workload in the same file, on a declared port",
    (file) => {
      const objs = load(file) as Json[];
      const services = objs.filter((o) => o.kind === "Service");
      expect(services.length).toBeGreaterThan(0);
      for (const svc of services) {
        const sel = svc.spec.selector;
        const selected = objs.filter(
          (o) =>
            (o.kind === "Deployment" || o.kind === "DaemonSet") &&
            Object.entries(sel).every(([k, v]) => o.spec.template.metadata.labels[k] === v),
        );
        expect(
          selected.map((o) => o.metadata.name),
          svc.metadata.name,
        ).toHaveLength(1);
        const ports = selected[0].spec.template.spec.containers.flatMap((c: Json) => c.ports ?? []);
        for (const p of svc.spec.ports) {
          const target = p.targetPort ?? p.port;
          expect(
            ports.some((cp: Json) => cp.containerPort === target || cp.name === target),
            `${svc.metadata.name}:${p.name}`,
          ).toBe(true);
        }
      }
    },
  );

  it("hello and world-v1: the tutorial's replicas, containers, args, env and headless grpc Services", () => {
    const objs = load("hello-world-grpc.yml");
    const hello = find(objs, "Deployment", "hello");
    const world = find(objs, "Deployment", "world-v1");
    expect([hello.spec.replicas, world.spec.replicas]).toEqual([3, 3]);
    const hc = container(hello, "service");
    expect(hc.image).toBe("l5d-ts/helloworld:0.1.0");
    expect(hc.command).toEqual(["helloworld"]);
    expect(hc.args).toEqual([
      "-addr=:7777",
      "-text=Hello",
      "-target=$(NODE_NAME):4140",
      "-protocol=grpc",
    ]);
    expect(envFrom(hc, "NODE_NAME").valueFrom.fieldRef.fieldPath).toBe("spec.nodeName");
    expect(envFrom(hc, "POD_IP").valueFrom.fieldRef.fieldPath).toBe("status.podIP");
    expect(hc.ports).toEqual([{ name: "service", containerPort: 7777 }]);
    const wc = container(world, "service");
    expect(wc.image).toBe("l5d-ts/helloworld:0.1.0");
    expect(wc.args).toEqual(["-addr=:7778", "-protocol=grpc"]);
    expect(envFrom(wc, "TARGET_WORLD").value).toBe("world");
    expect(envFrom(wc, "POD_IP").valueFrom.fieldRef.fieldPath).toBe("status.podIP");
    expect(wc.ports).toEqual([{ name: "service", containerPort: 7778 }]);
    for (const [name, port] of [
      ["hello", 7777],
      ["world-v1", 7778],
    ] as const) {
      const svc = find(objs, "Service", name);
      expect(svc.spec.clusterIP).toBe("None");
      expect(svc.spec.ports).toEqual([{ name: "grpc", port }]);
    }
  });

  it("legacy variant: hello targets the node IP from the downward API (status.hostIP)", () => {
    const objs = load("hello-world-grpc-legacy.yml");
    const hc = container(find(objs, "Deployment", "hello"), "service");
    expect(envFrom(hc, "HOST_IP").valueFrom.fieldRef.fieldPath).toBe("status.hostIP");
    expect(envFrom(hc, "NODE_NAME")).toBeUndefined();
    expect(hc.args).toEqual([
      "-addr=:7777",
      "-text=Hello",
      "-target=$(HOST_IP):4140",
      "-protocol=grpc",
    ]);
    expect(find(objs, "Service", "world-v1").spec.clusterIP).toBeUndefined();
    expect(find(objs, "Service", "hello").spec.clusterIP).toBe("None");
  });

  it("$(VAR) references in args and commands name env vars defined in the same container", () => {
    for (const file of manifestFiles) {
      for (const o of load(file) as Json[]) {
        const spec = o.kind === "Pod" ? o.spec : o.spec?.template?.spec;
        for (const c of spec?.containers ?? []) {
          const defined = new Set((c.env ?? []).map((e: Json) => e.name));
          const refs = [...(c.command ?? []), ...(c.args ?? [])].flatMap((a: string) =>
            [...a.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]),
          );
          for (const r of refs) expect(defined.has(r), `${file} ${c.name} uses $(${r})`).toBe(true);
        }
      }
    }
  });

  it("node-name-test: a one-shot Pod resolving $(NODE_NAME)", () => {
    const pod = find(load("node-name-test.yml"), "Pod", "node-name-test");
    expect(pod.spec.restartPolicy).toBe("Never");
    const c = pod.spec.containers[0];
    expect(c.command).toEqual(["nslookup", "$(NODE_NAME)"]);
    expect(envFrom(c, "NODE_NAME").valueFrom.fieldRef.fieldPath).toBe("spec.nodeName");
  });

  it.each(["linkerd-grpc.yml", "linkerd-grpc-kubectl-proxy.yml"])(
    "%s: DaemonSet l5d with hostPort 4140, POD_IP, the config volume; Service ports outgoing, incoming, admin in order",
    (file) => {
      const objs = load(file);
      const ds = find(objs, "DaemonSet", "l5d");
      expect(ds.apiVersion).toBe("apps/v1");
      expect(ds.spec.selector.matchLabels).toEqual({ app: "l5d" });
      expect(ds.spec.template.spec.serviceAccountName).toBe("l5d");
      const c = container(ds, "l5d");
      expect(c.image).toBe("l5d-ts/l5d:0.1.0");
      expect(c.args).toEqual(["/io.buoyant/linkerd/config/config.yaml"]);
      expect(envFrom(c, "POD_IP").valueFrom.fieldRef.fieldPath).toBe("status.podIP");
      expect(c.ports).toEqual([
        { name: "outgoing", containerPort: 4140, hostPort: 4140 },
        { name: "incoming", containerPort: 4141 },
        { name: "admin", containerPort: 9990 },
      ]);
      expect(c.volumeMounts).toEqual([
        { name: "l5d-config", mountPath: "/io.buoyant/linkerd/config", readOnly: true },
      ]);
      expect(ds.spec.template.spec.volumes).toEqual([
        { name: "l5d-config", configMap: { name: "l5d-config" } },
      ]);
      expect(c.readinessProbe.httpGet).toEqual({ path: "/admin/ping", port: "admin" });
      const svc = find(objs, "Service", "l5d");
      expect(svc.spec.type).toBe("LoadBalancer");
      expect(svc.spec.selector).toEqual({ app: "l5d" });
      expect(svc.spec.ports).toEqual([
        { name: "outgoing", port: 4140 },
        { name: "incoming", port: 4141 },
        { name: "admin", port: 9990 },
      ]);
    },
  );

  it("linkerd-grpc.yml embeds the tutorial's config, with in-cluster API access", () => {
    const objs = load("linkerd-grpc.yml");
    const { config, api } = embeddedConfig(objs);
    expect(config).toEqual(TUTORIAL_CONFIG);
    expect(api).toEqual({ namer: { inCluster: true }, daemonset: { inCluster: true } });
    const ds = find(objs, "DaemonSet", "l5d");
    expect(ds.spec.template.spec.containers.map((c: Json) => c.name)).toEqual(["l5d"]);
  });

  it("linkerd-grpc-kubectl-proxy.yml embeds the tutorial's config unchanged, with the kubectl proxy sidecar", () => {
    const objs = load("linkerd-grpc-kubectl-proxy.yml");
    const { config, api } = embeddedConfig(objs);
    expect(config).toEqual(TUTORIAL_CONFIG);
    expect(api).toEqual({ namer: { host: "localhost", port: 8001 }, daemonset: {} });
    const kubectl = container(find(objs, "DaemonSet", "l5d"), "kubectl");
    expect(kubectl.image).toMatch(/^registry\.k8s\.io\/kubectl:v1\.\d+\.\d+$/);
    expect(kubectl.args).toEqual(["proxy", "-p", "8001"]);
  });

  it("RBAC: least privilege for ServiceAccount l5d (read-only endpoints, services, pods, endpointslices, ingresses)", () => {
    const objs = load("linkerd-rbac.yml");
    const sa = find(objs, "ServiceAccount", "l5d");
    expect(sa.metadata.namespace).toBe("default");
    const role = find(objs, "ClusterRole", "l5d-endpoints-reader");
    expect(role.rules).toEqual([
      {
        apiGroups: [""],
        resources: ["endpoints", "services", "pods"],
        verbs: ["get", "list", "watch"],
      },
      {
        apiGroups: ["discovery.k8s.io"],
        resources: ["endpointslices"],
        verbs: ["get", "list", "watch"],
      },
      {
        apiGroups: ["networking.k8s.io"],
        resources: ["ingresses"],
        verbs: ["get", "list", "watch"],
      },
    ]);
    const binding = find(objs, "ClusterRoleBinding", "l5d-endpoints-reader");
    expect(binding.roleRef).toEqual({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "l5d-endpoints-reader",
    });
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: "l5d", namespace: "default" },
    ]);
  });
});

const kubectl = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].find((p) => existsSync(p));
if (!kubectl) {
  console.warn(
    "SKIPPED: `kubectl kustomize deploy/k8s` not checked: no kubectl in /usr/bin or /usr/local/bin",
  );
}

describe.skipIf(!kubectl)("kubectl kustomize deploy/k8s", () => {
  it("renders the RBAC, the app and l5d, every object valid", () => {
    const r = spawnSync(kubectl!, ["kustomize", k8sDir], { encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const objs = parseManifests(r.stdout, "kubectl kustomize output");
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        "ClusterRole/l5d-endpoints-reader",
        "ClusterRoleBinding/l5d-endpoints-reader",
        "ConfigMap/l5d-config",
        "DaemonSet/l5d",
        "Deployment/hello",
        "Deployment/world-v1",
        "Service/hello",
        "Service/l5d",
        "Service/world-v1",
        "ServiceAccount/l5d",
      ].sort(),
    );
    for (const o of objs) expect(validateK8sObject(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
    expect(embeddedConfig(objs).config).toEqual(TUTORIAL_CONFIG);
  });
});

describe.skipIf(!kubectl)("kubectl kustomize deploy/k8s-hardened", () => {
  it("the tutorial's objects with the admin port off the public LoadBalancer (a ClusterIP l5d-admin) and the public 4140 on a clearContext edge server", () => {
    const r = spawnSync(kubectl!, ["kustomize", join(root, "deploy", "k8s-hardened")], {
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const objs = parseManifests(r.stdout, "kubectl kustomize output");
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toContain("Service/l5d-admin");
    expect(objs).toHaveLength(11);
    for (const o of objs) expect(validateK8sObject(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
    const lb = find(objs, "Service", "l5d");
    expect(lb.spec.type).toBe("LoadBalancer");
    // the public 4140 reaches the outgoing router's edge server (clearContext)
    expect(lb.spec.ports).toEqual([
      { name: "outgoing", port: 4140, targetPort: "edge" },
      { name: "incoming", port: 4141 },
    ]);
    const admin = find(objs, "Service", "l5d-admin");
    expect(admin.spec).toEqual({
      type: "ClusterIP",
      selector: { app: "l5d" },
      ports: [{ name: "admin", port: 9990, targetPort: "admin" }],
    });
    // the DaemonSet names the ports the Services target; the config is the tutorial's plus the
    // outgoing router's edge server
    const ds = find(objs, "DaemonSet", "l5d");
    expect(container(ds, "l5d").ports).toContainEqual({ name: "admin", containerPort: 9990 });
    expect(container(ds, "l5d").ports).toContainEqual({ name: "edge", containerPort: 4142 });
    const { config } = embeddedConfig(objs);
    expect(config.routers[0].servers).toEqual([
      { port: 4140, ip: "0.0.0.0" },
      { port: 4142, ip: "0.0.0.0", clearContext: true },
    ]);
    config.routers[0].servers = TUTORIAL_CONFIG.routers[0].servers;
    expect(config).toEqual(TUTORIAL_CONFIG);
  });
});

/** A config of deploy/examples as embeddedConfig() gives it (dtabs as dentries, no API keys). */
function seriesConfig(file: string): Json {
  const c = parse(readFileSync(join(root, "deploy", "examples", file), "utf8"));
  for (const r of c.routers) r.dtab = dentries(r.dtab);
  delete c.namers[0].host;
  delete c.namers[0].port;
  return c;
}

/** `kubectl kustomize deploy/<dir>`: its objects, each valid against the Kubernetes schema. */
function kustomized(dir: string): K8sObject[] {
  const r = spawnSync(kubectl!, ["kustomize", join(root, "deploy", dir)], {
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  const objs = parseManifests(r.stdout, "kubectl kustomize output");
  // custom kinds are checked against the CRDs among the same objects
  for (const o of objs)
    expect(validateK8sObject(o, objs), `${o.kind}/${o.metadata.name}`).toEqual([]);
  return objs;
}

describe.skipIf(!kubectl)("kubectl kustomize deploy/k8s-http", () => {
  it("the series' HTTP/1.1 edition: linkerd.yml's http routers, the apps in HTTP mode through http_proxy", () => {
    const objs = kustomized("k8s-http");
    expect(objs).toHaveLength(10);
    const { config, api } = embeddedConfig(objs);
    expect(config).toEqual(seriesConfig("linkerd-http.yaml"));
    expect(config.routers.map((x: Json) => x.protocol)).toEqual(["http", "http"]);
    expect(api).toEqual({ namer: { inCluster: true }, daemonset: { inCluster: true } });
    const hello = container(find(objs, "Deployment", "hello"), "service");
    expect(hello.args).toEqual(["-addr=:7777", "-text=Hello", "-target=world"]);
    expect(hello.env).toContainEqual({ name: "http_proxy", value: "$(NODE_NAME):4140" });
    // $(NODE_NAME) expands only from a variable defined before it
    const names = hello.env.map((e: Json) => e.name);
    expect(names.indexOf("NODE_NAME")).toBeLessThan(names.indexOf("http_proxy"));
    expect(container(find(objs, "Deployment", "world-v1"), "service").args).toEqual([
      "-addr=:7778",
    ]);
    for (const svc of ["hello", "world-v1"])
      expect(find(objs, "Service", svc).spec.ports[0].name).toBe("http");
  });
});

describe.skipIf(!kubectl)("kubectl kustomize deploy/k8s-tls", () => {
  it("the series' TLS edition: linkerd-tls.yml's config, the certificates Secret mounted where it reads them", () => {
    const objs = kustomized("k8s-tls");
    expect(objs).toHaveLength(10);
    const { config, api } = embeddedConfig(objs);
    expect(config).toEqual(seriesConfig("linkerd-tls.yaml"));
    expect(api).toEqual({ namer: { inCluster: true }, daemonset: { inCluster: true } });
    expect(config.routers[0].client.tls).toEqual({
      commonName: "linkerd",
      trustCerts: ["/io.buoyant/linkerd/certs/cacertificate.pem"],
    });
    expect(config.routers[1].servers[0].tls).toEqual({
      certPath: "/io.buoyant/linkerd/certs/certificate.pem",
      keyPath: "/io.buoyant/linkerd/certs/key.pk8",
    });
    const ds = find(objs, "DaemonSet", "l5d");
    expect(ds.spec.template.spec.volumes).toContainEqual({
      name: "certificates",
      secret: { secretName: "certificates" },
    });
    expect(container(ds, "l5d").volumeMounts).toContainEqual({
      name: "certificates",
      mountPath: "/io.buoyant/linkerd/certs",
      readOnly: true,
    });
    // the apps are the HTTP edition's
    expect(container(find(objs, "Deployment", "hello"), "service").args).toEqual([
      "-addr=:7777",
      "-text=Hello",
      "-target=world",
    ]);
  });
});

describe.skipIf(!kubectl)("kubectl kustomize deploy/k8s-namerd", () => {
  const NAMERD_DST = "/$/inet/namerd.default.svc.cluster.local/4321";
  let objs: K8sObject[] = [];
  const rendered = () => {
    if (objs.length === 0) objs = kustomized("k8s-namerd");
    return objs;
  };

  it("the tutorial's objects plus namerd's (Deployment, ClusterIP Service, ConfigMap, ServiceAccount, RBAC, the dtabs.l5d.io CRD, the tutorial's dtab), every one valid", () => {
    expect(
      rendered()
        .map((o) => `${o.kind}/${o.metadata.name}`)
        .sort(),
    ).toEqual(
      [
        "ClusterRole/l5d-endpoints-reader",
        "ClusterRole/namerd-endpoints-reader",
        "ClusterRoleBinding/l5d-endpoints-reader",
        "ClusterRoleBinding/namerd-endpoints-reader",
        "ConfigMap/l5d-config",
        "ConfigMap/namerd-config",
        "CustomResourceDefinition/dtabs.l5d.io",
        `${find(rendered(), "CustomResourceDefinition", "dtabs.l5d.io").spec.names.kind}/default`,
        "DaemonSet/l5d",
        "Deployment/hello",
        "Deployment/namerd",
        "Deployment/world-v1",
        "Role/namerd-dtabs",
        "RoleBinding/namerd-dtabs",
        "Service/hello",
        "Service/l5d",
        "Service/namerd",
        "Service/world-v1",
        "ServiceAccount/l5d",
        "ServiceAccount/namerd",
      ].sort(),
    );
  });

  it("namerd: one non-root pod with the kubectl-proxy sidecar, its config mounted where the image reads it; the ClusterIP Service's ports are the pod's", () => {
    const d = find(rendered(), "Deployment", "namerd");
    expect(d.spec.selector.matchLabels).toEqual({ app: "namerd" });
    expect(d.spec.template.metadata.labels.app).toBe("namerd");
    const pod = d.spec.template.spec;
    expect(pod.serviceAccountName).toBe("namerd");
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(pod.containers.map((c: Json) => c.name)).toEqual(["namerd", "kubectl"]);
    const c = container(d, "namerd");
    expect(c.image).toBe("l5d-ts/namerd:0.1.0");
    expect(c.args).toEqual(["/io.buoyant/namerd/config/config.yaml"]);
    expect(c.ports).toEqual([
      { name: "http", containerPort: 4180 },
      { name: "mesh", containerPort: 4321 },
      { name: "admin", containerPort: 9991 },
    ]);
    expect(c.volumeMounts).toEqual([
      { name: "namerd-config", mountPath: "/io.buoyant/namerd/config", readOnly: true },
    ]);
    expect(pod.volumes).toEqual([{ name: "namerd-config", configMap: { name: "namerd-config" } }]);
    expect(c.readinessProbe.httpGet).toEqual({ path: "/admin/ping", port: "admin" });
    expect(container(d, "kubectl").args).toEqual(["proxy", "-p", "8001"]);
    const svc = find(rendered(), "Service", "namerd");
    expect(svc.spec.type).toBe("ClusterIP");
    expect(svc.spec.selector).toEqual({ app: "namerd" });
    expect(svc.spec.ports).toEqual([
      { name: "http", port: 4180 },
      { name: "mesh", port: 4321 },
      { name: "admin", port: 9991 },
    ]);
  });

  it("namerd's config: io.l5d.k8s storage (dtabs in `default`) and namer through the sidecar, the HTTP and mesh interfaces on the pod's ports", () => {
    const cm = find(rendered(), "ConfigMap", "namerd-config");
    expect(Object.keys(cm.data)).toEqual(["config.yaml"]);
    const config = parse(cm.data["config.yaml"], { uniqueKeys: true });
    expect(config).toEqual({
      admin: { ip: "0.0.0.0", port: 9991 },
      storage: {
        kind: "io.l5d.k8s",
        experimental: true,
        host: "localhost",
        port: 8001,
        namespace: "default",
      },
      namers: [{ kind: "io.l5d.k8s", experimental: true, host: "localhost", port: 8001 }],
      interfaces: [
        { kind: "io.l5d.httpController", ip: "0.0.0.0", port: 4180 },
        { kind: "io.l5d.mesh", ip: "0.0.0.0", port: 4321 },
      ],
    });
  });

  it("l5d's config: the tutorial's routers and transformers, binding through namerd's mesh API (io.l5d.mesh, namespace /default) instead of a dtab and a namer of their own", () => {
    const cm = find(rendered(), "ConfigMap", "l5d-config");
    const config = parse(cm.data["config.yaml"], { uniqueKeys: true });
    const expected = structuredClone(TUTORIAL_CONFIG);
    delete expected.namers;
    for (const r of expected.routers) {
      delete r.dtab;
      r.interpreter = {
        kind: "io.l5d.mesh",
        experimental: true,
        dst: NAMERD_DST,
        root: "/default",
        transformers: r.interpreter.transformers,
      };
    }
    expected.routers[0].interpreter.transformers[0].inCluster = true;
    expect(config).toEqual(expected);
    // the dst names namerd's Service and its mesh port
    const svc = find(rendered(), "Service", "namerd");
    expect(NAMERD_DST).toBe(
      `/$/inet/${svc.metadata.name}.default.svc.cluster.local/${svc.spec.ports.find((p: Json) => p.name === "mesh").port}`,
    );
  });

  it("the DTab object: the tutorial's dtab as namerd's `default` namespace, of the kind the CRD serves", () => {
    const crd = find(rendered(), "CustomResourceDefinition", "dtabs.l5d.io");
    expect(crd.spec.group).toBe("l5d.io");
    expect(crd.spec.scope).toBe("Namespaced");
    expect(crd.spec.names.plural).toBe("dtabs");
    const dtab = find(rendered(), crd.spec.names.kind, "default");
    expect(dtab.metadata.namespace).toBe("default");
    expect(dtab.dentries.map((d: Json) => `${d.prefix}=>${d.dst}`)).toEqual(TUTORIAL_DTAB);
  });

  it("RBAC: namerd reads endpoints, services, pods and endpointslices cluster-wide, and manages dtabs.l5d.io in `default` only", () => {
    const sa = find(rendered(), "ServiceAccount", "namerd");
    expect(sa.metadata.namespace).toBe("default");
    const subjects = [{ kind: "ServiceAccount", name: "namerd", namespace: "default" }];
    expect(find(rendered(), "ClusterRole", "namerd-endpoints-reader").rules).toEqual([
      {
        apiGroups: [""],
        resources: ["endpoints", "services", "pods"],
        verbs: ["get", "list", "watch"],
      },
      {
        apiGroups: ["discovery.k8s.io"],
        resources: ["endpointslices"],
        verbs: ["get", "list", "watch"],
      },
    ]);
    const crb = find(rendered(), "ClusterRoleBinding", "namerd-endpoints-reader");
    expect(crb.roleRef).toEqual({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "namerd-endpoints-reader",
    });
    expect(crb.subjects).toEqual(subjects);
    const role = find(rendered(), "Role", "namerd-dtabs");
    expect(role.metadata.namespace).toBe("default");
    expect(role.rules).toEqual([
      {
        apiGroups: ["l5d.io"],
        resources: ["dtabs"],
        verbs: ["get", "list", "watch", "create", "update", "delete"],
      },
    ]);
    const rb = find(rendered(), "RoleBinding", "namerd-dtabs");
    expect(rb.roleRef).toEqual({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "namerd-dtabs",
    });
    expect(rb.subjects).toEqual(subjects);
  });

  it("the validator checks custom objects against their CRD: no CRD, an unknown field, a wrong type, a pattern, a missing field", () => {
    const crd = find(rendered(), "CustomResourceDefinition", "dtabs.l5d.io");
    const dtab = find(rendered(), crd.spec.names.kind, "default");
    expect(validateK8sObject(dtab, [crd])).toEqual([]);
    expect(validateK8sObject(dtab)[0]?.message).toMatch(/is not a kind these manifests may use/);
    const unknown = structuredClone(dtab);
    unknown.dtab = "/srv => /#/io.l5d.k8s/default/grpc";
    expect(validateK8sObject(unknown, [crd]).map((i) => i.path)).toContain("dtab");
    const wrongType = structuredClone(dtab);
    wrongType.dentries[0].prefix = 7;
    expect(validateK8sObject(wrongType, [crd]).map((i) => i.path)).toContain("dentries[0].prefix");
    const relative = structuredClone(dtab);
    relative.dentries[0].prefix = "srv";
    expect(validateK8sObject(relative, [crd]).map((i) => i.path)).toContain("dentries[0].prefix");
    const noDst = structuredClone(dtab);
    delete noDst.dentries[0].dst;
    expect(validateK8sObject(noDst, [crd]).map((i) => i.path)).toContain("dentries[0].dst");
    const badMeta = structuredClone(dtab);
    badMeta.metadata.nmae = "x";
    expect(validateK8sObject(badMeta, [crd]).map((i) => i.path)).toContain("metadata.nmae");
  });
});
