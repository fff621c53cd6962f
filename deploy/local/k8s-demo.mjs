// The tutorial's Kubernetes picture without a cluster: the Linkerd config of
// deploy/examples/linkerd-grpc.yaml with only the edits one machine (or a test's network
// namespaces) forces, and the objects that the tutorial's manifests (hello-world-grpc.yml,
// linkerd-grpc.yml) make a cluster create: Services, Pods with IPs and nodeName. The API-server
// stand-in (@l5d/k8s-standin) derives the Endpoints from them, as the endpoints controller would.
// Used by `pnpm dev` (scripts/dev.mjs, on loopback) and by packages/e2e-k8s (network namespaces).
//
//   client → A:4140 outgoing ─daemonset→ A:4141 incoming ─localnode→ hello (A)
//   hello → A:4140 outgoing ─daemonset→ B:4141 incoming ─localnode→ world-v1 (B)
import { readFileSync } from "node:fs";

/** The tutorial's Linkerd config, byte for byte (see its header comment). */
/** The series' HTTP/1.1 edition's config (k8s-daemonset/k8s/linkerd.yml): `protocol: http`. */
export const HTTP_CONFIG_PATH = new URL("../examples/linkerd-http.yaml", import.meta.url).pathname;

/** The series' TLS edition's config (k8s-daemonset/k8s/linkerd-tls.yml): http routers, TLS between nodes. */
export const TLS_CONFIG_PATH = new URL("../examples/linkerd-tls.yaml", import.meta.url).pathname;

/** Where linkerd-tls.yml mounts its certificates Secret. */
export const TLS_CERTS_DIR = "/io.buoyant/linkerd/certs";

export const TUTORIAL_CONFIG_PATH = new URL("../examples/linkerd-grpc.yaml", import.meta.url)
  .pathname;

/** Where `kubectl proxy -p 8001` (the l5d pod's sidecar) serves the API; the stand-in listens here in dev. */
export const DEV_API = { host: "127.0.0.1", port: 8001 };

/**
 * The loopback "cluster" of `pnpm dev`: each node owns a /24 of 127.0.0.0/8 (the /24 rule of the
 * daemonset and localnode transformers). A node's IP is its l5d pod's IP (l5d binds it, standing
 * in for `hostPort: 4140`), app pods get .10 and up.
 */
export const DEV_NODES = [
  { name: "node-a", ip: "127.0.1.1", l5dIp: "127.0.1.1" },
  { name: "node-b", ip: "127.0.2.1", l5dIp: "127.0.2.1" },
];

/** The demo's app pods in `pnpm dev`: one hello on node A, one world-v1 on node B. */
export const DEV_PODS = {
  hello: [{ name: "hello-7xk2p", ip: "127.0.1.10", node: "node-a" }],
  worldV1: [{ name: "world-v1-9qz4m", ip: "127.0.2.10", node: "node-b" }],
  worldV2: [],
};

/** The tutorial's ports: l5d outgoing/incoming/admin, hello and world containers. */
export const PORTS = { outgoing: 4140, incoming: 4141, admin: 9990, hello: 7777, world: 7778 };

class TutorialConfigShapeError extends Error {
  constructor(what) {
    super(
      `deploy/examples/linkerd-grpc.yaml no longer has the expected ${what}; update deploy/local/k8s-demo.mjs`,
    );
    this.name = "TutorialConfigShapeError";
  }
}

function replaceExactly(text, from, to, count, what) {
  const parts = text.split(from);
  if (parts.length - 1 !== count) throw new TutorialConfigShapeError(what);
  return parts.join(to);
}

/**
 * The lines that {@link tutorialConfig} changes, for printing and docs.
 * @param {{ api?: { host: string, port: number }, serverIp?: string, adminIp?: string }} opts
 */
