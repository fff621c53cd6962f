import { describe, expect, it } from "vitest";
import { type HeaderField, HpackDecoder, HpackEncoder, HpackError } from "./hpack.js";

describe("HPACK", () => {
  it("decodes RFC 7541 C.4 (Huffman) requests, sharing the dynamic table across blocks", () => {
    const d = new HpackDecoder();
    expect(d.decode(Buffer.from("828684418cf1e3c2e5f23a6ba0ab90f4ff", "hex"))).toEqual([
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
    ]);
    expect(d.decode(Buffer.from("828684be5886a8eb10649cbf", "hex"))).toEqual([
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
      ["cache-control", "no-cache"],
    ]);
  });

  it("round-trips through the indexing encoder, with eviction, over many blocks", () => {
    const e = new HpackEncoder(256);
    const d = new HpackDecoder(256);
    for (let i = 0; i < 200; i++) {
      const fields: HeaderField[] = [
        [":method", "POST"],
        [":path", `/svc.Echo/Call${i % 7}`],
        ["content-type", "application/grpc"],
        [`x-custom-${i % 13}`, "v".repeat(i % 50)],
        ["l5d-reqid", i.toString(16)],
        ["x-custom-0", ""],
      ];
      expect(d.decode(e.encode(fields))).toEqual(fields);
    }
  });

  it("rejects malformed blocks", () => {
    expect(() => new HpackDecoder().decode(Buffer.from([0xff, 0xff]))).toThrow(HpackError);
    expect(() => new HpackDecoder().decode(Buffer.from([0xbf]))).toThrow(HpackError);
    // literal with a Huffman string of invalid padding (a zero bit)
    expect(() => new HpackDecoder().decode(Buffer.from([0x00, 0x81, 0x00, 0x00]))).toThrow(
      HpackError,
    );
  });
});
