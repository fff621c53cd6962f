/**
 * FeedVarCache: an interpreter's FeedVars shared per key (one per bound name, one per bound
 * id), so every observer of a key shares one namerd feed. A Var leaves the cache when its last
 * observer does; Vars handed out but never observed are dropped once the cache holds too many.
 */
import { type FeedOpener, FeedVar } from "./feed-var.js";

/** Unobserved Vars kept for reuse beyond this many are forgotten. */
export const MAX_IDLE_ENTRIES = 10_000;

export class FeedVarCache<T> {
  readonly #vars = new Map<string, FeedVar<T>>();
  readonly #maxEntries: number;

  constructor(maxEntries = MAX_IDLE_ENTRIES) {
    this.#maxEntries = maxEntries;
  }

  /** The Var for `key`: the cached one, or a new one starting at `initial` fed by `open`. */
  get(key: string, initial: T, open: FeedOpener<T>): FeedVar<T> {
    const existing = this.#vars.get(key);
    if (existing) return existing;
    const v: FeedVar<T> = new FeedVar<T>(initial, open, () => {
      if (this.#vars.get(key) === v) this.#vars.delete(key);
    });
    if (this.#vars.size >= this.#maxEntries) {
      for (const [k, e] of this.#vars) if (!e.observed) this.#vars.delete(k);
    }
    this.#vars.set(key, v);
    return v;
  }
}
