/**
 * A connection's streams by id: an open-addressing table (linear probing on `id >>> 1`, so the
 * increasing ids of one peer fall in consecutive slots) in place of a `Map<number, V>`.
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
    const ids = this.#ids;
    const mask = this.#mask;
    for (let i = (id >>> 1) & mask; ; i = (i + 1) & mask) {
      const at = ids[i] as number;
      if (at === id) return this.#values[i];
      if (at === 0) return undefined;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Sets the stream `id` (> 0) to `value` (not undefined). */
  set(id: number, value: V): void {
    const ids = this.#ids;
    const mask = this.#mask;
    let i = (id >>> 1) & mask;
    for (;;) {
      const at = ids[i] as number;
      if (at === id) {
        this.#values[i] = value;
        return;
      }
      if (at === 0) break;
      i = (i + 1) & mask;
    }
    ids[i] = id;
    this.#values[i] = value;
    // at most half full: probes stay short
    if (++this.#size * 2 > ids.length) this.#resize(ids.length * 2);
  }

  /** Removes stream `id`; false when it was not there. */
  delete(id: number): boolean {
    const ids = this.#ids;
    const values = this.#values;
    const mask = this.#mask;
    let i = (id >>> 1) & mask;
    for (;;) {
      const at = ids[i] as number;
      if (at === id) break;
      if (at === 0) return false;
      i = (i + 1) & mask;
    }
    // backward-shift deletion: later entries of the same probe run move up, no tombstones
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const at = ids[j] as number;
      if (at === 0) break;
      const home = (at >>> 1) & mask;
      // the entry at j may fill slot i when i is not cyclically within (home, j]
      if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
        ids[i] = at;
        values[i] = values[j];
        i = j;
      }
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

  #resize(slots: number): void {
    const oldIds = this.#ids;
    const oldValues = this.#values;
    const ids = new Int32Array(slots);
    const values = new Array<V | undefined>(slots).fill(undefined);
    const mask = slots - 1;
    for (let k = 0; k < oldIds.length; k++) {
      const id = oldIds[k] as number;
      if (id === 0) continue;
      let i = (id >>> 1) & mask;
      while (ids[i] !== 0) i = (i + 1) & mask;
      ids[i] = id;
      values[i] = oldValues[k];
    }
    this.#ids = ids;
    this.#values = values;
    this.#mask = mask;
  }
}