export function tutorialConfigChanges(opts = {}) {
  const out = [];
  if (opts.adminIp !== undefined)
    out.push(`admin.ip: ${opts.adminIp}   (added; the tutorial's HEAD has ip: 0.0.0.0)`);
  if (opts.api !== undefined) {
    out.push(
      `namers[0] (io.l5d.k8s) host: ${opts.api.host}, port: ${opts.api.port}   (was localhost:8001)`,
    );
    out.push(
      `routers[0] io.l5d.k8s.daemonset k8sHost: ${opts.api.host}, k8sPort: ${opts.api.port}   (added; default localhost:8001)`,
    );
  }
  if (opts.serverIp !== undefined)
    out.push(`routers[*].servers[0].ip: ${opts.serverIp}   (was 0.0.0.0)`);
  return out;
}

/**
 * The tutorial's config text with only the given edits applied (everything else byte for byte):
 * - `api`: where the API is reached (the `io.l5d.k8s` namer's `host`/`port`, the daemonset
 *   transformer's `k8sHost`/`k8sPort`). Omitted: `localhost:8001`, the kubectl sidecar.
 * - `serverIp`: the `ip` of both routers' servers (omitted: `0.0.0.0`).
 * - `adminIp`: adds `admin.ip` (omitted: l5d's default, loopback).
 * - `edition`: `"grpc"` (the default: deploy/examples/linkerd-grpc.yaml), `"http"` (the
 *   series' HTTP/1.1 edition, deploy/examples/linkerd-http.yaml) or `"tls"` (its TLS edition,
 *   deploy/examples/linkerd-tls.yaml).
 * - `certsDir`: where the TLS edition's certificate files are (instead of /io.buoyant/linkerd/certs).
 * Throws `TutorialConfigShapeError` when the tutorial file no longer has the edited lines.
 * @param {{ api?: { host: string, port: number }, serverIp?: string, adminIp?: string, edition?: "grpc" | "http" | "tls", certsDir?: string }} opts
 * @returns {string}
 */
export function tutorialConfig(opts = {}) {
  const http = opts.edition === "http" || opts.edition === "tls";
  let text = readFileSync(
    opts.edition === "tls" ? TLS_CONFIG_PATH : http ? HTTP_CONFIG_PATH : TUTORIAL_CONFIG_PATH,
    "utf8",
  );
  if (opts.certsDir !== undefined) {
    // the TLS edition's certificates, from where the Secret would be mounted to `certsDir`
    text = replaceExactly(text, `${TLS_CERTS_DIR}/`, `${opts.certsDir}/`, 3, "certificate paths");
  }
  if (opts.adminIp !== undefined) {
    // the HTTP edition (the series' HEAD) already has `ip: 0.0.0.0`
    text = replaceExactly(
      text,
      http ? "admin:\n  ip: 0.0.0.0\n  port: 9990\n" : "admin:\n  port: 9990\n",
      `admin:\n  ip: ${opts.adminIp}\n  port: 9990\n`,
      1,
      "admin block",
    );
  }
  if (opts.api !== undefined) {
    text = replaceExactly(
      text,
      "  host: localhost\n  port: 8001\n",
      `  host: ${opts.api.host}\n  port: ${opts.api.port}\n`,
      1,
      "io.l5d.k8s namer host/port",
    );
    text = replaceExactly(
      text,
      "      service: l5d\n",
      `      service: l5d\n      k8sHost: ${opts.api.host}\n      k8sPort: ${opts.api.port}\n`,
      1,
      "io.l5d.k8s.daemonset transformer",
    );
  }
  if (opts.serverIp !== undefined) {
    text = replaceExactly(
      text,
      "    ip: 0.0.0.0\n",
      `    ip: ${opts.serverIp}\n`,
      2,
      "servers' ip: 0.0.0.0",
    );
  }
  return text;
}

function headlessService(name, port, portName = "grpc") {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
    spec: {
      selector: { app: name },
      clusterIP: "None",
      ports: [{ name: portName, port, protocol: "TCP" }],
    },
  };
}

