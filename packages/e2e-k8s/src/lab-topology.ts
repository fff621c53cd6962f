/**
 * The network-namespace "cluster" of the three-hop test. Hosts (one namespace each, one bridge):
 *
 * | host | node IP (10.240.0.0/24) | pod range | l5d pod | app pods |
 * |---|---|---|---|---|
 * | ctl (API server + the user's machine) | 10.240.0.2 | – | – | – |
 * | node-a | 10.240.0.11 | 10.244.1.0/24 | 10.244.1.2 | hello 10.244.1.10 |
 * | node-b | 10.240.0.12 | 10.244.2.0/24 | 10.244.2.2 | world-v1 10.244.2.10 |
 * | node-c | 10.240.0.13 | 10.244.3.0/24 | 10.244.3.2 | world-v2 10.244.3.11 (+ world-v1 10.244.3.10 when scaled) |
 *
 * A node's namespace holds the node IP and its pods' IPs; l5d binds 0.0.0.0 there (the
 * tutorial's `ip: 0.0.0.0`), so `<node IP>:4140` reaches it as `hostPort: 4140` would.
 */
import type { DemoNode, DemoPod, DemoPods } from "../../../deploy/local/k8s-demo.mjs";
import type { LabHostSpec } from "./netns-lab.js";

/** The control-plane host: the API stand-in listens on its IP, port 8001. */
export const CTL = { host: "ctl", ip: "10.240.0.2", apiPort: 8001 } as const;

/** The nodes; `host` is the lab host (namespace) name. */
export const LAB_NODES: readonly (DemoNode & { host: string })[] = [
  { host: "a", name: "node-a", ip: "10.240.0.11", l5dIp: "10.244.1.2" },
  { host: "b", name: "node-b", ip: "10.240.0.12", l5dIp: "10.244.2.2" },
  { host: "c", name: "node-c", ip: "10.240.0.13", l5dIp: "10.244.3.2" },
];

/** The pods at the start. */
export const LAB_PODS: DemoPods & { worldV2: DemoPod[] } = {
  hello: [{ name: "hello-5kq8d", ip: "10.244.1.10", node: "node-a" }],
  worldV1: [{ name: "world-v1-r7v2x", ip: "10.244.2.10", node: "node-b" }],
  worldV2: [{ name: "world-v2-m3n9c", ip: "10.244.3.11", node: "node-c" }],
};

/** The world-v1 replica the test scales onto node C. */
export const SCALED_WORLD_V1: DemoPod = {
  name: "world-v1-t4w6p",
  ip: "10.244.3.10",
  node: "node-c",
};

/** The cluster's pod range, routed on-link over the bridge on every host. */
export const POD_RANGE = "10.244.0.0/16";

/** The node of a pod. */
export function nodeOf(pod: DemoPod): DemoNode & { host: string } {
  const n = LAB_NODES.find((x) => x.name === pod.node);
  if (n === undefined) throw new Error(`unknown node ${pod.node}`);
  return n;
}

/** The lab's hosts with their addresses (node IP first, then the l5d pod and app pods). */
export function labHosts(): LabHostSpec[] {
  const all = [...LAB_PODS.hello, ...LAB_PODS.worldV1, ...LAB_PODS.worldV2, SCALED_WORLD_V1];
  return [
    { name: CTL.host, addresses: [`${CTL.ip}/24`] },
    ...LAB_NODES.map((n) => ({
      name: n.host,
      addresses: [
        `${n.ip}/24`,
        `${n.l5dIp}/24`,
        ...all.filter((p) => p.node === n.name).map((p) => `${p.ip}/24`),
      ],
    })),
  ];
}
