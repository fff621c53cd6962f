/**
 * Mux messages against frames computed by hand from the protocol description (finagle-mux
 * `mux/package.scala`, `transport/Message.scala`), byte for byte, and back; the stream framer
 * and fragment joiner within their limits.
 */
import { describe, expect, it } from "vitest";
import { FragmentJoiner, FrameDecoder, MuxFramingError } from "./mux-framer.js";
import {
  decodeMessage,
  encodeMessage,
  type MuxMessage,
  MuxProtocolError,
  TAG_MSB,
} from "./mux-message.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const ascii = (s: string) => Buffer.from(s, "latin1").toString("hex");

/** Decodes a whole frame (size prefix included) after checking the prefix. */
function roundTrip(frame: Buffer): MuxMessage {
  expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
  return decodeMessage(frame.subarray(4));
}

describe("Mux message encoding, byte for byte", () => {
  it("the Tinit probe: a marker Rerr on tag 1 (Finagle sends type 127)", () => {
    const f = encodeMessage({ type: "Rerr", tag: 1, why: "tinit check" });
    // size 4 + 11, type 0x7f, tag 000001, "tinit check"
    expect(f).toEqual(hex(`0000000f 7f 000001 ${ascii("tinit check")}`));
    expect(roundTrip(f)).toEqual({ type: "Rerr", tag: 1, why: "tinit check" });
  });

  it("Tinit and Rinit: version 1, then (key~4 value~4) headers", () => {
    const headers: [Buffer, Buffer][] = [
      [Buffer.from("mux-framer"), hex("01000000")],
      [Buffer.from("tls"), Buffer.from("off")],
    ];
    const t = encodeMessage({ type: "Tinit", tag: 1, version: 1, headers });
    // 4 + 2 + (4+10+4+4) + (4+3+4+3) = 42
    const body = `0001 0000000a ${ascii("mux-framer")} 00000004 01000000 00000003 ${ascii("tls")} 00000003 ${ascii("off")}`;
    expect(t).toEqual(hex(`0000002a 44 000001 ${body}`));
    expect(roundTrip(t)).toEqual({ type: "Tinit", tag: 1, version: 1, headers });
    // Rinit is type -68 (0xbc)
    const r = encodeMessage({ type: "Rinit", tag: 1, version: 1, headers });
    expect(r).toEqual(hex(`0000002a bc 000001 ${body}`));
    expect(roundTrip(r)).toEqual({ type: "Rinit", tag: 1, version: 1, headers });
  });

  it("Tdispatch carrying a thrift call, and its Rdispatch", () => {
    // a strict binary-protocol CALL of `dtab` with seqid 7 and an empty args struct
    const call = hex(`80010001 00000004 ${ascii("dtab")} 00000007 00`);
    const f = encodeMessage({
      type: "Tdispatch",
      tag: 2,
      contexts: [],
      dst: "",
      dtab: [],
      body: call,
    });
    // nctx:2 = 0, dst~2 = empty, nd:2 = 0, then the body
    expect(f).toEqual(hex(`0000001b 02 000002 0000 0000 0000 ${call.toString("hex")}`));
    expect(roundTrip(f)).toEqual({
      type: "Tdispatch",
      tag: 2,
      contexts: [],
      dst: "",
      dtab: [],
      body: call,
    });

    const withAll = encodeMessage({
      type: "Tdispatch",
      tag: 0x123456,
      contexts: [[Buffer.from("k"), Buffer.from("vv")]],
      dst: "/s",
      dtab: [["/a", "/b"]],
      body: Buffer.from("x"),
    });
    expect(withAll).toEqual(
      hex(
        `0000001c 02 123456 0001 0001 6b 0002 7676 0002 2f73 0001 0002 2f61 0002 2f62 ${ascii("x")}`,
      ),
    );
    expect(roundTrip(withAll)).toMatchObject({
      type: "Tdispatch",
      tag: 0x123456,
      dst: "/s",
      dtab: [["/a", "/b"]],
    });

    const reply = encodeMessage({
      type: "Rdispatch",
      tag: 2,
      status: 0,
      contexts: [],
      body: Buffer.from("ok"),
    });
    // type -2 (0xfe), status 0, nctx 0
    expect(reply).toEqual(hex("00000009 fe 000002 00 0000 6f6b"));
    expect(roundTrip(reply)).toEqual({
      type: "Rdispatch",
      tag: 2,
      status: 0,
      contexts: [],
      body: Buffer.from("ok"),
    });
  });

  it("Rerr, Tping/Rping, Tdrain/Rdrain, Tdiscarded/Rdiscarded, Tlease", () => {
    expect(encodeMessage({ type: "Rerr", tag: 5, why: "boom" })).toEqual(
      hex(`00000008 7f 000005 ${ascii("boom")}`),
    );
    // Rerr also decodes from its official type -128
    expect(decodeMessage(hex(`80 000005 ${ascii("boom")}`))).toEqual({
      type: "Rerr",
      tag: 5,
      why: "boom",
    });
    expect(encodeMessage({ type: "Tping", tag: 1 })).toEqual(hex("00000004 41 000001"));
    expect(encodeMessage({ type: "Rping", tag: 1 })).toEqual(hex("00000004 bf 000001"));
    expect(encodeMessage({ type: "Tdrain", tag: 1 })).toEqual(hex("00000004 40 000001"));
    expect(encodeMessage({ type: "Rdrain", tag: 1 })).toEqual(hex("00000004 c0 000001"));
    // Tdiscarded: marker tag 0, Finagle's type -62 (0xc2), discard_tag:3, why
    const td = encodeMessage({ type: "Tdiscarded", tag: 0, which: 7, why: "x" });
    expect(td).toEqual(hex("00000008 c2 000000 000007 78"));
    expect(roundTrip(td)).toEqual({ type: "Tdiscarded", tag: 0, which: 7, why: "x" });
    // ... and from its official type 66
    expect(decodeMessage(hex("42 000000 000007 78"))).toMatchObject({ which: 7 });
    expect(encodeMessage({ type: "Rdiscarded", tag: 7 })).toEqual(hex("00000004 be 000007"));
    const lease = encodeMessage({ type: "Tlease", tag: 0, unit: 0, howLong: 1000n });
    expect(lease).toEqual(hex("0000000d 43 000000 00 00000000000003e8"));
    expect(roundTrip(lease)).toEqual({ type: "Tlease", tag: 0, unit: 0, howLong: 1000n });
    for (const m of [
      { type: "Tping", tag: 1 },
      { type: "Rping", tag: 1 },
      { type: "Tdrain", tag: 1 },
      { type: "Rdrain", tag: 1 },
      { type: "Rdiscarded", tag: 9 },
    ] as const)
      expect(roundTrip(encodeMessage(m))).toEqual(m);
  });

  it("the legacy Treq/Rreq", () => {
    const t = encodeMessage({ type: "Treq", tag: 3, body: Buffer.from("hi") });
    expect(t).toEqual(hex("00000007 01 000003 00 6869"));
    // trace keys are skipped
    expect(decodeMessage(hex("01 000003 01 02 02 aabb 6869"))).toEqual({
      type: "Treq",
      tag: 3,
      body: Buffer.from("hi"),
    });
    expect(
      roundTrip(encodeMessage({ type: "Rreq", tag: 3, status: 1, body: Buffer.from("e") })),
    ).toEqual({ type: "Rreq", tag: 3, status: 1, body: Buffer.from("e") });
  });

  it("refuses malformed messages", () => {
    expect(() => decodeMessage(hex("02 00"))).toThrow(MuxProtocolError);
    // a Tdispatch whose dst length runs past the end
    expect(() => decodeMessage(hex("02 000002 0000 00ff 2f"))).toThrow(/short/);
    expect(() => decodeMessage(hex("33 000002"))).toThrow(/unknown message type 51/);
    expect(() => decodeMessage(hex("fe 000002 07 0000"))).toThrow(/invalid Rdispatch status/);
    expect(() => decodeMessage(hex("c2 000000 0000"))).toThrow(/short Tdiscarded/);
    // a tag wider than 23 bits cannot be encoded
    expect(() => encodeMessage({ type: "Tping", tag: 1 << 24 })).toThrow(MuxProtocolError);
  });
});

