/** Plain JSON Kubernetes objects, as stored and served by the stand-in. */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

/** A stored change, kept in the bounded history that watches resume from. */
export interface ChangeEvent {
  readonly rv: number;
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly type: "ADDED" | "MODIFIED" | "DELETED";
  readonly object: K8sObject;
  /** The object before a MODIFIED change (to turn label-selector exits into DELETED). */
  readonly previous: K8sObject | undefined;
}
