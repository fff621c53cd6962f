import { describe, expect, it } from "vitest";
import { DataplaneError, GrpcStatus } from "./errors.js";

describe("DataplaneError", () => {
  it("captures no stack trace (an outcome, not a bug: one per reset stream under a rapid-reset attack) and leaves Error.stackTraceLimit as it was", () => {
    const before = Error.stackTraceLimit;
    const e = new DataplaneError(
      "CLIENT_RESET",
      "client reset (CANCEL)",
      GrpcStatus.CANCELLED,
      499,
    );
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toBe("client reset (CANCEL)");
    expect(e.code).toBe("CLIENT_RESET");
    expect(e.stack).toContain("client reset (CANCEL)");
    expect(e.stack).not.toMatch(/\n\s+at /);
    expect(Error.stackTraceLimit).toBe(before);
    // other errors keep theirs
    expect(new Error("x").stack).toMatch(/\n\s+at /);
  });
});