describe("FrameDecoder", () => {
  it("splits a stream cut at every byte boundary", () => {
    const frames = [
      encodeMessage({ type: "Tping", tag: 1 }),
      encodeMessage({ type: "Rerr", tag: 4, why: "x".repeat(300) }),
      encodeMessage({ type: "Rping", tag: 1 }),
    ];
    const stream = Buffer.concat(frames);
    const d = new FrameDecoder(1024);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
    expect(out.map((f) => decodeMessage(f).type)).toEqual(["Tping", "Rerr", "Rping"]);
    expect(d.buffered).toBe(0);
  });

  it("refuses an oversized frame from its size prefix alone, before buffering it", () => {
    const d = new FrameDecoder(16 * 1024 * 1024);
    expect(() => d.push(hex("01000001"))).toThrow(MuxFramingError);
    // "GET " read as a size is ~1.2 GB
    expect(() => new FrameDecoder().push(Buffer.from("GET / HTTP/1.1\r\n"))).toThrow(
      /over the 16777216-byte limit/,
    );
    expect(() => new FrameDecoder().push(hex("00000002 0000"))).toThrow(/below the 4-byte/);
  });
});

describe("FragmentJoiner", () => {
  it("joins fragments (tag MSB set) with the final frame of the same tag", () => {
    const whole = encodeMessage({
      type: "Rdispatch",
      tag: 9,
      status: 0,
      contexts: [],
      body: Buffer.from("abcdefgh"),
    }).subarray(4);
    const body = whole.subarray(4);
    const part = (b: Buffer, last: boolean) => {
      const h = Buffer.alloc(4);
      h.writeInt8(-2, 0);
      h.writeUIntBE(last ? 9 : 9 | TAG_MSB, 1, 3);
      return Buffer.concat([h, b]);
    };
    const j = new FragmentJoiner(1024);
    expect(j.accept(part(body.subarray(0, 4), false))).toBeUndefined();
    expect(j.accept(part(body.subarray(4, 6), false))).toBeUndefined();
    const joined = j.accept(part(body.subarray(6), true));
    expect(joined).toEqual(whole);
    expect(decodeMessage(joined!)).toMatchObject({ tag: 9, body: Buffer.from("abcdefgh") });
  });

  it("bounds the bytes held in fragments, all tags together", () => {
    const j = new FragmentJoiner(10);
    const frag = (tag: number, n: number) => {
      const h = Buffer.alloc(4);
      h.writeInt8(2, 0);
      h.writeUIntBE(tag | TAG_MSB, 1, 3);
      return Buffer.concat([h, Buffer.alloc(n)]);
    };
    expect(j.accept(frag(2, 6))).toBeUndefined();
    expect(() => j.accept(frag(3, 6))).toThrow(MuxFramingError);
    // a discarded exchange's fragments are forgotten
    const k = new FragmentJoiner(10);
    k.accept(frag(2, 6));
    k.drop(2);
    expect(k.accept(frag(3, 6))).toBeUndefined();
  });
});
