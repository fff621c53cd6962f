import { headerList } from "@l5d/h2-proxy";
import { describe, expect, it } from "vitest";
import { parseB3Single, readIncomingTrace, traceHeaders } from "./propagation.js";
import { decodeL5dCtxTrace, encodeL5dCtxTrace, newId } from "./trace-context.js";

/** Finagle's TraceId.serialize, written out by hand: spanId, parentId, traceId, flags (big-endian longs). */
function finagleBytes(
  span: bigint,
  parent: bigint,
  trace: bigint,
  flags: bigint,
  high?: bigint,
): string {
  const b = Buffer.alloc(high === undefined ? 32 : 40);
  b.writeBigUInt64BE(span, 0);
  b.writeBigUInt64BE(parent, 8);
  b.writeBigUInt64BE(trace, 16);
  b.writeBigUInt64BE(flags, 24);
  if (high !== undefined) b.writeBigUInt64BE(high, 32);
  return b.toString("base64");
}

describe("l5d-ctx-trace", () => {
  it("decodes Finagle's 32-byte TraceId (spanId, parentId, traceId, flags)", () => {
    // sampled: SamplingKnown(2) | Sampled(4)
    const h = finagleBytes(0x1111n, 0x2222n, 0x3333n, 6n);
    expect(decodeL5dCtxTrace(h)).toEqual({
      spanId: "0000000000001111",
      parentId: "0000000000002222",
      traceId: "0000000000003333",
      sampled: true,
      debug: false,
    });
  });

  it("reads parent == span as no parent, SamplingKnown without Sampled as not sampled, no flags as undecided", () => {
    const root = decodeL5dCtxTrace(finagleBytes(0xabcn, 0xabcn, 0xabcn, 2n));
    expect(root?.parentId).toBeUndefined();
    expect(root?.sampled).toBe(false);
    expect(decodeL5dCtxTrace(finagleBytes(5n, 6n, 7n, 0n))?.sampled).toBeUndefined();
    expect(decodeL5dCtxTrace(finagleBytes(5n, 6n, 7n, 1n))?.debug).toBe(true);
  });

  it("round-trips, 64-bit and 128-bit (40 bytes, traceIdHigh last)", () => {
    const ctx = {
      traceId: newId(),
      spanId: newId(),
      parentId: newId(),
      sampled: true,
      debug: false,
    };
    expect(decodeL5dCtxTrace(encodeL5dCtxTrace(ctx))).toEqual(ctx);
    expect(Buffer.from(encodeL5dCtxTrace(ctx), "base64")).toHaveLength(32);
    const long = { ...ctx, traceId: newId() + newId() };
    const enc = encodeL5dCtxTrace(long);
    expect(Buffer.from(enc, "base64")).toHaveLength(40);
    expect(decodeL5dCtxTrace(enc)).toEqual(long);
    expect(enc).toBe(
      finagleBytes(
        BigInt(`0x${long.spanId}`),
        BigInt(`0x${long.parentId}`),
        BigInt(`0x${long.traceId.slice(16)}`),
        6n,
        BigInt(`0x${long.traceId.slice(0, 16)}`),
      ),
    );
  });

  it("writes ids byte for byte as Finagle's longs, and reads them back, for 2,000 random ids", () => {
    // ids are hex-coded in JS (no Buffer hex calls): held to BigInt's own arithmetic
    for (let i = 0; i < 500; i++) {
      const [a, b, c, d] = [newId(), newId(), newId(), newId()];
      for (const id of [a, b, c, d]) expect(id).toMatch(/^[0-9a-f]{16}$/);
      expect(a).not.toBe("0000000000000000");
      const ctx = { traceId: d + c, spanId: a, parentId: b, sampled: false, debug: false };
      const enc = encodeL5dCtxTrace(ctx);
      expect(enc).toBe(
        finagleBytes(BigInt(`0x${a}`), BigInt(`0x${b}`), BigInt(`0x${c}`), 2n, BigInt(`0x${d}`)),
      );
      expect(decodeL5dCtxTrace(enc)).toEqual(ctx);
    }
  });

  it("encodes upper-case hex ids like lower-case ones, and an id that is not hex as Buffer does", () => {
    const lower = { traceId: "00000000000abcde", spanId: "fedcba9876543210" };
    const upper = { traceId: "00000000000ABCDE", spanId: "FEDCBA9876543210" };
    expect(encodeL5dCtxTrace(upper)).toBe(encodeL5dCtxTrace(lower));
    // Buffer's hex parser stops at the first bad digit: the bytes before it stay, the rest are 0
    const bad = encodeL5dCtxTrace({ traceId: "00000000000abcde", spanId: "fedcxa9876543210" });
    expect(Buffer.from(bad, "base64").subarray(0, 8)).toEqual(
      Buffer.from([0xfe, 0xdc, 0, 0, 0, 0, 0, 0]),
    );
    // a character past ASCII whose low 7 bits are a hex digit ("\u00b0" is 0x80 + "0") is not
    // one: such an id goes to Buffer's parser too, and gets what it makes of it
    for (const c of ["\u00b0", "\u0131", "\uff10"]) {
      const spanId = `fe${c}c0a9876543210`;
      const odd = encodeL5dCtxTrace({ traceId: "00000000000abcde", spanId });
      const byBuffer = Buffer.alloc(8);
      byBuffer.write(spanId.slice(0, 16), 0, 8, "hex");
      expect(Buffer.from(odd, "base64").subarray(0, 8)).toEqual(byBuffer);
    }
    expect(
      Buffer.from(
        encodeL5dCtxTrace({ traceId: "1", spanId: "fe\u00b0c0a9876543210" }),
        "base64",
      )[1],
    ).toBe(0);
  });

  it("ignores malformed headers", () => {
    expect(decodeL5dCtxTrace("not base64!")).toBeUndefined();
    expect(decodeL5dCtxTrace(Buffer.alloc(31).toString("base64"))).toBeUndefined();
    expect(decodeL5dCtxTrace(Buffer.alloc(32).toString("base64"))).toBeUndefined(); // zero ids
    // span id 0, trace id 1; span id 1, trace id 0 (64-bit, and 128-bit with both halves 0)
    const ids = (span: number, low: number, high?: number): string => {
      const b = Buffer.alloc(high === undefined ? 32 : 40);
      b[7] = span;
      b[23] = low;
      if (high !== undefined) b[39] = high;
      return b.toString("base64");
    };
    expect(decodeL5dCtxTrace(ids(0, 1))).toBeUndefined();
    expect(decodeL5dCtxTrace(ids(1, 0))).toBeUndefined();
    expect(decodeL5dCtxTrace(ids(1, 0, 0))).toBeUndefined();
    // a 128-bit id whose low half is 0 is an id
    expect(decodeL5dCtxTrace(ids(1, 0, 2))?.traceId).toBe(`${"0".repeat(15)}2${"0".repeat(16)}`);
    expect(decodeL5dCtxTrace(ids(1, 1))).toMatchObject({
      spanId: "0000000000000001",
      traceId: "0000000000000001",
    });
  });
});

