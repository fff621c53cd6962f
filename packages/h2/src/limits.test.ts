import { describe, expect, it } from "vitest";
import { HpackDecoder, HpackError } from "./hpack.js";
import {
  DEFAULT_LIMITS,
  Flood,
  FloodGuard,
  headerListSize,
  LimitError,
  resolveLimits,
} from "./limits.js";
import { ErrorCode } from "./wire.js";

/** An HPACK block: one 4 KB literal added to the dynamic table, then `refs` references to it. */
function bomb(refs: number): Buffer {
  const value = "v".repeat(4000);
  const head = Buffer.concat([
    Buffer.from([0x40, 0x01, 0x78, 0x7f, ...[0xa1, 0x1e]]), // name "x", value length 4000 (127 + 3873)
    Buffer.from(value, "latin1"),
  ]);
  return Buffer.concat([head, Buffer.alloc(refs, 0xbe)]); // 0xbe: indexed, dynamic index 62
}

describe("FloodGuard", () => {
  it("counts per kind in 1 s windows and reports the crossing", () => {
    const g = new FloodGuard({ ...DEFAULT_LIMITS, maxPingsPerSecond: 3 });
    g.now = 1_000;
    expect([g.hit(Flood.PINGS), g.hit(Flood.PINGS), g.hit(Flood.PINGS)]).toEqual([
      false,
      false,
      false,
    ]);
    expect(g.hit(Flood.PINGS)).toBe(true);
    // another kind is counted apart
    expect(g.hit(Flood.SETTINGS)).toBe(false);
    // a new window starts over
    g.now = 2_000;
    expect(g.hit(Flood.PINGS)).toBe(false);
  });

  it("count() throws a LimitError with ENHANCE_YOUR_CALM and the limit's name", () => {
    const g = new FloodGuard({ ...DEFAULT_LIMITS, maxResetsPerSecond: 1 });
    g.now = 5;
    g.count(Flood.RESETS);
    let err: unknown;
    try {
      g.count(Flood.RESETS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LimitError);
    expect((err as LimitError).limit).toBe("rapid_reset");
    expect((err as LimitError).code).toBe(ErrorCode.ENHANCE_YOUR_CALM);
  });

  it("resolveLimits fills defaults and names a bad key", () => {
    expect(resolveLimits({ maxPingsPerSecond: 7 }).maxPingsPerSecond).toBe(7);
    expect(resolveLimits({}).maxHeaderListBytes).toBe(64 * 1024);
    expect(() => resolveLimits({ maxPingsPerSecond: -1 })).toThrow(/maxPingsPerSecond/);
  });
});

describe("HPACK decoder limits", () => {
  it("stops collecting an HPACK bomb as soon as the list passes the limit", () => {
    const d = new HpackDecoder();
    d.maxListBytes = 64 * 1024;
    const fields = d.decode(bomb(4_000));
    // 4,001 fields (16 MB decoded) without the limit: stopped at the crossing field
    expect(fields.length).toBe(Math.floor((64 * 1024) / 4033) + 1);
    expect(headerListSize(fields)).toBeGreaterThan(64 * 1024);
    expect(headerListSize(fields)).toBeLessThan(64 * 1024 + 4033 + 1);
    // the table stayed in step: the next block still references the entry
    expect(d.decode(Buffer.from([0xbe]))[0]?.[0]).toBe("x");
  });

  it("stops at the field count limit", () => {
    const d = new HpackDecoder();
    d.maxFields = 10;
    // 100 × indexed ":method: GET"
    expect(d.decode(Buffer.alloc(100, 0x82)).length).toBe(11);
  });

  it("rejects a table size update after a field, and a third one in a block", () => {
    // after a field: RFC 7541 §4.2 (a decoding error: COMPRESSION_ERROR), checked before the limit
    const d = new HpackDecoder();
    expect(() => d.decode(Buffer.from([0x82, 0x20]))).toThrow(HpackError);
    const d2 = new HpackDecoder();
    expect(() => d2.decode(Buffer.from([0x20, 0x20, 0x20, 0x82]))).toThrow(/two dynamic table/);
    const d3 = new HpackDecoder();
    expect(d3.decode(Buffer.from([0x20, 0x3f, 0xe1, 0x1f, 0x82])).length).toBe(1);
  });
});
