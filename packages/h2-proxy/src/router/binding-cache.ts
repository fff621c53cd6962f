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
  readonly #entries = new Map<string, Entry>();
  readonly #sweep: NodeJS.Timeout;

  constructor(
    private readonly interpreter: NameInterpreter,
    private readonly opts: BindingCacheOptions,
  ) {
    this.#sweep = setInterval(() => this.sweep(), Math.min(opts.idleTtlMs, 30_000));
    this.#sweep.unref();
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The bound tree for `name` under `dtab`; throws the binding's error or a timeout. */
  bind(dtab: Dtab, name: Path): NameTree<NameBound> | Promise<NameTree<NameBound>> {
    const key = `${dtab.show}\u0000${name.show}`;
    let e = this.#entries.get(key);
    if (!e) {
      e = { state: { kind: "pending" }, sub: undefined, lastUsed: Date.now(), waiters: [] };
      this.#entries.set(key, e);
      const entry = e;
      entry.sub = this.interpreter.bind(dtab, name).observe((s) => {
        entry.state = s;
        if (s.kind !== "pending" && entry.waiters.length > 0) {
          const w = entry.waiters;
          entry.waiters = [];
          for (const f of w) f();
        }
      });
      if (this.#entries.size > this.opts.capacity) this.#evictOldest();
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
    for (const [k, e] of this.#entries) {
      if (now - e.lastUsed > this.opts.idleTtlMs && e.waiters.length === 0) {
        e.sub?.close();
        this.#entries.delete(k);
      }
    }
  }

  #evictOldest(): void {
    let oldestKey: string | undefined;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [k, e] of this.#entries) {
      if (e.lastUsed < oldest && e.waiters.length === 0) {
        oldest = e.lastUsed;
        oldestKey = k;
      }
    }
    if (oldestKey !== undefined) {
      this.#entries.get(oldestKey)?.sub?.close();
      this.#entries.delete(oldestKey);
    }
  }

  /** The names bound so far, for `/bound-names.json`. */
  names(): string[] {
    return [...this.#entries.keys()].map((k) => k.slice(k.indexOf("\u0000") + 1));
  }

  close(): void {
    clearInterval(this.#sweep);
    for (const e of this.#entries.values()) e.sub?.close();
    this.#entries.clear();
  }
}
