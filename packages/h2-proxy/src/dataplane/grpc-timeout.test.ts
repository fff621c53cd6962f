import { describe, expect, it } from "vitest";
import { encodeGrpcTimeout, parseGrpcTimeout } from "./grpc-timeout.js";
import { isHopByHop } from "./headers.js";
import { decodeGrpcMessage, encodeGrpcMessage } from "./respond-error.js";

describe("grpc-timeout", () => {
  it("parses every unit and rejects malformed values", () => {
    expect(parseGrpcTimeout("1H")).toBe(3_600_000);
    expect(parseGrpcTimeout("2M")).toBe(120_000);
    expect(parseGrpcTimeout("3S")).toBe(3_000);
    expect(parseGrpcTimeout("250m")).toBe(250);
    expect(parseGrpcTimeout("1500u")).toBe(1.5);
    expect(parseGrpcTimeout("2000000n")).toBe(2);
    for (const bad of ["", "m", "123456789m", "12x", "-1m", "1.5S", undefined]) {
      expect(parseGrpcTimeout(bad)).toBeUndefined();
    }
  });

  it("encodes within 8 digits, rounding up", () => {
    expect(encodeGrpcTimeout(250)).toBe("250m");
    expect(encodeGrpcTimeout(0.5)).toBe("500u");
    expect(encodeGrpcTimeout(99.2)).toBe("99200u");
    expect(encodeGrpcTimeout(1e9)).toBe("1000000S");
    expect(encodeGrpcTimeout(-5)).toBe("0m");
    for (const ms of [0.001, 1, 99, 100, 12_345.6, 1e8, 1e12]) {
      const back = parseGrpcTimeout(encodeGrpcTimeout(ms)) as number;
      expect(back).toBeGreaterThanOrEqual(ms);
    }
  });
});

describe("grpc-message", () => {
  it("percent-encodes per the gRPC spec and round-trips", () => {
    const msg = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈 100%\t\n";
    const enc = encodeGrpcMessage(msg);
    expect(enc).toMatch(/^[\x20-\x7e]*$/);
    expect(enc).toContain("%25");
    expect(decodeGrpcMessage(enc)).toBe(msg);
    expect(encodeGrpcMessage("plain text")).toBe("plain text");
  });
});

describe("hop-by-hop headers", () => {
  it("names the connection-specific headers, keeping te: trailers", () => {
    for (const n of [
      "connection",
      "keep-alive",
      "proxy-connection",
      "transfer-encoding",
      "upgrade",
      "http2-settings",
      "host",
    ]) {
      expect(isHopByHop(n, "x")).toBe(true);
    }
    expect(isHopByHop("te", "trailers")).toBe(false);
    expect(isHopByHop("te", "gzip")).toBe(true);
    expect(isHopByHop(":path", "/a")).toBe(false);
    expect(isHopByHop("x-keep", "1")).toBe(false);
  });
});
