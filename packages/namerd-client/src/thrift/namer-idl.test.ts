/**
 * The namer IDL over the Thrift binary protocol: a bind call and its replies byte for byte
 * against hand-computed encodings (field ids and types from namer.thrift), round trips of
 * every struct, old-style message headers, unknown fields, and hostile lengths.
 */
import { Path } from "@l5d/dtab";
import { describe, expect, it } from "vitest";
import {
  addrMethod,
  type Bound,
  bindMethod,
  decodeReply,
  delegateMethod,
  dtabMethod,
  encodeApplicationException,
  encodeCall,
  encodeReply,
  readCallArgs,
  readCallHeader,
  TApplicationExceptionType,
} from "./namer-idl.js";
import { ThriftProtocolError, ThriftReader, ThriftWriter, TType } from "./thrift-binary.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const ascii = (s: string) => Buffer.from(s, "latin1").toString("hex");
const str = (s: string) => `${Buffer.byteLength(s).toString(16).padStart(8, "0")} ${ascii(s)}`;

describe("bind over the binary protocol", () => {
  const req = {
    dtab: "/a=>/b",
    name: { stamp: Buffer.alloc(0), name: Path.read("/svc/x"), ns: "default" },
    clientId: Path.empty,
  };
  // message: strict CALL header, args { 1: BindReq }
  const callHex = `
    80010001 ${str("bind")} 00000007
    0c 0001
      0b 0001 ${str("/a=>/b")}
      0c 0002
        0b 0001 00000000
        0f 0002 0b 00000002 ${str("svc")} ${str("x")}
        0b 0003 ${str("default")}
        00
      0f 0003 0b 00000000
      00
    00`;

  it("encodes a call byte for byte, and reads it back", () => {
    const call = encodeCall(bindMethod, 7, req);
    expect(call).toEqual(hex(callHex));
    const { header, reader } = readCallHeader(call);
    expect(header).toEqual({ name: "bind", type: 1, seqid: 7 });
    expect(readCallArgs(header, reader)).toEqual({ method: "bind", seqid: 7, req });
  });

  it("reads an old-style (non-strict) message header", () => {
    const old = hex(`${str("bind")} 01 00000007 0c 0001 0c 0002 00 00 00`);
    const { header, reader } = readCallHeader(old);
    expect(header).toEqual({ name: "bind", type: 1, seqid: 7 });
    const c = readCallArgs(header, reader);
    expect(c.method).toBe("bind");
    expect(c.req).toMatchObject({ dtab: "", clientId: Path.empty });
  });

  it("encodes a Bound reply (result field 0) and a BindFailure (result field 1)", () => {
    const bound: Bound = {
      stamp: hex("0000000000000001"),
      tree: {
        root: { type: "alt", ids: [0, 1] },
        nodes: new Map([
          [0, { type: "leaf", name: { id: Path.read("/#/io.l5d.fs/x"), residual: Path.empty } }],
          [1, { type: "neg" }],
        ]),
      },
      ns: "default",
    };
    const ok = encodeReply(bindMethod, 7, { ok: bound });
    expect(ok).toEqual(
      hex(`
        80010002 ${str("bind")} 00000007
        0c 0000
          0b 0001 00000008 0000000000000001
          0c 0002
            0c 0001 0f 0005 08 00000002 00000000 00000001 00
            0d 0002 08 0c 00000002
              00000000 0c 0004 0f 0001 0b 00000003 ${str("#")} ${str("io.l5d.fs")} ${str("x")} 0f 0002 0b 00000000 00 00
              00000001 0c 0001 00 00
            00
          0b 0003 ${str("default")}
          00
        00`),
    );
    expect(decodeReply(bindMethod, ok)).toEqual({ kind: "ok", value: bound });

    const failure = encodeReply(bindMethod, 7, {
      failure: { reason: "no", retryInSeconds: 0, ns: "default" },
    });
    expect(failure).toEqual(
      hex(`80010002 ${str("bind")} 00000007
        0c 0001 0b 0001 ${str("no")} 08 0002 00000000 0b 0004 ${str("default")} 00
        00`),
    );
    expect(decodeReply(bindMethod, failure)).toEqual({
      kind: "failure",
      failure: { reason: "no", retryInSeconds: 0, ns: "default" },
    });
  });

  it("reads a TApplicationException and an empty result", () => {
    const ex = encodeApplicationException(
      "bind",
      7,
      TApplicationExceptionType.PROTOCOL_ERROR,
      "bad",
    );
    expect(ex).toEqual(
      hex(`80010003 ${str("bind")} 00000007 0b 0001 ${str("bad")} 08 0002 00000007 00`),
    );
    const r = decodeReply(bindMethod, ex);
    expect(r.kind).toBe("exception");
    if (r.kind === "exception") {
      expect(r.error.message).toBe("bad");
      expect(r.error.type).toBe(7);
    }
    const empty = hex(`80010002 ${str("bind")} 00000007 00`);
    expect(decodeReply(bindMethod, empty)).toMatchObject({
      kind: "exception",
      error: { type: TApplicationExceptionType.MISSING_RESULT },
    });
  });
});

