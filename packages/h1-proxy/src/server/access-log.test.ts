import { describe, expect, it } from "vitest";
import { accessLogTime } from "./access-log.js";

describe("access log", () => {
  it("formats Linkerd's timestamp dd/MM/yyyy:HH:mm:ss Z", () => {
    const d = new Date(2026, 11, 4, 5, 1, 2);
    const off = -d.getTimezoneOffset();
    const z = `${off >= 0 ? "+" : "-"}${String(Math.floor(Math.abs(off) / 60)).padStart(2, "0")}${String(Math.abs(off) % 60).padStart(2, "0")}`;
    expect(accessLogTime(d)).toBe(`04/12/2026:05:01:02 ${z}`);
  });
});
