/**
 * A bounded LRU of Vars kept observed while cached (Linkerd's NameInterpreterCache): a name
 * asked for again is answered from the binding already running instead of binding anew.
 * Evicting an entry releases its observation, so the watches behind it close.
 */
import type { Closable, Var } from "@l5d/dtab";

export class ObservedCache<T> {
  readonly #entries = new Map<string, { v: Var<T>; sub: Closable }>();

  constructor(readonly capacity: number) {}

  get(key: string, make: () => Var<T>): Var<T> {
    const hit = this.#entries.get(key);
    if (hit) {
      // most recently used last
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit.v;
    }
    const v = make();
    const sub = v.observe(() => {});
    this.#entries.set(key, { v, sub });
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) {
        this.#entries.get(oldest)?.sub.close();
        this.#entries.delete(oldest);
      }
    }
    return v;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    for (const e of this.#entries.values()) e.sub.close();
    this.#entries.clear();
  }
}
