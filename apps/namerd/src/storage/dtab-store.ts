/**
 * The dtab store: where namerd keeps one dtab per namespace (Linkerd's `DtabStore`). Every
 * storage kind (`io.l5d.inMemory`, `io.l5d.etcd`, `io.l5d.k8s`) implements this interface;
 * the interfaces (HTTP controller, mesh API) and the per-namespace interpreters only see it.
 *
 * Versions are opaque strings chosen by the store (a counter in memory, etcd's mod revision,
 * the Kubernetes resourceVersion); the HTTP controller sends them as the `ETag` and checks
 * them against `If-Match`.
 */
import type { Activity, Dtab } from "@l5d/dtab";

/** A namespace's dtab and the version it was stored at. */
export interface VersionedDtab {
  readonly dtab: Dtab;
  readonly version: string;
}

/** Namespace names: what may follow `/api/1/dtabs/` (Linkerd restricts nothing; we forbid `/`). */
export const NAMESPACE_RE = /^[A-Za-z0-9_.-]+$/;

export interface DtabStore {
  /** The namespaces that exist, sorted, updated as they are created and deleted. */
  list(): Activity<readonly string[]>;
  /**
   * One namespace's dtab: `null` while it does not exist, updated on every change. Pending
   * until the store has read it once; failed while the store cannot be read and has no copy.
   */
  observe(ns: string): Activity<VersionedDtab | null>;
  /** Creates `ns`; rejects with DtabNamespaceAlreadyExistsError if it exists. */
  create(ns: string, dtab: Dtab): Promise<void>;
  /**
   * Replaces the dtab of `ns` if its current version is `version`; rejects with
   * DtabVersionMismatchError if not, DtabNamespaceDoesNotExistError if it is missing.
   */
  update(ns: string, dtab: Dtab, version: string): Promise<void>;
  /** Creates or replaces the dtab of `ns` unconditionally. */
  put(ns: string, dtab: Dtab): Promise<void>;
  /** Deletes `ns`; rejects with DtabNamespaceDoesNotExistError if it is missing. */
  delete(ns: string): Promise<void>;
  /** Whether the backing store is reachable (namerd's admin health). */
  healthy?(): boolean;
  /** Stops watches and closes connections. */
  close?(): Promise<void>;
}

export class DtabNamespaceAlreadyExistsError extends Error {
  constructor(readonly ns: string) {
    super(`dtab namespace '${ns}' already exists`);
    this.name = "DtabNamespaceAlreadyExistsError";
  }
}

export class DtabNamespaceDoesNotExistError extends Error {
  constructor(readonly ns: string) {
    super(`dtab namespace '${ns}' does not exist`);
    this.name = "DtabNamespaceDoesNotExistError";
  }
}

export class DtabVersionMismatchError extends Error {
  constructor(
    readonly ns: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`dtab namespace '${ns}' is at version ${actual}, not ${expected}`);
    this.name = "DtabVersionMismatchError";
  }
}

/** A namespace name the store cannot hold (e.g. not a Kubernetes object name): the API's 400. */
export class DtabNamespaceInvalidError extends Error {
  constructor(
    readonly ns: string,
    reason: string,
  ) {
    super(`dtab namespace '${ns}' ${reason}`);
    this.name = "DtabNamespaceInvalidError";
  }
}

/** A store that cannot be reached (etcd down, API server refused): the HTTP controller's 503. */
export class DtabStoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DtabStoreUnavailableError";
  }
}