function runningPod({ name, app, ip, nodeName, hostIP, containers }) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app } },
    spec: { nodeName, containers },
    status: {
      phase: "Running",
      hostIP,
      podIP: ip,
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

/**
 * One app pod of hello-world-grpc.yml (a ReplicationController's pod): label `app`, container
 * `service` with its port named `service`.
 * @param {{ name: string, app: string, ip: string, node: { name: string, ip: string }, port: number }} p
 */
export function appPod(p) {
  return runningPod({
    name: p.name,
    app: p.app,
    ip: p.ip,
    nodeName: p.node.name,
    hostIP: p.node.ip,
    containers: [
      { name: "service", ports: [{ name: "service", containerPort: p.port, protocol: "TCP" }] },
    ],
  });
}

/** The l5d DaemonSet's pod on `node` (containers l5d and the kubectl sidecar). */
export function l5dPod(node) {
  return runningPod({
    name: `l5d-${node.name}`,
    app: "l5d",
    ip: node.l5dIp,
    nodeName: node.name,
    hostIP: node.ip,
    containers: [
      {
        name: "l5d",
        ports: [
          {
            name: "outgoing",
            containerPort: PORTS.outgoing,
            hostPort: PORTS.outgoing,
            protocol: "TCP",
          },
          { name: "incoming", containerPort: PORTS.incoming, protocol: "TCP" },
          { name: "admin", containerPort: PORTS.admin, protocol: "TCP" },
        ],
      },
      { name: "kubectl", ports: [] },
    ],
  });
}

/** Service `world-v2` (gRPC edition of world-v2.yml: headless, port `grpc` 7778). */
export const worldV2Service = () => headlessService("world-v2", PORTS.world);

/**
 * The objects the tutorial's manifests make a cluster create (namespace `default`): Services
 * `hello`, `world-v1` (headless, port `grpc`) and `l5d` (LoadBalancer; outgoing, incoming,
 * admin), one l5d pod per node, the app pods; with world-v2 pods also Service `world-v2`.
 * Endpoints are left to the stand-in's endpoints controller.
 * `edition: "http"`: the HTTP/1.1 edition's objects (hello-world.yml: ports named `http`).
 * @param {{ edition?: "grpc" | "http", nodes: { name: string, ip: string, l5dIp: string }[], pods: { hello: { name: string, ip: string, node: string }[], worldV1: { name: string, ip: string, node: string }[], worldV2?: { name: string, ip: string, node: string }[] } }} t
 */
export function tutorialObjects({ nodes, pods, edition = "grpc" }) {
  // the HTTP editions' Services (hello-world.yml) name their port `http`
  const portName = edition === "grpc" ? "grpc" : "http";
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const node = (name) => {
    const n = nodeByName.get(name);
    if (n === undefined) throw new Error(`pod on unknown node ${name}`);
    return n;
  };
  const apps = [
    ["hello", PORTS.hello, pods.hello],
    ["world-v1", PORTS.world, pods.worldV1],
    ["world-v2", PORTS.world, pods.worldV2 ?? []],
  ];
  return [
    headlessService("hello", PORTS.hello, portName),
    headlessService("world-v1", PORTS.world, portName),
    ...((pods.worldV2 ?? []).length > 0
      ? [headlessService("world-v2", PORTS.world, portName)]
      : []),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "l5d", namespace: "default" },
      spec: {
        selector: { app: "l5d" },
        type: "LoadBalancer",
        ports: [
          { name: "outgoing", port: PORTS.outgoing, targetPort: PORTS.outgoing, protocol: "TCP" },
          { name: "incoming", port: PORTS.incoming, targetPort: PORTS.incoming, protocol: "TCP" },
          { name: "admin", port: PORTS.admin, targetPort: PORTS.admin, protocol: "TCP" },
        ],
      },
    },
    ...nodes.map(l5dPod),
    ...apps.flatMap(([app, port, list]) =>
      list.map((p) => appPod({ name: p.name, app, ip: p.ip, node: node(p.node), port })),
    ),
  ];
}

/** A `kind: List` (JSON is YAML) for `k8s-standin --fixtures`. */
export function fixturesText(objects) {
  return `${JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 2)}\n`;
}
