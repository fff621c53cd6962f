/**
 * A connection's streams by id: an open-addressing table (linear probing on `id >>> 1`, so the
 * increasing ids of one peer fall in consecutive slots, kept in Robin Hood order so that a
 * delete moves only the entries displaced behind it) in place of a `Map<number, V>`.
 *
 * Why not a `Map`: a connection's stream table is written and erased once per request, so a
 * `Map`'s hash table is rebuilt every few hundred requests, and V8 links each rebuilt-away
 * table to its successor (for live iterators) without clearing its entries. Once one of those
 * tables has reached the old generation (it survived two scavenges, or a full GC ran while
 * the connection was idle), every later table and every stream they still list is kept alive
 * by its dead predecessor through each scavenge and promoted: about 1.4 KB of garbage per
 * request moved to the old generation until the next full GC, and the relay's CPU per request
 * up by a third, for as long as the connection lives (see docs/performance.md, "Streams kept
 * alive by dead hash tables"). Here a grown or shrunk table is two fresh arrays and the old
 * ones point at nothing newer; an erased slot is cleared at once.
 */

/** The smallest table (slots; a power of 2). */
const MIN_SLOTS = 16;

export class StreamTable<V> {
  /** Stream id per slot, 0 for an empty slot (no stream has id 0). */
  #ids = new Int32Array(MIN_SLOTS);
  #values: (V | undefined)[] = new Array<V | undefined>(MIN_SLOTS).fill(undefined);
  #mask = MIN_SLOTS - 1;
  #size = 0;

  /** Streams in the table. */
  get size(): number {
    return this.#size;
  }

  get(id: number): V | undefined {
    const i = this.#find(id);
    return i < 0 ? undefined : this.#values[i];
  }

  has(id: number): boolean {
    return this.#find(id) >= 0;
  }

  /** Sets the stream `id` (> 0) to `value` (not undefined). */
  set(id: number, value: V): void {
    const i = this.#find(id);
    if (i >= 0) {
      this.#values[i] = value;
      return;
    }
    this.#insert(id, value);
    // at most half full: probes stay short
    if (++this.#size * 2 > this.#ids.length) this.#resize(this.#ids.length * 2);
  }

  /** Removes stream `id`; false when it was not there. */
  delete(id: number): boolean {
    let i = this.#find(id);
    if (i < 0) return false;
    const ids = this.#ids;
    const values = this.#values;
    const mask = this.#mask;
    // backward-shift deletion: the entries after it that are away from their home slot move
    // one slot back; the run ends at an empty slot or an entry at home (Robin Hood order), which
    // for one peer's increasing ids is usually the very next slot
    for (;;) {
      const j = (i + 1) & mask;
      const at = ids[j] as number;
      if (at === 0 || (((at >>> 1) ^ j) & mask) === 0) break;
      ids[i] = at;
      values[i] = values[j];
      i = j;
    }
    ids[i] = 0;
    values[i] = undefined;
    // a burst's large table is given back once it is mostly empty
    if (--this.#size * 8 < ids.length && ids.length > MIN_SLOTS) this.#resize(ids.length / 2);
    return true;
  }

  /** The streams, as an array of their own (the table may change while it is walked). */
  values(): V[] {
    const out: V[] = [];
    const ids = this.#ids;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== 0) out.push(this.#values[i] as V);
    return out;
  }

  /** The stream ids, as an array of their own. */
  ids(): number[] {
    const out: number[] = [];
    const ids = this.#ids;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== 0) out.push(ids[i] as number);
    return out;
  }

  /**
   * The slot of `id`, or -1. Robin Hood order: `id`, inserted, would have taken the slot of any
   * entry nearer its own home than `id` was to `id`'s, so the search ends at the first such
   * entry (or an empty slot).
   */
  #find(id: number): number {
    const ids = this.#ids;
    const mask = this.#mask;
    let i = (id >>> 1) & mask;
    for (let d = 0; ; d++) {
      const at = ids[i] as number;
      if (at === id) return i;
      if (at === 0 || ((i - (at >>> 1)) & mask) < d) return -1;
      i = (i + 1) & mask;
    }
  }

  /** Places an absent `id`: a poorer entry (further from home) takes the slot of a richer one. */
  #insert(id: number, value: V): void {
    const ids = this.#ids;
    const values = this.#values;
    const mask = this.#mask;
    let i = (id >>> 1) & mask;
    let carried = value;
    for (let d = 0; ; d++) {
      const at = ids[i] as number;
      if (at === 0) {
        ids[i] = id;
        values[i] = carried;
        return;
      }
      const atD = (i - (at >>> 1)) & mask;
      if (atD < d) {
        const atV = values[i] as V;
        ids[i] = id;
        values[i] = carried;
        id = at;
        carried = atV;
        d = atD;
      }
      i = (i + 1) & mask;
    }
  }

  #resize(slots: number): void {
    const oldIds = this.#ids;
    const oldValues = this.#values;
    this.#ids = new Int32Array(slots);
    this.#values = new Array<V | undefined>(slots).fill(undefined);
    this.#mask = slots - 1;
    for (let k = 0; k < oldIds.length; k++) {
      const id = oldIds[k] as number;
      if (id !== 0) this.#insert(id, oldValues[k] as V);
    }
  }
}