describe("round trips", () => {
  it("addr: bound addresses with metadata, neg, and AddrFailure", () => {
    const rep = {
      stamp: hex("01"),
      value: {
        type: "bound" as const,
        bound: {
          addresses: [
            { ip: hex("7f000001"), port: 8080 },
            {
              ip: hex("00000000000000000000000000000001"),
              port: 9,
              meta: { nodeName: "n1", endpointAddrWeight: 2.5 },
            },
          ],
          meta: { authority: "svc.local" },
        },
      },
    };
    expect(decodeReply(addrMethod, encodeReply(addrMethod, 1, { ok: rep }))).toEqual({
      kind: "ok",
      value: rep,
    });
    const neg = { stamp: hex("02"), value: { type: "neg" as const } };
    expect(decodeReply(addrMethod, encodeReply(addrMethod, 1, { ok: neg }))).toEqual({
      kind: "ok",
      value: neg,
    });
    const name = { stamp: hex("03"), name: Path.read("/#/x"), ns: "" };
    const fail = { reason: "gone", retryInSeconds: 0, name };
    expect(decodeReply(addrMethod, encodeReply(addrMethod, 1, { failure: fail }))).toEqual({
      kind: "failure",
      failure: fail,
    });
    const call = encodeCall(addrMethod, 3, { name, clientId: Path.read("/c") });
    const h = readCallHeader(call);
    expect(readCallArgs(h.header, h.reader)).toEqual({
      method: "addr",
      seqid: 3,
      req: { name, clientId: Path.read("/c") },
    });
  });

  it("dtab and delegate", () => {
    const call = encodeCall(dtabMethod, 1, {
      stamp: hex("aa"),
      ns: "default",
      clientId: Path.empty,
    });
    const h = readCallHeader(call);
    expect(readCallArgs(h.header, h.reader).req).toEqual({
      stamp: hex("aa"),
      ns: "default",
      clientId: Path.empty,
    });
    const ref = { stamp: hex("bb"), dtab: "/svc=>/#/io.l5d.fs" };
    expect(decodeReply(dtabMethod, encodeReply(dtabMethod, 1, { ok: ref }))).toEqual({
      kind: "ok",
      value: ref,
    });
    const delegation = {
      stamp: hex("0000000000000001"),
      tree: {
        root: {
          path: Path.read("/svc/x"),
          dentry: "/svc=>/#/io.l5d.fs",
          contents: { type: "delegate" as const, id: 0 },
        },
        nodes: new Map([
          [
            0,
            {
              path: Path.read("/#/io.l5d.fs/x"),
              dentry: "/svc=>/#/io.l5d.fs",
              contents: {
                type: "transformation" as const,
                value: { id: Path.read("/#/io.l5d.fs/x"), residual: Path.empty },
                tree: 1,
              },
            },
          ],
          [
            1,
            {
              path: Path.read("/#/io.l5d.fs/x"),
              dentry: "/svc=>/#/io.l5d.fs",
              contents: { type: "weighted" as const, members: [{ weight: 0.5, id: 2 }] },
            },
          ],
          [
            2,
            {
              path: Path.empty,
              dentry: "/a=>/b",
              contents: { type: "error" as const, message: "e" },
            },
          ],
        ]),
      },
      ns: "default",
    };
    expect(decodeReply(delegateMethod, encodeReply(delegateMethod, 1, { ok: delegation }))).toEqual(
      { kind: "ok", value: delegation },
    );
  });
});

