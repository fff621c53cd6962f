import * as http2 from "node:http2";
import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { blockBound, type HeaderField, HpackDecoder, HpackEncoder, HpackError } from "./hpack.js";
import { prng, waitFor } from "./testing.js";

/** Encodes `fields`, checks that the peer's decoder reads them back, and returns the block. */
function sent(e: HpackEncoder, d: HpackDecoder, fields: HeaderField[]): Buffer {
  const b = e.encode(fields);
  expect(d.decode(b)).toEqual(fields);
  return b;
}

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

  it("shrinks a repeated gRPC request block to index bytes plus the per-request values", () => {
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
    const blocks = [0, 1, 2, 3].map((i) => sent(e, d, block(i)));
    const path = "/helloworld.Greeter/SayHello".length;
    const reqid = (1_000_001).toString(16).length;
    // the first block adds an l5d-reqid entry (with its value): later ids are literals without
    // indexing that name it (index 62 and up: 4-bit prefix, 2 bytes), the name never spelt out
    // again. :path is a literal (static name 4) until it comes again: then it is indexed
    expect(blocks[1]?.length).toBe(6 + (2 + path) + (2 + 1 + reqid));
    expect(blocks[2]?.length).toBe(7 + (2 + 1 + reqid));
    expect(blocks[3]?.length).toBe(7 + (2 + 1 + reqid));
    expect(blocks[3]?.length).toBeLessThan((blocks[0]?.length ?? 0) / 3);
  });

  it("never indexes a path that does not repeat, and indexes one that does", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const req = (path: string): HeaderField[] => [
      [":method", "GET"],
      [":path", path],
    ];
    // 100 unique paths: each a literal without indexing (0000 + static name 4 = 0x04)
    for (let i = 0; i < 100; i++) expect(sent(e, d, req(`/item/${i}`))[1]).toBe(0x04);
    // the same path twice in a row: the second time with incremental indexing (0x44), then one
    // index byte (62: the only entry)
    const [first, second, third] = [1, 2, 3].map(() => sent(e, d, req("/same")));
    expect(first?.[1]).toBe(0x04);
    expect(second?.[1]).toBe(0x44);
    expect([...(third ?? [])]).toEqual([0x82, 0x80 | 62]);
  });

  it("indexes a response's date while it stays the same (it changes once a second)", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const second = "Sat, 05 Dec 2026 05:33:03 GMT";
    const sizes = [second, second, second, "Sat, 05 Dec 2026 05:33:04 GMT"].map(
      (date) =>
        sent(e, d, [
          [":status", "200"],
          ["date", date],
        ]).length,
    );
    // :status is one byte. The date: a literal without indexing naming static entry 33 (4-bit
    // prefix: 2 bytes), then with incremental indexing when it repeats (6-bit prefix: 1 byte),
    // then one index byte; the next second's date is a literal again
    expect(sizes).toEqual([1 + 2 + 1 + 29, 1 + 1 + 1 + 29, 2, 1 + 2 + 1 + 29]);
  });

  it("names per-request fields by a dynamic entry only while the peer still has it", () => {
    // a 128-byte table: stable fields churn the l5d-ctx-trace entry out, and it comes back
    for (const size of [0, 128, 4_096]) {
      const e = new HpackEncoder(size);
      const d = new HpackDecoder(size);
      for (let i = 0; i < 500; i++) {
        const fields: HeaderField[] = [
          [":method", "POST"],
          [`x-stable-${i % 5}`, "v".repeat(i % 40)],
          ["l5d-ctx-trace", `trace-${i}`],
          ["grpc-timeout", `${i}m`],
        ];
        expect(d.decode(e.encode(fields))).toEqual(fields);
      }
    }
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

  it("repeats a block's fields by their last codes only while the peer still has the entries", () => {
    // three kinds of block interleaved (each kind's last block is remembered, two at a time),
    // random fields from a pool, tables small enough that entries are evicted between blocks and
    // inside one: every block must decode to what was sent, through a table kept in step
    for (const size of [0, 64, 120, 256, 4_096]) {
      const next = prng(size + 7);
      const e = new HpackEncoder(size);
      const d = new HpackDecoder(size);
      const pool: HeaderField[] = [
        ["content-type", "application/grpc"],
        ["te", "trailers"],
        ["x-a", "1"],
        ["x-b", "22"],
        ["x-c", "a longer value that takes a good part of a small table"],
        ["accept-encoding", "gzip, deflate"],
        [":path", "/helloworld.World/Greeting"],
      ];
      const first = [":method", ":status", "grpc-status"];
      let last: HeaderField[] = [];
      for (let i = 0; i < 3_000; i++) {
        const kind = first[Math.floor(next() * 3)] as string;
        // mostly the same block as last time (the memo's case), sometimes a new mix
        const fields: HeaderField[] =
          next() < 0.6 && last.length > 0 && last[0]?.[0] === kind
            ? last.map(([n, v]) => [n, v] as HeaderField)
            : [
                [kind, kind === ":method" ? "POST" : "0"],
                ...pool.filter(() => next() < 0.6),
                ...(next() < 0.3 ? [[`x-${i % 13}`, `${i % 7}`] as HeaderField] : []),
              ];
        expect(d.decode(e.encode(fields))).toEqual(fields);
        last = fields;
      }
    }
  });

  it("writes a remembered block as one index byte per stable field", () => {
    const e = new HpackEncoder();
    const req: HeaderField[] = [
      [":method", "POST"],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
      ["x-svc", "/svc/hello"],
    ];
    const res: HeaderField[] = [
      [":status", "200"],
      ["content-type", "application/grpc"],
    ];
    e.encode(req);
    e.encode(res);
    // both kinds remembered; each field is one byte (static or dynamic index)
    expect(e.encode(req).length).toBe(4);
    expect(e.encode(res).length).toBe(2);
    expect(e.encode(req).length).toBe(4);
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

  it("RFC 7541 §4.2: takes size updates at the start of a block only, up to our advertised size", () => {
    const d = new HpackDecoder();
    // two updates (0, then 128) before the first field: fine
    expect(d.decode(Buffer.from("203f6182", "hex"))).toEqual([[":method", "GET"]]);
    expect(() => new HpackDecoder().decode(Buffer.from("8220", "hex"))).toThrow(
      /size update after a header field/,
    );
    // 4097 > SETTINGS_HEADER_TABLE_SIZE (4096, the default we advertise)
    expect(() => new HpackDecoder().decode(Buffer.from("3fe21f82", "hex"))).toThrow(HpackError);
  });
});

/** A literal without indexing, new name, raw name and a Huffman value of the given bytes. */
function huffLiteral(name: string, huff: number[]): Buffer {
  return Buffer.from([0x00, name.length, ...Buffer.from(name), 0x80 | huff.length, ...huff]);
}

describe("HPACK Huffman decoding", () => {
  it("decodes RFC 7541 C.6 (Huffman) responses with eviction from a 256-byte table", () => {
    const d = new HpackDecoder(256);
    const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
    expect(
      d.decode(
        hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
             2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`),
      ),
    ).toEqual([
      [":status", "302"],
      ["cache-control", "private"],
      ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
      ["location", "https://www.example.com"],
    ]);
    expect(d.decode(hex("4883 640e ffc1 c0bf"))).toEqual([
      [":status", "307"],
      ["cache-control", "private"],
      ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
      ["location", "https://www.example.com"],
    ]);
    expect(
      d.decode(
        hex(`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
             77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
             9587 3160 65c0 03ed 4ee5 b106 3d50 07`),
      ),
    ).toEqual([
      [":status", "200"],
      ["cache-control", "private"],
      ["date", "Mon, 21 Oct 2013 20:13:22 GMT"],
      ["location", "https://www.example.com"],
      ["content-encoding", "gzip"],
      ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
    ]);
  });

  it("accepts up to 7 bits of all-ones padding, rejects longer, zero-bit padding and EOS", () => {
    // '0' is 00000: padded with 111 it is one byte
    expect(new HpackDecoder().decode(huffLiteral("x", [0x07]))).toEqual([["x", "0"]]);
    // 'a' (00011) + 0x1f: 3 bits, then 0xff: 11 bits of padding (> 7)
    expect(() => new HpackDecoder().decode(huffLiteral("x", [0x1f, 0xff]))).toThrow(
      "invalid Huffman padding",
    );
    // a whole byte of ones: 8 bits of padding
    expect(() => new HpackDecoder().decode(huffLiteral("x", [0xff]))).toThrow(
      "invalid Huffman padding",
    );
    // '0' then 001: padding with a zero bit
    expect(() => new HpackDecoder().decode(huffLiteral("x", [0x01]))).toThrow(
      "invalid Huffman padding",
    );
    // 30 ones: the EOS symbol inside a string
    expect(() => new HpackDecoder().decode(huffLiteral("x", [0xff, 0xff, 0xff, 0xff]))).toThrow(
      "EOS in a Huffman string",
    );
    // the empty Huffman string is valid
    expect(new HpackDecoder().decode(huffLiteral("x", []))).toEqual([["x", ""]]);
  });

  it("decodes long Huffman strings (past the shared scratch buffer and its keep limit)", () => {
    // 'a' is 00011: eight of them are the 5 bytes 18 c6 31 8c 63
    const as = (groups: number): Buffer => {
      const huff = Buffer.alloc(groups * 5);
      for (let g = 0; g < groups; g++) huff.set([0x18, 0xc6, 0x31, 0x8c, 0x63], g * 5);
      // literal without indexing, new name "x", Huffman value with a multi-byte length
      const len: number[] = [0x80 | Math.min(huff.length, 0x7f)];
      for (let rest = huff.length - 0x7f; rest >= 0; rest >>= 7) {
        if (rest < 0x80) {
          len.push(rest);
          break;
        }
        len.push((rest & 0x7f) | 0x80);
      }
      return Buffer.concat([Buffer.from([0x00, 0x01, 0x78, ...len]), huff]);
    };
    const d = new HpackDecoder();
    for (const groups of [2_000, 9_000, 3]) {
      const fields = d.decode(as(groups));
      expect(fields).toEqual([["x", "a".repeat(groups * 8)]]);
    }
  });

  it("decodes what nghttp2 (node:http2) Huffman-encodes: random values, over 300 requests", async () => {
    const rnd = prng(0x4a11);
    // mostly ASCII (Huffman wins, so nghttp2 uses it) with some latin1: the 19-26 bit codes
    const value = (): string => {
      const n = Math.floor(rnd() * 120);
      let s = "";
      for (let i = 0; i < n; i++) {
        const r = rnd();
        const c =
          r < 0.08
            ? 0x80 + Math.floor(rnd() * 128)
            : r < 0.7
              ? 0x61 + Math.floor(rnd() * 26)
              : 0x20 + Math.floor(rnd() * 95);
        s += String.fromCharCode(c);
      }
      return s;
    };
    const sent: Array<Record<string, string>> = [];
    for (let i = 0; i < 300; i++) {
      const h: Record<string, string> = { ":path": `/p/${value().replace(/[^a-z]/g, "")}` };
      // a few values repeat (nghttp2 indexes them), most are new
      for (let k = 0; k < 5; k++) h[`x-v${k}`] = k === 0 && i % 3 === 0 ? "repeated" : value();
      sent.push(h);
    }
    const seen: HeaderField[][] = [];
    const d = new HpackDecoder();
    const srv = net.createServer((sock) => {
      let buf = Buffer.alloc(0);
      let preface = 24;
      // our SETTINGS (empty) and an ACK of the client's
      sock.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0]));
      sock.on("data", (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (preface > 0) {
          const skip = Math.min(preface, buf.length);
          preface -= skip;
          buf = buf.subarray(skip);
        }
        while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
          const len = buf.readUIntBE(0, 3);
          const p = buf.subarray(9, 9 + len);
          // node sends one HEADERS frame (END_HEADERS) per request here: no padding, no priority
          if (buf[3] === 1) {
            expect((buf[4] as number) & 0x2c).toBe(0x04);
            seen.push(d.decode(p));
          }
          buf = buf.subarray(9 + len);
        }
      });
      sock.on("error", () => {});
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const client = http2.connect(`http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`);
    client.on("error", () => {});
    try {
      for (const h of sent) client.request(h, { endStream: true }).on("error", () => {});
      await waitFor(() => seen.length >= sent.length, 5_000, "every request's headers");
    } finally {
      client.destroy();
      srv.close();
    }
    expect(seen.length).toBe(sent.length);
    seen.forEach((fields, i) => {
      const got = Object.fromEntries(fields.filter(([n]) => n === ":path" || n.startsWith("x-v")));
      expect(got).toEqual(sent[i]);
    });
  });

  it("hands out the same field for a repeated static-name literal, and a new one when it changes", () => {
    const d = new HpackDecoder();
    // literal without indexing, static name 4 (:path), raw string
    const lit = (v: string): Buffer => Buffer.from([0x04, v.length, ...Buffer.from(v)]);
    const a1 = d.decode(lit("/svc/A"));
    const a2 = d.decode(Buffer.concat([lit("/svc/A"), lit("/svc/A")]));
    expect(a1).toEqual([[":path", "/svc/A"]]);
    expect(a2).toEqual([
      [":path", "/svc/A"],
      [":path", "/svc/A"],
    ]);
    expect(a2[0]).toBe(a1[0]);
    expect(a2).not.toBe(a1);
    // a longer value sharing the prefix bytes, then back: never the stale field
    expect(d.decode(lit("/svc/AB"))).toEqual([[":path", "/svc/AB"]]);
    expect(d.decode(lit("/svc/A"))).toEqual([[":path", "/svc/A"]]);
    // the Huffman form of a value (RFC 7541 C.4.1) is other bytes: decoded, to the same value
    const raw = d.decode(Buffer.from([0x01, 15, ...Buffer.from("www.example.com")]));
    const huff = d.decode(Buffer.from("018cf1e3c2e5f23a6ba0ab90f4ff", "hex"));
    expect(huff).toEqual(raw);
    expect(huff[0]).not.toBe(raw[0]);
    expect(d.decode(Buffer.from("018cf1e3c2e5f23a6ba0ab90f4ff", "hex"))[0]).toBe(huff[0]);
  });

  it("RFC 9113 §8.2.1: says which field of a block has invalid characters, however it is referenced again", () => {
    const d = new HpackDecoder();
    const raw = (s: string): number[] => [s.length, ...Buffer.from(s, "latin1")];
    // literal with incremental indexing, new name (0x40); without indexing, new name (0x00)
    const add = (n: string, v: string): Buffer => Buffer.from([0x40, ...raw(n), ...raw(v)]);
    const lit = (n: string, v: string): Buffer => Buffer.from([0x00, ...raw(n), ...raw(v)]);
    const path = (v: string): Buffer => Buffer.from([0x04, ...raw(v)]);
    const indexed62 = Buffer.from([0xbe]);
    // valid blocks: nothing to say
    d.decode(Buffer.concat([Buffer.from([0x82]), path("/a"), lit("x-ok", "v")]));
    expect(d.fieldProblem).toBeUndefined();
    // each kind of bad literal, named by its field
    d.decode(lit("X-Up", "v"));
    expect(d.fieldProblem).toBe('upper-case header field name "X-Up"');
    d.decode(lit("x-sp", " v"));
    expect(d.fieldProblem).toBe("white space around the value of x-sp");
    d.decode(lit("x a", "v"));
    expect(d.fieldProblem).toBe('invalid character in header field name "x a"');
    d.decode(lit(":p:th", "/"));
    expect(d.fieldProblem).toBe('invalid character in header field name ":p:th"');
    d.decode(lit("", "v"));
    expect(d.fieldProblem).toBe("empty header field name");
    // the first bad field of a block is the one named; the next valid block says nothing
    d.decode(Buffer.concat([lit("x-ok", "v"), lit("x-nl", "a\nb"), lit("x-cr", "\r")]));
    expect(d.fieldProblem).toBe("NUL, CR or LF in the value of x-nl");
    d.decode(lit("x-ok", "v"));
    expect(d.fieldProblem).toBeUndefined();
    // a repeated static-name literal (handed out from the decoder's memo) is still bad
    d.decode(path("/a\0b"));
    expect(d.fieldProblem).toBe("NUL, CR or LF in the value of :path");
    d.decode(path("/a\0b"));
    expect(d.fieldProblem).toBe("NUL, CR or LF in the value of :path");
    // a bad field in the dynamic table: bad each time it is referenced, valid ones are not
    d.decode(add("x-bad", "v "));
    expect(d.fieldProblem).toBe("white space around the value of x-bad");
    d.decode(indexed62);
    expect(d.fieldProblem).toBe("white space around the value of x-bad");
    // a literal naming the bad entry with a good value is valid (the value was the problem)
    d.decode(Buffer.from([0x0f, 0x2f, ...raw("v")]));
    expect(d.fieldProblem).toBeUndefined();
    d.decode(add("Bad-Name", "v"));
    expect(d.fieldProblem).toBe('upper-case header field name "Bad-Name"');
    // ... but naming an entry whose name is bad is bad, whatever the value
    d.decode(Buffer.from([0x0f, 0x2f, ...raw("w")]));
    expect(d.fieldProblem).toBe('upper-case header field name "Bad-Name"');
    // a valid entry pushes the bad ones along: index 62 is valid now
    d.decode(add("x-good", "v"));
    expect(d.fieldProblem).toBeUndefined();
    d.decode(indexed62);
    expect(d.fieldProblem).toBeUndefined();
    expect(d.decode(Buffer.from([0xbf]))).toEqual([["Bad-Name", "v"]]);
    expect(d.fieldProblem).toBe('upper-case header field name "Bad-Name"');
  });

  it("decodes a region of a larger buffer without reading past its end", () => {
    const d = new HpackDecoder();
    const block = Buffer.from([0xff, 0x82, 0x04, 0x03, 0x2f, 0x61, 0x62, 0xff]);
    // [1, 2): one indexed field (:method GET)
    expect(d.decode(block, 1, 2)).toEqual([[":method", "GET"]]);
    // [1, 6): the :path literal's 3 bytes end past the region at 6
    expect(() => d.decode(block, 1, 6)).toThrow("truncated string");
    expect(d.decode(block, 1, 7)).toEqual([
      [":method", "GET"],
      [":path", "/ab"],
    ]);
    // the same literal again, now remembered, but cut short by the region's end
    expect(() => d.decode(block, 2, 6)).toThrow(HpackError);
  });

  it("decodes the same bytes by the table's state: a dynamic name changes, a static one does not", () => {
    const d = new HpackDecoder();
    const raw = (s: string): number[] => [s.length, ...Buffer.from(s)];
    // literal with incremental indexing, new name (0x40): the entry becomes index 62
    const add = (n: string, v: string): Buffer => Buffer.from([0x40, ...raw(n), ...raw(v)]);
    // literal without indexing naming index 62 (0x0f 0x2f: 15 + 47), and naming :path (4)
    const byDynamicName = Buffer.from([0x0f, 0x2f, ...raw("v")]);
    const byPath = Buffer.from([0x04, ...raw("/svc.S/M")]);
    d.decode(add("x-a", "1"));
    expect(d.decode(Buffer.concat([byDynamicName, byPath]))).toEqual([
      ["x-a", "v"],
      [":path", "/svc.S/M"],
    ]);
    // a newer entry is index 62 now: the same bytes name it
    d.decode(add("x-b", "2"));
    expect(d.decode(byDynamicName)).toEqual([["x-b", "v"]]);
    // a table size update to 0 empties the table: index 62 is gone, :path is unchanged
    expect(d.decode(Buffer.concat([Buffer.from([0x20]), byPath]))).toEqual([[":path", "/svc.S/M"]]);
    expect(() => d.decode(byDynamicName)).toThrow("index 62 out of range");
    // back to 4,096 bytes and a new entry: index 62 again, with its own name
    d.decode(Buffer.concat([Buffer.from([0x3f, 0xe1, 0x1f]), add("x-c", "3")]));
    expect(d.decode(Buffer.concat([byDynamicName, byPath]))).toEqual([
      ["x-c", "v"],
      [":path", "/svc.S/M"],
    ]);
  });

  it("never encodes past blockBound (the room reserved in the output buffer)", () => {
    const rnd = prng(0xb0b0);
    const names = [":path", ":authority", "content-type", "grpc-timeout", "date", "x-a", "cookie"];
    // 0: literals only; 100: constant eviction; 4,096: the default table
    for (const tableSize of [0, 100, 4096]) {
      const enc = new HpackEncoder(tableSize);
      const dec = new HpackDecoder();
      for (let b = 0; b < 500; b++) {
        const list: HeaderField[] = [];
        for (let i = 0, n = 1 + Math.floor(rnd() * 10); i < n; i++) {
          const name =
            rnd() < 0.2
              ? `x-${"n".repeat(Math.floor(rnd() * 300))}`
              : (names[Math.floor(rnd() * names.length)] as string);
          // lengths around the 1-, 2- and 3-byte integer encodings (127, 16,510)
          const r = rnd();
          const len =
            r < 0.5
              ? Math.floor(rnd() * 10)
              : r < 0.9
                ? 120 + Math.floor(rnd() * 20)
                : 16_500 + Math.floor(rnd() * 20);
          list.push([name, rnd() < 0.5 ? "v".repeat(len) : String(Math.floor(rnd() * 5))]);
        }
        const bound = blockBound(list);
        // guard bytes either side of the reserved region
        const out = Buffer.alloc(bound + 64, 0xee);
        const end = enc.encodeInto(list, out, 32);
        expect(end - 32).toBeLessThanOrEqual(bound);
        expect(out.subarray(32 + bound).every((x) => x === 0xee)).toBe(true);
        expect(out.subarray(0, 32).every((x) => x === 0xee)).toBe(true);
        expect(dec.decode(out, 32, end)).toEqual(list);
      }
    }
  });
});
