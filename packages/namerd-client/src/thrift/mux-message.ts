/**
 * Mux messages (Finagle's session protocol, `finagle-mux` `transport/Message.scala` and the
 * protocol description in `mux/package.scala`): each frame is `size:4 type:1 tag:3 body`, the
 * size counting type, tag and body. Positive types are T messages, their negation the R reply;
 * 127 and -62 are Finagle's historical aliases for Rerr and Tdiscarded and are what Finagle
 * sends, so we send them too. A tag with its top bit (1 << 23) set is a non-final fragment.
 *
 * `encodeMessage` returns the whole frame (size prefix included); `decodeMessage` takes a
 * frame without its size prefix and throws `MuxProtocolError` on anything malformed.
 */

export const MuxType = {
  Treq: 1,
  Rreq: -1,
  Tdispatch: 2,
  Rdispatch: -2,
  Tdrain: 64,
  Rdrain: -64,
  Tping: 65,
  Rping: -65,
  Tdiscarded: 66,
  Rdiscarded: -66,
  Tlease: 67,
  Tinit: 68,
  Rinit: -68,
  Rerr: -128,
  /** What Finagle sends for Tdiscarded. */
  BAD_Tdiscarded: -62,
  /** What Finagle sends for Rerr. */
  BAD_Rerr: 127,
} as const;

export const MARKER_TAG = 0;
/** Finagle's tag for pings, drains and the handshake; dispatch tags start above it. */
export const CONTROL_TAG = 1;
export const MIN_TAG = 2;
export const MAX_TAG = (1 << 23) - 1;
export const TAG_MSB = 1 << 23;

export const ReplyStatus = { OK: 0, ERROR: 1, NACK: 2 } as const;

/** Key-value pairs (Tinit headers, dispatch contexts). */
export type Headers = ReadonlyArray<readonly [Buffer, Buffer]>;

export type MuxMessage =
  | {
      readonly type: "Tinit" | "Rinit";
      readonly tag: number;
      readonly version: number;
      readonly headers: Headers;
    }
  | {
      readonly type: "Tdispatch";
      readonly tag: number;
      readonly contexts: Headers;
      /** The logical destination (a path's text, empty for none). */
      readonly dst: string;
      /** The request's delegations as `[prefix, tree]` texts. */
      readonly dtab: ReadonlyArray<readonly [string, string]>;
      readonly body: Buffer;
    }
  | {
      readonly type: "Rdispatch";
      readonly tag: number;
      readonly status: number;
      readonly contexts: Headers;
      readonly body: Buffer;
    }
  | { readonly type: "Treq"; readonly tag: number; readonly body: Buffer }
  | { readonly type: "Rreq"; readonly tag: number; readonly status: number; readonly body: Buffer }
  | {
      readonly type: "Tdrain" | "Rdrain" | "Tping" | "Rping" | "Rdiscarded";
      readonly tag: number;
    }
  | { readonly type: "Tdiscarded"; readonly tag: 0; readonly which: number; readonly why: string }
  | { readonly type: "Rerr"; readonly tag: number; readonly why: string }
  | { readonly type: "Tlease"; readonly tag: 0; readonly unit: number; readonly howLong: bigint }
  | {
      readonly type: "fragment";
      readonly typ: number;
      readonly tag: number;
      readonly body: Buffer;
    };

/** A frame that does not follow the Mux protocol. */
export class MuxProtocolError extends Error {
  override readonly name = "MuxProtocolError";
}

function header(typ: number, tag: number, bodyLength: number): Buffer {
  if (tag < 0 || (tag & ~TAG_MSB) > MAX_TAG) throw new MuxProtocolError(`invalid tag ${tag}`);
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(4 + bodyLength, 0);
  b.writeInt8(typ, 4);
  b.writeUIntBE(tag, 5, 3);
  return b;
}

function frame(typ: number, tag: number, ...parts: Buffer[]): Buffer {
  const len = parts.reduce((n, p) => n + p.length, 0);
  return Buffer.concat([header(typ, tag, len), ...parts], 8 + len);
}

