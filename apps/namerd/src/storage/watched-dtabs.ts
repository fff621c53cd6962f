/**
 * WatchedDtabs: what a store that watches a remote backend (etcd, the Kubernetes API) knows of
 * its namespaces, and the Activities it serves from that copy. The store feeds it full reads
 * (`snapshot`), single changes from its watch or its own writes (`change`), and failures to read
 * (`failUnsynced`); this keeps the per-namespace cells and the sorted list in step.
 *
 * Until the first full read the observers see pending (or failed, while the backend cannot be
 * read); after it they see the last known copy, whatever happens to the backend. Each change
 * carries the backend's version of it (`R`), and an older change never overwrites a newer one,
 * so a late watch event cannot undo a write the store has already applied.
 */
import { Activity, type ActivityState, VarCell } from "@l5d/dtab";
import type { DtabStoreUnavailableError, VersionedDtab } from "./dtab-store.js";

/** What one namespace reads as: its dtab, `null` while it does not exist, pending or failed. */
export type NsState = ActivityState<VersionedDtab | null>;

/** The state of a namespace that does not exist (compared by identity). */
export const ABSENT: NsState = Activity.ok(null);

/** What the store knows of one namespace, including deleted ones (so late events can be ordered). */
export interface WatchedEntry<R, V> {
  /** The backend's version of the namespace's last change. */
  readonly rev: R;
  readonly state: NsState;
  /** The stored value as the backend had it; undefined once deleted. */
  readonly value: V | undefined;
}

export interface WatchedDtabsOptions<R, V> {
  /** Whether version `a` is later than version `b`. */
  newer(a: R, b: R): boolean;
  /** The state a stored value reads as (a failed state when it does not parse). */
  parse(ns: string, rev: R, value: V): NsState;
}

export class WatchedDtabs<R, V> {
  readonly #options: WatchedDtabsOptions<R, V>;
  readonly #entries = new Map<string, WatchedEntry<R, V>>();
  readonly #cells = new Map<string, VarCell<NsState>>();
  readonly #list = new VarCell<ActivityState<readonly string[]>>(Activity.pending);
  #synced = false;
  /** Set while the backend cannot be read and the store has never had a copy. */
  #unavailable: DtabStoreUnavailableError | undefined;

  constructor(options: WatchedDtabsOptions<R, V>) {
    this.#options = options;
  }

  /** Whether a full read has succeeded at least once (there is a copy to serve). */
  get synced(): boolean {
    return this.#synced;
  }

  /** The namespaces that exist, sorted. */
  list(): Activity<readonly string[]> {
    return this.#list;
  }

  observe(ns: string): Activity<VersionedDtab | null> {
    let c = this.#cells.get(ns);
    if (c === undefined) {
      c = new VarCell<NsState>(this.#stateOf(ns));
      this.#cells.set(ns, c);
    }
    return c;
  }

  entry(ns: string): WatchedEntry<R, V> | undefined {
    return this.#entries.get(ns);
  }

  entries(): IterableIterator<[string, WatchedEntry<R, V>]> {
    return this.#entries.entries();
  }

  /**
   * A full read at version `rev`: every item present, every other known namespace deleted by
   * then. Returns how many namespaces the read held.
   */
  snapshot(items: Iterable<readonly [ns: string, rev: R, value: V]>, rev: R): number {
    const seen = new Set<string>();
    for (const [ns, itemRev, value] of items) {
      seen.add(ns);
      this.#apply(ns, itemRev, value);
    }
    for (const [ns, e] of this.#entries) {
      // A namespace changed after `rev` (by our own write) is newer than this read.
      if (!seen.has(ns) && e.state !== ABSENT && !this.#options.newer(e.rev, rev))
        this.#entries.set(ns, { rev, state: ABSENT, value: undefined });
    }
    this.#synced = true;
    this.#unavailable = undefined;
    for (const [ns, c] of this.#cells) c.update(this.#stateOf(ns));
    this.#publishList();
    return seen.size;
  }

  /**
   * Changes from the watch or from the store's own successful writes (value undefined: deleted),
   * each applied unless a later one is known; the list is published once, after them.
   */
  change(...changes: readonly (readonly [ns: string, rev: R, value: V | undefined])[]): void {
    let changed = false;
    for (const [ns, rev, value] of changes) changed = this.#apply(ns, rev, value) || changed;
    if (changed && this.#synced) this.#publishList();
  }

  /** Records `ns` as deleted at `rev` even if that is the version already known (a delete of ours). */
  markDeleted(ns: string, rev: R): void {
    this.#entries.set(ns, { rev, state: ABSENT, value: undefined });
    if (this.#synced) {
      this.#cells.get(ns)?.update(ABSENT);
      this.#publishList();
    }
  }

  /** No copy to serve and the backend unreachable: observers see `error` instead of waiting. */
  failUnsynced(error: DtabStoreUnavailableError): void {
    this.#unavailable = error;
    const failed = Activity.failed(error);
    for (const c of this.#cells.values()) c.update(failed);
    this.#list.update(failed);
  }

  /** Records a change of `ns` at `rev` unless a later one is known; whether it was recorded. */
  #apply(ns: string, rev: R, value: V | undefined): boolean {
    const prev = this.#entries.get(ns);
    if (prev !== undefined && !this.#options.newer(rev, prev.rev)) return false;
    const state = value === undefined ? ABSENT : this.#options.parse(ns, rev, value);
    this.#entries.set(ns, { rev, state, value });
    if (this.#synced) this.#cells.get(ns)?.update(state);
    return true;
  }

  #stateOf(ns: string): NsState {
    if (this.#synced) return this.#entries.get(ns)?.state ?? ABSENT;
    if (this.#unavailable !== undefined) return Activity.failed(this.#unavailable);
    return Activity.pending;
  }

  #publishList(): void {
    const names = [...this.#entries]
      .filter(([, e]) => e.state !== ABSENT)
      .map(([ns]) => ns)
      .sort();
    const cur = this.#list.sample();
    if (
      cur.kind === "ok" &&
      cur.value.length === names.length &&
      cur.value.every((n, i) => n === names[i])
    )
      return;
    this.#list.update(Activity.ok(names));
  }
}
