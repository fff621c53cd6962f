import { describe, expect, it } from "vitest";
import { formatGoDuration, GoDurationError, parseGoDuration } from "./go-duration.js";

describe("parseGoDuration", () => {
  it.each([
    ["0", 0],
    ["500ms", 500],
    ["1s", 1000],
    ["1m30s", 90_000],
    ["1.5h", 5_400_000],
    ["-2s", -2000],
    ["+3ms", 3],
    ["250us", 0.25],
    ["250µs", 0.25],
    ["1000000ns", 1],
    [".5s", 500],
    ["1h2m3s4ms", 3_723_004],
  ])("parses %s", (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(["", "1", "5x", "s", "1s2", "ms", "--1s", "1 s"])("rejects %j like Go", (text) => {
    expect(() => parseGoDuration(text)).toThrow(GoDurationError);
    expect(() => parseGoDuration(text)).toThrow(`time: invalid duration ${JSON.stringify(text)}`);
  });
});

describe("formatGoDuration", () => {
  it.each([
    [0, "0s"],
    [500, "500ms"],
    [1000, "1s"],
    [90_000, "1m30s"],
    [7_200_000, "2h0m0s"],
    [1500, "1.5s"],
    [0.25, "250µs"],
    [-2000, "-2s"],
  ])("formats %d ms as %s", (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });
});
