// Types of k8s-demo.mjs (for the TypeScript tests in packages/e2e-k8s).

export interface ApiAddress {
  host: string;
  port: number;
}
export interface DemoNode {
  /** The node's name (pods' `spec.nodeName`). */
  name: string;
  /** The node's IP (pods' `status.hostIP`; `$NODE_NAME` resolves to it). */
  ip: string;
  /** The IP of the node's l5d DaemonSet pod (its POD_IP). */
  l5dIp: string;
}
export interface DemoPod {
  name: string;
  ip: string;
  /** The name of the node it runs on. */
  node: string;
}
export interface DemoPods {
  hello: DemoPod[];
  worldV1: DemoPod[];
  worldV2?: DemoPod[];
}
/** The tutorial's gRPC edition (linkerd-grpc.yml) or the series' HTTP/1.1 one (linkerd.yml). */
export type Edition = "grpc" | "http" | "tls";
export interface TutorialConfigOptions {
  api?: ApiAddress;
  serverIp?: string;
  adminIp?: string;
  edition?: Edition;
  certsDir?: string;
}
export type K8sObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

export const TUTORIAL_CONFIG_PATH: string;
export const HTTP_CONFIG_PATH: string;
export const TLS_CONFIG_PATH: string;
export const TLS_CERTS_DIR: string;
export const DEV_API: ApiAddress;
export const DEV_NODES: DemoNode[];
export const DEV_PODS: DemoPods;
export const PORTS: {
  outgoing: number;
  incoming: number;
  admin: number;
  hello: number;
  world: number;
};
export function tutorialConfigChanges(opts?: TutorialConfigOptions): string[];
export function tutorialConfig(opts?: TutorialConfigOptions): string;
export function appPod(p: {
  name: string;
  app: string;
  ip: string;
  node: { name: string; ip: string };
  port: number;
}): K8sObject;
export function l5dPod(node: DemoNode): K8sObject;
export function worldV2Service(): K8sObject;
export function tutorialObjects(t: {
  nodes: DemoNode[];
  pods: DemoPods;
  edition?: Edition;
}): K8sObject[];
export function fixturesText(objects: K8sObject[]): string;