function u16(n: number, what: string): Buffer {
  if (n > 0xffff) throw new MuxProtocolError(`${what} is longer than 65535 bytes`);
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(n, 0);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function initBody(version: number, headers: Headers): Buffer[] {
  const v = Buffer.allocUnsafe(2);
  v.writeUInt16BE(version, 0);
  const out: Buffer[] = [v];
  for (const [k, val] of headers) out.push(u32(k.length), k, u32(val.length), val);
  return out;
}

/** `n:2 (key~2 value~2){n}`. */
function contextParts(contexts: Headers): Buffer[] {
  const out = [u16(contexts.length, "context count")];
  for (const [k, v] of contexts)
    out.push(u16(k.length, "context key"), k, u16(v.length, "context value"), v);
  return out;
}

/** The whole frame of `m`, its 4-byte size included. */
export function encodeMessage(m: MuxMessage): Buffer {
  switch (m.type) {
    case "Tinit":
      return frame(MuxType.Tinit, m.tag, ...initBody(m.version, m.headers));
    case "Rinit":
      return frame(MuxType.Rinit, m.tag, ...initBody(m.version, m.headers));
    case "Tdispatch": {
      const dst = Buffer.from(m.dst, "utf8");
      const parts = [...contextParts(m.contexts), u16(dst.length, "dst"), dst];
      parts.push(u16(m.dtab.length, "dtab size"));
      for (const [src, tree] of m.dtab) {
        const s = Buffer.from(src, "utf8");
        const t = Buffer.from(tree, "utf8");
        parts.push(u16(s.length, "dentry prefix"), s, u16(t.length, "dentry tree"), t);
      }
      parts.push(m.body);
      return frame(MuxType.Tdispatch, m.tag, ...parts);
    }
    case "Rdispatch":
      return frame(
        MuxType.Rdispatch,
        m.tag,
        Buffer.of(m.status),
        ...contextParts(m.contexts),
        m.body,
      );
    case "Treq":
      // no trace keys
      return frame(MuxType.Treq, m.tag, Buffer.of(0), m.body);
    case "Rreq":
      return frame(MuxType.Rreq, m.tag, Buffer.of(m.status), m.body);
    case "Tdrain":
      return frame(MuxType.Tdrain, m.tag);
    case "Rdrain":
      return frame(MuxType.Rdrain, m.tag);
    case "Tping":
      return frame(MuxType.Tping, m.tag);
    case "Rping":
      return frame(MuxType.Rping, m.tag);
    case "Rdiscarded":
      return frame(MuxType.Rdiscarded, m.tag);
    case "Tdiscarded": {
      const which = Buffer.allocUnsafe(3);
      which.writeUIntBE(m.which & MAX_TAG, 0, 3);
      return frame(MuxType.BAD_Tdiscarded, MARKER_TAG, which, Buffer.from(m.why, "utf8"));
    }
    case "Rerr":
      return frame(MuxType.BAD_Rerr, m.tag, Buffer.from(m.why, "utf8"));
    case "Tlease": {
      const b = Buffer.allocUnsafe(9);
      b.writeUInt8(m.unit, 0);
      b.writeBigInt64BE(m.howLong, 1);
      return frame(MuxType.Tlease, MARKER_TAG, b);
    }
    case "fragment":
      return frame(m.typ, m.tag, m.body);
  }
}

/** Sequential reads over one frame's body, each checked against the bytes left. */
class BodyReader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly what: string,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  #need(n: number): void {
    if (this.pos + n > this.buf.length) throw new MuxProtocolError(`short ${this.what}`);
  }

  u8(): number {
    this.#need(1);
    return this.buf.readUInt8(this.pos++);
  }

  u16(): number {
    this.#need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.#need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  bytes(n: number): Buffer {
    this.#need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  rest(): Buffer {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }
}

function utf8(b: Buffer, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(b);
  } catch {
    throw new MuxProtocolError(`${what} is not UTF-8`);
  }
}

function readInit(r: BodyReader): { version: number; headers: Headers } {
  const version = r.u16();
  const headers: [Buffer, Buffer][] = [];
  while (r.remaining > 0) {
    const k = r.bytes(r.u32());
    const v = r.bytes(r.u32());
    headers.push([Buffer.from(k), Buffer.from(v)]);
  }
  return { version, headers };
}

function readContexts(r: BodyReader): Headers {
  const n = r.u16();
  const out: [Buffer, Buffer][] = [];
  for (let i = 0; i < n; i++) {
    const k = r.bytes(r.u16());
    const v = r.bytes(r.u16());
    out.push([Buffer.from(k), Buffer.from(v)]);
  }
  return out;
}

