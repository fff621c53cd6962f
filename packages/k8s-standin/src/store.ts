/**
 * The object store: objects by kind/namespace/name, one global monotonically increasing
 * resourceVersion (as etcd's revision), and a bounded history of changes that watches resume
 * from. A watch from a version older than the history answers 410 Gone.
 */
import { randomUUID } from "node:crypto";
import { type KindInfo, kindInfo } from "./kinds.js";
import type { ChangeEvent, K8sObject } from "./types.js";

/** Thrown for objects the store cannot hold (unknown kind, missing name). */
export class StandinObjectError extends Error {
  override readonly name = "StandinObjectError";
}

export interface StoreOptions {
  /** How many changes are kept for watch resumption (default 1000). */
  readonly historyLimit?: number;
  /** The first resourceVersion handed out (default 1000). */
  readonly initialResourceVersion?: number;
}

export type ChangeListener = (ev: ChangeEvent) => void;

function key(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ""}/${name}`;
}

export class ObjectStore {
  #rv: number;
  /** Watches from a version below this are too old (410). */
  #oldestValid: number;
  readonly #objects = new Map<string, K8sObject>();
  #history: ChangeEvent[] = [];
  readonly #historyLimit: number;
  readonly #listeners = new Set<ChangeListener>();

  constructor(opts: StoreOptions = {}) {
    this.#rv = opts.initialResourceVersion ?? 1000;
    this.#oldestValid = this.#rv;
    this.#historyLimit = opts.historyLimit ?? 1000;
  }

  /** The current (latest) resourceVersion. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** The oldest resourceVersion a watch may still resume from. */
  get oldestResumable(): number {
    return this.#oldestValid;
  }

  /** Creates or replaces an object; returns the stored copy (with resourceVersion, uid). */
  apply(input: K8sObject): K8sObject {
    const info = this.#info(input.kind);
    const name = input.metadata?.name;
    if (!name) throw new StandinObjectError(`${info.kind} without metadata.name`);
    const namespace = info.namespaced ? (input.metadata.namespace ?? "default") : undefined;
    const k = key(info.kind, namespace, name);
    const previous = this.#objects.get(k);
    const rv = ++this.#rv;
    const obj: K8sObject = structuredClone(input);
    obj.apiVersion = info.apiVersion;
    obj.kind = info.kind;
    obj.metadata = {
      ...obj.metadata,
      name,
      uid: previous?.metadata.uid ?? obj.metadata.uid ?? randomUUID(),
      resourceVersion: String(rv),
      creationTimestamp:
        previous?.metadata.creationTimestamp ??
        obj.metadata.creationTimestamp ??
        new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    };
    if (namespace !== undefined) obj.metadata.namespace = namespace;
    else delete obj.metadata.namespace;
    this.#objects.set(k, obj);
    this.#record({
      rv,
      kind: info.kind,
      namespace,
      type: previous ? "MODIFIED" : "ADDED",
      object: obj,
      previous,
    });
    return obj;
  }

  /** Deletes an object; returns it (with the deletion's resourceVersion), or undefined. */
  delete(kind: string, namespace: string | undefined, name: string): K8sObject | undefined {
    const info = this.#info(kind);
    const ns = info.namespaced ? (namespace ?? "default") : undefined;
    const k = key(info.kind, ns, name);
    const previous = this.#objects.get(k);
    if (!previous) return undefined;
    this.#objects.delete(k);
    const rv = ++this.#rv;
    const obj: K8sObject = {
      ...previous,
      metadata: { ...previous.metadata, resourceVersion: String(rv) },
    };
    this.#record({ rv, kind: info.kind, namespace: ns, type: "DELETED", object: obj, previous });
    return obj;
  }

  get(kind: string, namespace: string | undefined, name: string): K8sObject | undefined {
    const info = this.#info(kind);
    return this.#objects.get(
      key(info.kind, info.namespaced ? (namespace ?? "default") : undefined, name),
    );
  }

  /** Objects of a kind, in one namespace or all, sorted by namespace then name. */
  list(kind: string, namespace?: string): K8sObject[] {
    const info = this.#info(kind);
    const prefix = namespace === undefined ? `${info.kind}/` : `${info.kind}/${namespace}/`;
    return [...this.#objects.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => o);
  }

  /** Changes after `rv` of a kind (and namespace), or "gone" if the history no longer has them. */
  changesSince(rv: number, kind: string, namespace?: string): ChangeEvent[] | "gone" {
    if (rv < this.#oldestValid) return "gone";
    const info = this.#info(kind);
    return this.#history.filter(
      (e) =>
        e.rv > rv && e.kind === info.kind && (namespace === undefined || e.namespace === namespace),
    );
  }

  /** Forgets the whole history: every version before now (and now) becomes too old. */
  compact(): void {
    this.#rv++;
    this.#history = [];
    this.#oldestValid = this.#rv;
  }

  /** Calls `f` for every change, after it is stored. Returns the unsubscribe function. */
  subscribe(f: ChangeListener): () => void {
    this.#listeners.add(f);
    return () => this.#listeners.delete(f);
  }

  #record(ev: ChangeEvent): void {
    this.#history.push(ev);
    if (this.#history.length > this.#historyLimit) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historyLimit);
      const last = dropped[dropped.length - 1];
      if (last) this.#oldestValid = Math.max(this.#oldestValid, last.rv);
    }
    for (const f of [...this.#listeners]) f(ev);
  }

  #info(kind: string | undefined): KindInfo {
    const info = kind ? kindInfo(kind) : undefined;
    if (!info) throw new StandinObjectError(`unsupported kind '${kind ?? ""}'`);
    return info;
  }
}
