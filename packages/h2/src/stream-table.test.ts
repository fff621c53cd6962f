import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { StreamTable } from "./stream-table.js";
import { prng } from "./testing.js";

function sameAs(table: StreamTable<string>, map: Map<number, string>): void {
  expect(table.size).toBe(map.size);
  expect(table.ids().sort((a, b) => a - b)).toEqual([...map.keys()].sort((a, b) => a - b));
  expect(table.values().sort()).toEqual([...map.values()].sort());
}

describe("StreamTable", () => {
  it("gets, sets, replaces and deletes like a Map", () => {
    const t = new StreamTable<string>();
    expect(t.get(1)).toBeUndefined();
    expect(t.delete(1)).toBe(false);
    t.set(1, "a");
    t.set(3, "b");
    t.set(3, "c");
    expect(t.size).toBe(2);
    expect(t.get(3)).toBe("c");
    expect(t.has(1)).toBe(true);
    expect(t.delete(1)).toBe(true);
    expect(t.has(1)).toBe(false);
    expect(t.size).toBe(1);
    expect(t.values()).toEqual(["c"]);
    expect(t.ids()).toEqual([3]);
  });

  it("agrees with a Map over 200,000 random operations (bursts, colliding ids, ids near 2^31)", () => {
    const r = prng(20261205);
    const t = new StreamTable<string>();
    const m = new Map<number, string>();
    let next = 1;
    for (let op = 0; op < 200_000; op++) {
      const x = r();
      if (x < 0.45) {
        // a new stream: mostly the next id, sometimes one far off (same slot modulo the size)
        const id = r() < 0.9 ? next : 1 + 2 * Math.floor(r() * 1_073_741_823);
        next += 2;
        t.set(id, `v${op}`);
        m.set(id, `v${op}`);
      } else if (x < 0.9 && m.size > 0) {
        // close one: the oldest usually, any now and then
        const keys = [...m.keys()];
        const id = (r() < 0.7 ? keys[0] : keys[Math.floor(r() * keys.length)]) as number;
        expect(t.delete(id)).toBe(true);
        m.delete(id);
      } else if (x < 0.905) {
        // a burst of 600 streams, then most of them closed (the table grows, then shrinks)
        const ids: number[] = [];
        for (let k = 0; k < 600; k++, next += 2) {
          t.set(next, `b${next}`);
          m.set(next, `b${next}`);
          ids.push(next);
        }
        for (const id of ids.slice(0, 590)) {
          t.delete(id);
          m.delete(id);
        }
      } else {
        const id = r() < 0.5 ? next - 2 * Math.floor(r() * 50) : 1 + 2 * Math.floor(r() * 1e6);
        expect(t.get(id)).toBe(m.get(id));
        expect(t.delete(id + 1)).toBe(m.delete(id + 1));
      }
      if (op % 5_000 === 0) sameAs(t, m);
    }
    sameAs(t, m);
    for (const id of [...m.keys()]) expect(t.get(id)).toBe(m.get(id));
  });

  it("finds every entry after each delete when many ids share home slots (Robin Hood order)", () => {
    const r = prng(7);
    for (let round = 0; round < 20; round++) {
      const t = new StreamTable<number>();
      const m = new Map<number, number>();
      // ids 2 * 64 * k apart share a home slot in any table of up to 64 slots; mixed with runs
      const ids: number[] = [];
      for (let k = 0; k < 20; k++) ids.push(1 + 128 * k, 3 + 2 * k, 5 + 128 * k);
      for (const id of ids) {
        t.set(id, id * 10);
        m.set(id, id * 10);
      }
      while (m.size > 0) {
        const keys = [...m.keys()];
        const id = keys[Math.floor(r() * keys.length)] as number;
        expect(t.delete(id)).toBe(true);
        m.delete(id);
        expect(t.has(id)).toBe(false);
        for (const [k, v] of m) expect(t.get(k)).toBe(v);
        expect(t.size).toBe(m.size);
      }
    }
  });

  it("keeps nothing alive through the young generation once erased (a Map's rebuilt tables do)", () => {
    // In a child with --expose-gc: a table made old (two full GCs), then 20,000 requests'
    // worth of set + delete with ~1 KB per stream and a scavenge every 500. What the young
    // generation promotes is the heap's growth; a Map, churned the same way, promotes every
    // stream its rebuilt-away tables still list (about 10 MiB here).
    const dist = join(dirname(fileURLToPath(import.meta.url)), "../dist/stream-table.js");
    const script = `
      import { StreamTable } from ${JSON.stringify(pathToFileURL(dist).href)};
      const run = (t) => {
        let id = 1;
        const step = () => {
          t.set(id, { id, payload: new Array(120).fill(id) });
          if (id > 512) t.delete(id - 512);
          id += 2;
        };
        for (let i = 0; i < 2000; i++) step();
        gc(); gc(); gc({ type: "minor" });
        const base = process.memoryUsage().heapUsed;
        for (let i = 0; i < 20000; i++) { step(); if (i % 500 === 499) gc({ type: "minor" }); }
        gc({ type: "minor" });
        return process.memoryUsage().heapUsed - base;
      };
      console.log(JSON.stringify({ table: run(new StreamTable()), map: run(new Map()) }));`;
    const out = execFileSync(
      process.execPath,
      ["--expose-gc", "--max-semi-space-size=2", "--input-type=module", "-e", script],
      { encoding: "utf8" },
    );
    const { table, map } = JSON.parse(out) as { table: number; map: number };
    const MiB = 1024 * 1024;
    expect(table, `table promoted ${table} B, a Map ${map} B`).toBeLessThan(2 * MiB);
    // the mechanism this table exists for, still there in this node (if V8 stops linking
    // rebuilt tables, this says so)
    expect(map, `a Map promoted ${map} B`).toBeGreaterThan(4 * MiB);
  });
});
