/**
 * `node scripts/traffic-shift.mjs` (the README's traffic-shift walkthrough) as a user runs it:
 * namerd and l5d as processes, the shift through `l5d namerctl`, each phase's answers printed,
 * zero failed calls.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../../", import.meta.url));

describe("scripts/traffic-shift.mjs", () => {
  it("shifts world-v1 → 90/10 → world-v2 under load with zero failed calls", async () => {
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(
        process.execPath,
        ["scripts/traffic-shift.mjs", "--calls=200", "--workers=2"],
        { cwd: root, timeout: 120_000 },
        (e, out, err) =>
          resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: out + err }),
      );
    });
    expect(r.out).toMatch(/world-v1 \(seed dtab\)\s+200\s+200\s+0/);
    const split = /90\/10 split\s+400\s+(\d+)\s+(\d+)/.exec(r.out);
    expect(split).not.toBeNull();
    expect(Number(split![2])).toBeGreaterThan(10);
    expect(Number(split![2])).toBeLessThan(90);
    expect(r.out).toMatch(/world-v2\s+200\s+0\s+200/);
    expect(r.out).toMatch(/failed: 0\n/);
    expect(r.code).toBe(0);
  });
});