describe("hostile input", () => {
  it("skips unknown fields of every type", () => {
    const w = new ThriftWriter();
    w.messageBegin("dtab", 1, 1);
    w.fieldBegin(TType.STRUCT, 1);
    // unknown fields before the known ones
    w.fieldBegin(TType.MAP, 9).mapBegin(TType.STRING, TType.LIST, 1).string("k");
    w.listBegin(TType.I64, 2).i64(1n).i64(2n);
    w.fieldBegin(TType.DOUBLE, 10).double(1.5);
    w.fieldBegin(TType.STRING, 2).string("ns1");
    // a known id with the wrong type is skipped too
    w.fieldBegin(TType.I32, 1).i32(5);
    w.fieldStop();
    w.fieldStop();
    const h = readCallHeader(w.bytes());
    expect(readCallArgs(h.header, h.reader).req).toEqual({
      stamp: Buffer.alloc(0),
      ns: "ns1",
      clientId: Path.empty,
    });
  });

  it("refuses lengths beyond the message without allocating them", () => {
    // a list claiming 2^31-1 paths elements in a 30-byte message
    const w = new ThriftWriter();
    w.messageBegin("dtab", 1, 1);
    w.fieldBegin(TType.STRUCT, 1).fieldBegin(TType.LIST, 3).listBegin(TType.STRING, 0x7fffffff);
    const h = readCallHeader(w.bytes());
    expect(() => readCallArgs(h.header, h.reader)).toThrow(/exceeds the .* bytes left/);
    expect(() => new ThriftReader(hex("7fffffff 00")).string()).toThrow(ThriftProtocolError);
    expect(() => new ThriftReader(hex("ffffffff")).binary()).toThrow(/negative/);
    expect(() => readCallHeader(hex("8002 0001"))).toThrow(ThriftProtocolError);
    // truncated everywhere
    const call = encodeCall(bindMethod, 1, {
      dtab: "/a=>/b",
      name: { stamp: hex("01"), name: Path.read("/x"), ns: "default" },
      clientId: Path.empty,
    });
    for (let n = 0; n < call.length; n++) {
      expect(() => {
        const t = readCallHeader(call.subarray(0, n));
        readCallArgs(t.header, t.reader);
      }).toThrow(ThriftProtocolError);
    }
  });

  it("refuses nesting beyond the depth limit", () => {
    const w = new ThriftWriter();
    w.messageBegin("dtab", 1, 1);
    w.fieldBegin(TType.STRUCT, 1);
    for (let i = 0; i < 100; i++) w.fieldBegin(TType.STRUCT, 50);
    const h = readCallHeader(w.bytes());
    expect(() => readCallArgs(h.header, h.reader)).toThrow(/nested too deep/);
  });

  it("refuses a call of an unknown method and a reply to another method", () => {
    const w = new ThriftWriter().messageBegin("nope", 1, 1).fieldStop();
    const h = readCallHeader(w.bytes());
    expect(() => readCallArgs(h.header, h.reader)).toThrow(/unknown method nope/);
    const dtabReply = encodeReply(dtabMethod, 1, { ok: { stamp: hex("01"), dtab: "" } });
    expect(() => decodeReply(bindMethod, dtabReply)).toThrow(/reply to bind, got one to dtab/);
  });
});
