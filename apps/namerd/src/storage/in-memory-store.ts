/**
 * `io.l5d.inMemory`: dtabs kept in this process (Linkerd's InMemoryDtabStore), seeded from the
 * config's `namespaces:`. Versions are a per-namespace counter. Not for production: a restart
 * forgets every change.
 */
import { Activity, type ActivityState, DerivedVar, type Dtab, VarCell } from "@l5d/dtab";
import {
  DtabNamespaceAlreadyExistsError,
  DtabNamespaceDoesNotExistError,
  type DtabStore,
  DtabVersionMismatchError,
  type VersionedDtab,
} from "./dtab-store.js";

export class InMemoryDtabStore implements DtabStore {
  readonly #list = new VarCell<ActivityState<readonly string[]>>(Activity.ok([]));
  readonly #cells = new Map<string, VarCell<ActivityState<VersionedDtab | null>>>();
  #counter = 0;

  constructor(seed: Readonly<Record<string, Dtab>> = {}) {
    for (const [ns, dtab] of Object.entries(seed)) this.#set(ns, dtab);
  }

  list(): Activity<readonly string[]> {
    return this.#list;
  }

  /**
   * A namespace that does not exist gets a cell only while someone observes it, so asking
   * about arbitrary names (a bind on `/api/1/bind/<anything>`) never grows the store.
   */
  observe(ns: string): Activity<VersionedDtab | null> {
    const existing = this.#cells.get(ns);
    if (existing) return existing;
    return new DerivedVar<ActivityState<VersionedDtab | null>>((emit) => {
      const cell = this.#cell(ns);
      const sub = cell.observe(emit);
      return {
        close: () => {
          sub.close();
          const s = cell.sample();
          if (cell.observerCount === 0 && s.kind === "ok" && s.value === null)
            this.#cells.delete(ns);
        },
      };
    });
  }

  /** How many namespaces hold a cell (existing ones, and missing ones being observed). */
  get cellCount(): number {
    return this.#cells.size;
  }

  async create(ns: string, dtab: Dtab): Promise<void> {
    if (this.#current(ns) !== null) throw new DtabNamespaceAlreadyExistsError(ns);
    this.#set(ns, dtab);
  }

  async update(ns: string, dtab: Dtab, version: string): Promise<void> {
    const cur = this.#current(ns);
    if (cur === null) throw new DtabNamespaceDoesNotExistError(ns);
    if (cur.version !== version) throw new DtabVersionMismatchError(ns, version, cur.version);
    this.#set(ns, dtab);
  }

  async put(ns: string, dtab: Dtab): Promise<void> {
    this.#set(ns, dtab);
  }

  async delete(ns: string): Promise<void> {
    if (this.#current(ns) === null) throw new DtabNamespaceDoesNotExistError(ns);
    const cell = this.#cell(ns);
    cell.update(Activity.ok(null));
    if (cell.observerCount === 0) this.#cells.delete(ns);
    this.#publishList();
  }

  healthy(): boolean {
    return true;
  }

  #cell(ns: string): VarCell<ActivityState<VersionedDtab | null>> {
    let c = this.#cells.get(ns);
    if (c === undefined) {
      c = new VarCell<ActivityState<VersionedDtab | null>>(Activity.ok(null));
      this.#cells.set(ns, c);
    }
    return c;
  }

  #current(ns: string): VersionedDtab | null {
    const s = this.#cells.get(ns)?.sample();
    return s?.kind === "ok" ? s.value : null;
  }

  #set(ns: string, dtab: Dtab): void {
    this.#counter += 1;
    this.#cell(ns).update(Activity.ok({ dtab, version: String(this.#counter) }));
    this.#publishList();
  }

  #publishList(): void {
    const names = [...this.#cells.entries()]
      .filter(([, c]) => {
        const s = c.sample();
        return s.kind === "ok" && s.value !== null;
      })
      .map(([ns]) => ns)
      .sort();
    this.#list.update(Activity.ok(names));
  }
}
