/** Small builders for the objects tests and fixtures create (Services, Pods, Endpoints). */
import type { K8sObject } from "./types.js";

export interface ServicePortSpec {
  readonly name?: string;
  readonly port: number;
  /** Defaults to `port`; a string names a container port. */
  readonly targetPort?: number | string;
  readonly protocol?: "TCP" | "UDP" | "SCTP";
}

export interface ServiceSpec {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  /** Pod selector; a Service without one gets no derived Endpoints. */
  readonly selector?: Record<string, string>;
  readonly ports: readonly ServicePortSpec[];
  /** `None` for a headless Service (the tutorial's hello and world-v1). */
  readonly clusterIP?: string;
}

export function service(s: ServiceSpec): K8sObject {
  const spec: Record<string, unknown> = { ports: s.ports.map((p) => ({ protocol: "TCP", ...p })) };
  if (s.selector) spec.selector = { ...s.selector };
  if (s.clusterIP) spec.clusterIP = s.clusterIP;
  const metadata: K8sObject["metadata"] = { name: s.name, namespace: s.namespace ?? "default" };
  if (s.labels) metadata.labels = { ...s.labels };
  return { apiVersion: "v1", kind: "Service", metadata, spec };
}

export interface PodSpec {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  /** The pod IP; a pod without one is not an endpoint yet. */
  readonly ip?: string;
  readonly nodeName?: string;
  /** Ready condition (default true). */
  readonly ready?: boolean;
  readonly containerPorts?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly hostIP?: string;
}

export function pod(p: PodSpec): K8sObject {
  const ready = p.ready ?? true;
  const status: Record<string, unknown> = {
    phase: "Running",
    conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
  };
  if (p.ip) status.podIP = p.ip;
  if (p.hostIP) status.hostIP = p.hostIP;
  const spec: Record<string, unknown> = {
    containers: [
      { name: "service", ports: (p.containerPorts ?? []).map((c) => ({ protocol: "TCP", ...c })) },
    ],
  };
  if (p.nodeName) spec.nodeName = p.nodeName;
  const metadata: K8sObject["metadata"] = { name: p.name, namespace: p.namespace ?? "default" };
  if (p.labels) metadata.labels = { ...p.labels };
  return { apiVersion: "v1", kind: "Pod", metadata, spec, status };
}

export interface EndpointsSpec {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  readonly subsets: readonly {
    readonly addresses?: readonly { readonly ip: string; readonly nodeName?: string }[];
    readonly notReadyAddresses?: readonly { readonly ip: string; readonly nodeName?: string }[];
    readonly ports: readonly {
      readonly name?: string;
      readonly port: number;
      readonly protocol?: string;
    }[];
  }[];
}

/** A hand-written Endpoints object (for Services without a selector). */
export function endpoints(e: EndpointsSpec): K8sObject {
  const metadata: K8sObject["metadata"] = { name: e.name, namespace: e.namespace ?? "default" };
  if (e.labels) metadata.labels = { ...e.labels };
  return { apiVersion: "v1", kind: "Endpoints", metadata, subsets: structuredClone(e.subsets) };
}

export function namespace(name: string): K8sObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name }, status: { phase: "Active" } };
}
