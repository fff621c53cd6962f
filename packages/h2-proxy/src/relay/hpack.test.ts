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

  it("shrinks a repeated gRPC request block to index bytes plus the volatile literals", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const block = (i: number): HeaderField[] => [
      [":method", "POST"],
      [":scheme", "http"],
      [":path", "/helloworld.Greeter/SayHello"],
      [":authority", "127.0.0.1:4140"],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
      ["l5d-dst-service", "/svc/helloworld.Greeter"],
      ["l5d-reqid", (1_000_000 + i).toString(16)],
    ];
    const first = e.encode(block(0));
    expect(d.decode(first)).toEqual(block(0));
    const second = e.encode(block(1));
    expect(d.decode(second)).toEqual(block(1));
    // 7 one-byte indexes (:path is volatile: a literal with a static name index, 1 + 1 + 28)
    const path = "/helloworld.Greeter/SayHello".length;
    const reqid = "l5d-reqid".length + (1_000_001).toString(16).length;
    expect(second.length).toBe(6 + (2 + path) + (1 + 2 + reqid));
    expect(second.length).toBeLessThan(first.length / 2);
  });

  it("keeps encoder and decoder tables in step across 5,000 blocks of churn (FIFO compaction)", () => {
    const e = new HpackEncoder(512);
    const d = new HpackDecoder(512);
    const blocks: Buffer[] = [];
    const sent: HeaderField[][] = [];
    for (let i = 0; i < 5_000; i++) {
      const fields: HeaderField[] = [
        [`x-h${i % 97}`, `v${i % 89}`],
        ["content-type", i % 3 === 0 ? "application/grpc" : `application/x-${i % 5}`],
        [`x-h${i % 97}`, `v${i % 89}`],
        ["grpc-timeout", `${i}m`],
        ["x-latin1", "caf\u00e9"],
      ];
      // a non-array iterable takes the same path
      const block = i % 2 === 0 ? e.encode(fields) : e.encode(new Set(fields));
      expect(d.decode(block)).toEqual(fields);
      blocks.push(block);
      sent.push(fields);
    }
    // blocks are views of shared slabs (16 KiB each; ~300 KiB in all here): none was overwritten
    const again = new HpackDecoder(512);
    for (let i = 0; i < blocks.length; i++)
      expect(again.decode(blocks[i] as Buffer)).toEqual(sent[i]);
  });

  it("writes literals without indexing when the table size is 0, and long strings", () => {
    const e = new HpackEncoder(0);
    const long = "x".repeat(300);
    const fields: HeaderField[] = [
      ["x-long", long],
      [":status", "200"],
      [long, "v"],
    ];
    const d = new HpackDecoder();
    expect(d.decode(e.encode(fields))).toEqual(fields);
    expect(d.decode(e.encode(fields))).toEqual(fields);
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
