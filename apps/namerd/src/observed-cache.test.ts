/** ObservedCache: hits share one running Var, the least recently used is evicted and released. */
import { VarCell } from "@l5d/dtab";
import { describe, expect, it } from "vitest";
import { ObservedCache } from "./observed-cache.js";

describe("ObservedCache", () => {
  it("keeps each cached Var observed and answers a hit without making a new one", () => {
    const c = new ObservedCache<number>(2);
    const cell = new VarCell(1);
    let made = 0;
    const make = () => {
      made++;
      return cell;
    };
    expect(c.get("a", make)).toBe(cell);
    expect(c.get("a", make)).toBe(cell);
    expect(made).toBe(1);
    expect(cell.observerCount).toBe(1);
  });

  it("evicts the least recently used entry and releases its observation", () => {
    const c = new ObservedCache<number>(2);
    const a = new VarCell(1);
    const b = new VarCell(2);
    const d = new VarCell(3);
    c.get("a", () => a);
    c.get("b", () => b);
    c.get("a", () => a); // a is now the most recent
    c.get("d", () => d);
    expect(c.size).toBe(2);
    expect(b.observerCount).toBe(0);
    expect(a.observerCount).toBe(1);
    expect(d.observerCount).toBe(1);
    c.clear();
    expect(a.observerCount + d.observerCount).toBe(0);
  });
});
