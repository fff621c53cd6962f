/**
 * The binding cache (Linkerd's `bindingCache`): one live binding per (dtab, name). A binding
 * keeps observing its namers, so routing reads the current bound tree without waiting; it
 * is evicted after `idleTtlMs` without use, or when over capacity (least recently used first),
 * which releases the namers' watches.
 */
import type {
  ActivityState,
  Closable,
  Dtab,
  NameBound,
  NameInterpreter,
  NameTree,
  Path,
} from "@l5d/dtab";

interface Entry {
  readonly dtabShow: string;
  readonly nameShow: string;
  state: ActivityState<NameTree<NameBound>>;
  sub: Closable | undefined;
  lastUsed: number;
  waiters: Array<() => void>;
}

export class BindingTimeoutError extends Error {
  override readonly name = "BindingTimeoutError";
}

export interface BindingCacheOptions {
  /** Linkerd `bindingTimeoutMs` (default 10 s). */
  readonly timeoutMs: number;
  /** Linkerd `bindingCache.idleTtlSecs` (default 600 s), in ms. */
  readonly idleTtlMs: number;
  /** Linkerd `bindingCache.trees` (default 1000). */
  readonly capacity: number;
}

export class BindingCache {
  /** dtab.show → name.show → entry: both strings are cached on their objects, so a hit builds no key. */
  readonly #entries = new Map<string, Map<string, Entry>>();
  #size = 0;
  readonly #sweep: NodeJS.Timeout;

  constructor(
    private readonly interpreter: NameInterpreter,
    private readonly opts: BindingCacheOptions,
  ) {
    this.#sweep = setInterval(() => this.sweep(), Math.min(opts.idleTtlMs, 30_000));
    this.#sweep.unref();
  }

  get size(): number {
    return this.#size;
  }

  #delete(e: Entry): void {
    const byName = this.#entries.get(e.dtabShow);
    if (byName?.get(e.nameShow) !== e) return;
    byName.delete(e.nameShow);
    if (byName.size === 0) this.#entries.delete(e.dtabShow);
    this.#size--;
  }

  *#all(): IterableIterator<Entry> {
    for (const byName of this.#entries.values()) yield* byName.values();
  }

  /** The bound tree for `name` under `dtab`; throws the binding's error or a timeout. */
  bind(dtab: Dtab, name: Path): NameTree<NameBound> | Promise<NameTree<NameBound>> {
    const dtabShow = dtab.show;
    const nameShow = name.show;
    let byName = this.#entries.get(dtabShow);
    let e = byName?.get(nameShow);
    if (!e) {
      e = {
        dtabShow,
        nameShow,
        state: { kind: "pending" },
        sub: undefined,
        lastUsed: Date.now(),
        waiters: [],
      };
      if (byName === undefined) {
        byName = new Map();
        this.#entries.set(dtabShow, byName);
      }
      byName.set(nameShow, e);
      this.#size++;
      const entry = e;
      entry.sub = this.interpreter.bind(dtab, name).observe((s) => {
        entry.state = s;
        if (s.kind !== "pending" && entry.waiters.length > 0) {
          const w = entry.waiters;
          entry.waiters = [];
          for (const f of w) f();
        }
      });
      if (this.#size > this.opts.capacity) this.#evictOldest();
    } else {
      e.lastUsed = Date.now();
    }
    const s = e.state;
    if (s.kind === "ok") return s.value;
    if (s.kind === "failed") throw s.error;
    const entry = e;
    return new Promise<NameTree<NameBound>>((resolve, reject) => {
      const timer = setTimeout(() => {
        entry.waiters = entry.waiters.filter((w) => w !== done);
        reject(
          new BindingTimeoutError(`binding ${name.show} timed out after ${this.opts.timeoutMs} ms`),
        );
      }, this.opts.timeoutMs);
      const done = () => {
        clearTimeout(timer);
        const st = entry.state;
        if (st.kind === "ok") resolve(st.value);
        else if (st.kind === "failed") reject(st.error);
      };
      entry.waiters.push(done);
    });
  }

  /** Evicts idle bindings; called periodically. */
  sweep(now = Date.now()): void {
    for (const e of [...this.#all()]) {
      if (now - e.lastUsed > this.opts.idleTtlMs && e.waiters.length === 0) {
        e.sub?.close();
        this.#delete(e);
      }
    }
  }

  #evictOldest(): void {
    let oldestEntry: Entry | undefined;
    let oldest = Number.POSITIVE_INFINITY;
    for (const e of this.#all()) {
      if (e.lastUsed < oldest && e.waiters.length === 0) {
        oldest = e.lastUsed;
        oldestEntry = e;
      }
    }
    if (oldestEntry !== undefined) {
      oldestEntry.sub?.close();
      this.#delete(oldestEntry);
    }
  }

  /** The names bound so far, for `/bound-names.json`. */
  names(): string[] {
    return [...this.#all()].map((e) => e.nameShow);
  }

  close(): void {
    clearInterval(this.#sweep);
    for (const e of this.#all()) e.sub?.close();
    this.#entries.clear();
    this.#size = 0;
  }
}