/**
 * Decodes one frame (`type:1 tag:3 body`, without the size prefix). Bodies are views into
 * `frame`; header and context values are copies.
 */
export function decodeMessage(frame: Buffer): MuxMessage {
  if (frame.length < 4) throw new MuxProtocolError(`short message (${frame.length} bytes)`);
  const typ = frame.readInt8(0);
  const tag = frame.readUIntBE(1, 3);
  const body = frame.subarray(4);
  if ((tag & TAG_MSB) !== 0) return { type: "fragment", typ, tag, body };
  const r = new BodyReader(body, `message of type ${typ}`);
  switch (typ) {
    case MuxType.Tinit:
      return { type: "Tinit", tag, ...readInit(r) };
    case MuxType.Rinit:
      return { type: "Rinit", tag, ...readInit(r) };
    case MuxType.Tdispatch: {
      const contexts = readContexts(r);
      const dst = utf8(r.bytes(r.u16()), "Tdispatch dst");
      const nd = r.u16();
      const dtab: [string, string][] = [];
      for (let i = 0; i < nd; i++) {
        const src = utf8(r.bytes(r.u16()), "Tdispatch dentry");
        const tree = utf8(r.bytes(r.u16()), "Tdispatch dentry");
        dtab.push([src, tree]);
      }
      return { type: "Tdispatch", tag, contexts, dst, dtab, body: r.rest() };
    }
    case MuxType.Rdispatch: {
      const status = r.u8();
      if (status > ReplyStatus.NACK)
        throw new MuxProtocolError(`invalid Rdispatch status ${status}`);
      const contexts = readContexts(r);
      return { type: "Rdispatch", tag, status, contexts, body: r.rest() };
    }
    case MuxType.Treq: {
      let n = r.u8();
      if (n > 127) throw new MuxProtocolError("Treq: too many keys");
      while (n-- > 0) {
        r.u8();
        r.bytes(r.u8());
      }
      return { type: "Treq", tag, body: r.rest() };
    }
    case MuxType.Rreq: {
      const status = r.u8();
      if (status > ReplyStatus.NACK) throw new MuxProtocolError(`invalid Rreq status ${status}`);
      return { type: "Rreq", tag, status, body: r.rest() };
    }
    case MuxType.Tdrain:
      return { type: "Tdrain", tag };
    case MuxType.Rdrain:
      return { type: "Rdrain", tag };
    case MuxType.Tping:
      return { type: "Tping", tag };
    case MuxType.Rping:
      return { type: "Rping", tag };
    case MuxType.Rdiscarded:
      return { type: "Rdiscarded", tag };
    case MuxType.Rerr:
    case MuxType.BAD_Rerr:
      return { type: "Rerr", tag, why: utf8(r.rest(), "Rerr") };
    case MuxType.Tdiscarded:
    case MuxType.BAD_Tdiscarded: {
      if (r.remaining < 3) throw new MuxProtocolError("short Tdiscarded message");
      const which = (r.u8() << 16) | (r.u8() << 8) | r.u8();
      return { type: "Tdiscarded", tag: 0, which, why: utf8(r.rest(), "Tdiscarded") };
    }
    case MuxType.Tlease: {
      if (r.remaining < 9) throw new MuxProtocolError("short Tlease message");
      const unit = r.u8();
      const howLong = r.bytes(8).readBigInt64BE(0);
      return { type: "Tlease", tag: 0, unit, howLong };
    }
    default:
      throw new MuxProtocolError(`unknown message type ${typ} (tag ${tag})`);
  }
}

/** Finagle's handshake probe: a marker Rerr on the init tag that a Tinit-capable peer echoes. */
export const CAN_TINIT_MSG = "tinit check";
/** The Mux version Finagle speaks (`Mux.LatestVersion`). */
export const MUX_VERSION = 1;
/** Handshake header keys (`MuxFramer.Header.KeyBuf`, `OpportunisticTls.Header.KeyBuf`). */
export const MUX_FRAMER_KEY = "mux-framer";
export const TLS_KEY = "tls";

/** The value of header `key`, if present. */
export function headerValue(headers: Headers, key: string): Buffer | undefined {
  const k = Buffer.from(key, "utf8");
  for (const [hk, v] of headers) if (hk.equals(k)) return v;
  return undefined;
}
