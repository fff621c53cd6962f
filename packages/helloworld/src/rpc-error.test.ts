import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { formatRpcError, grpcCodeName, isRpcError } from "./rpc-error.js";

describe("formatRpcError", () => {
  it("uses grpc-go's code names", () => {
    expect(grpcCodeName(status.OK)).toBe("OK");
    expect(grpcCodeName(status.CANCELLED)).toBe("Canceled");
    expect(grpcCodeName(status.UNKNOWN)).toBe("Unknown");
    expect(grpcCodeName(status.DEADLINE_EXCEEDED)).toBe("DeadlineExceeded");
    expect(grpcCodeName(status.UNAVAILABLE)).toBe("Unavailable");
    expect(grpcCodeName(status.UNAUTHENTICATED)).toBe("Unauthenticated");
    expect(grpcCodeName(42)).toBe("Code(42)");
  });

  it("formats like grpc-go's err.Error()", () => {
    const err = Object.assign(new Error("2 UNKNOWN: server error"), {
      code: status.UNKNOWN,
      details: "server error",
    });
    expect(isRpcError(err)).toBe(true);
    expect(formatRpcError(err)).toBe("rpc error: code = Unknown desc = server error");
    expect(formatRpcError(new Error("plain"))).toBe("plain");
    expect(formatRpcError("text")).toBe("text");
  });
});