describe("B3 and l5d-sample", () => {
  it("parses the single b3 header and the x-b3 headers; l5d-ctx-trace wins", () => {
    expect(
      parseB3Single("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90"),
    ).toEqual({
      traceId: "80f198ee56343ba864fe8b2a57d3eff7",
      spanId: "e457b5a2e4d86bd1",
      parentId: "05e3ac9a4f6e3b90",
      sampled: true,
      debug: false,
    });
    const multi = readIncomingTrace(
      headerList({
        "x-b3-traceid": "463ac35c9f6413ad",
        "x-b3-spanid": "a2fb4a1d1a96d312",
        "x-b3-sampled": "0",
      }),
    );
    expect(multi).toMatchObject({
      source: "x-b3",
      parent: { traceId: "463ac35c9f6413ad", spanId: "a2fb4a1d1a96d312", sampled: false },
    });
    const l5d = encodeL5dCtxTrace({ traceId: "00000000000000aa", spanId: "00000000000000bb" });
    expect(
      readIncomingTrace(
        headerList({
          "l5d-ctx-trace": l5d,
          "x-b3-traceid": "463ac35c9f6413ad",
          "x-b3-spanid": "a2fb4a1d1a96d312",
        }),
      ).parent?.traceId,
    ).toBe("00000000000000aa");
  });

  it("accepts l5d-sample in [0, 1] only", () => {
    expect(readIncomingTrace(headerList({ "l5d-sample": "0.5" })).sampleRate).toBe(0.5);
    expect(readIncomingTrace(headerList({ "l5d-sample": "1.5" })).sampleRate).toBeUndefined();
    expect(readIncomingTrace(headerList({ "l5d-sample": "x" })).sampleRate).toBeUndefined();
  });

  it("writes l5d-ctx-trace, l5d-reqid (the trace id, as Linkerd) and B3", () => {
    const h = traceHeaders(
      {
        traceId: "00000000000000aa",
        spanId: "00000000000000cc",
        parentId: "00000000000000bb",
        sampled: true,
      },
      true,
    );
    expect(h).toMatchObject({
      "l5d-reqid": "00000000000000aa",
      "x-b3-traceid": "00000000000000aa",
      "x-b3-spanid": "00000000000000cc",
      "x-b3-parentspanid": "00000000000000bb",
      "x-b3-sampled": "1",
      b3: "00000000000000aa-00000000000000cc-1-00000000000000bb",
    });
    expect(decodeL5dCtxTrace(h["l5d-ctx-trace"]!)).toMatchObject({
      spanId: "00000000000000cc",
      parentId: "00000000000000bb",
      sampled: true,
    });
  });
});
