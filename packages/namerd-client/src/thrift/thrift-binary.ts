/**
 * Apache Thrift's binary protocol (TBinaryProtocol), the encoding ThriftMux carries inside a
 * Mux Tdispatch: big-endian fixed-width numbers, `i32 length + bytes` strings, fields as
 * `type:1 id:2 value`, a struct ended by a STOP byte, containers as `elemType:1 size:4` (map:
 * `keyType:1 valueType:1 size:4`). Messages are written strict (`0x80010000 | type`, name,
 * seqid), as Finagle does; both strict and old-style message headers are read.
 *
 * The reader never trusts a length: every size is checked against the bytes left before
 * anything is allocated, and skipping unknown values is depth-limited, so a hostile peer can
 * make it throw `ThriftProtocolError` but not allocate more than it sent.
 */

export const TType = {
  STOP: 0,
  BOOL: 2,
  BYTE: 3,
  DOUBLE: 4,
  I16: 6,
  I32: 8,
  I64: 10,
  STRING: 11,
  STRUCT: 12,
  MAP: 13,
  SET: 14,
  LIST: 15,
} as const;

export const TMessageType = { CALL: 1, REPLY: 2, EXCEPTION: 3, ONEWAY: 4 } as const;

const VERSION_1 = 0x80010000;
const VERSION_MASK = 0xffff0000;
/** Nesting beyond this is refused (our IDL nests a handful of levels). */
export const MAX_THRIFT_DEPTH = 64;

/** A message that does not follow the binary protocol. */
export class ThriftProtocolError extends Error {
  override readonly name = "ThriftProtocolError";
}

export interface MessageHeader {
  readonly name: string;
  readonly type: number;
  readonly seqid: number;
}

/** Appends binary-protocol values to a growing buffer. */
export class ThriftWriter {
  #buf: Buffer;
  #len = 0;

  constructor(initial = 256) {
    this.#buf = Buffer.allocUnsafe(initial);
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  byte(v: number): this {
    this.#ensure(1);
    this.#buf.writeInt8(v, this.#len);
    this.#len += 1;
    return this;
  }

  bool(v: boolean): this {
    return this.byte(v ? 1 : 0);
  }

  i16(v: number): this {
    this.#ensure(2);
    this.#buf.writeInt16BE(v, this.#len);
    this.#len += 2;
    return this;
  }

  i32(v: number): this {
    this.#ensure(4);
    this.#buf.writeInt32BE(v | 0, this.#len);
    this.#len += 4;
    return this;
  }

  i64(v: bigint): this {
    this.#ensure(8);
    this.#buf.writeBigInt64BE(v, this.#len);
    this.#len += 8;
    return this;
  }

  double(v: number): this {
    this.#ensure(8);
    this.#buf.writeDoubleBE(v, this.#len);
    this.#len += 8;
    return this;
  }

  binary(b: Uint8Array): this {
    this.i32(b.length);
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  string(s: string): this {
    return this.binary(Buffer.from(s, "utf8"));
  }

  fieldBegin(type: number, id: number): this {
    return this.byte(type).i16(id);
  }

  fieldStop(): this {
    return this.byte(TType.STOP);
  }

  listBegin(elemType: number, size: number): this {
    return this.byte(elemType).i32(size);
  }

  setBegin(elemType: number, size: number): this {
    return this.listBegin(elemType, size);
  }

  mapBegin(keyType: number, valueType: number, size: number): this {
    return this.byte(keyType).byte(valueType).i32(size);
  }

  /** Strict header: `i32 (VERSION_1 | type)`, name, seqid. */
  messageBegin(name: string, type: number, seqid: number): this {
    return this.i32(VERSION_1 | type)
      .string(name)
      .i32(seqid);
  }

  /** The bytes written so far (a copy-free view). */
  bytes(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
}

/** Reads binary-protocol values from one buffer, checking every length. */
export class ThriftReader {
  #pos = 0;

  constructor(readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.#pos;
  }

  #need(n: number, what: string): void {
    if (n < 0 || this.#pos + n > this.buf.length)
      throw new ThriftProtocolError(`truncated ${what}: need ${n} bytes, ${this.remaining} left`);
  }

  byte(): number {
    this.#need(1, "byte");
    const v = this.buf.readInt8(this.#pos);
    this.#pos += 1;
    return v;
  }

  bool(): boolean {
    return this.byte() !== 0;
  }

  i16(): number {
    this.#need(2, "i16");
    const v = this.buf.readInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }

  i32(): number {
    this.#need(4, "i32");
    const v = this.buf.readInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }

  i64(): bigint {
    this.#need(8, "i64");
    const v = this.buf.readBigInt64BE(this.#pos);
    this.#pos += 8;
    return v;
  }

  double(): number {
    this.#need(8, "double");
    const v = this.buf.readDoubleBE(this.#pos);
    this.#pos += 8;
    return v;
  }

  /** A copy, so a retained value does not pin the whole message. */
  binary(): Buffer {
    const n = this.i32();
    if (n < 0) throw new ThriftProtocolError(`negative binary length ${n}`);
    this.#need(n, "binary");
    const v = Buffer.from(this.buf.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    return v;
  }

  string(): string {
    const n = this.i32();
    if (n < 0) throw new ThriftProtocolError(`negative string length ${n}`);
    this.#need(n, "string");
    const v = this.buf.toString("utf8", this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  /** The next field's type and id; type STOP (0) ends the struct. */
  fieldBegin(): { type: number; id: number } {
    const type = this.byte();
    if (type === TType.STOP) return { type, id: 0 };
    return { type, id: this.i16() };
  }

  /** A container's size, refused if it could not fit in the bytes left (each element ≥ 1 byte). */
  #size(minElemBytes: number, what: string): number {
    const n = this.i32();
    if (n < 0) throw new ThriftProtocolError(`negative ${what} size ${n}`);
    if (n * minElemBytes > this.remaining)
      throw new ThriftProtocolError(
        `${what} of ${n} elements exceeds the ${this.remaining} bytes left`,
      );
    return n;
  }

  listBegin(): { elemType: number; size: number } {
    const elemType = this.byte();
    return { elemType, size: this.#size(minBytes(elemType), "list") };
  }

  setBegin(): { elemType: number; size: number } {
    const elemType = this.byte();
    return { elemType, size: this.#size(minBytes(elemType), "set") };
  }

  mapBegin(): { keyType: number; valueType: number; size: number } {
    const keyType = this.byte();
    const valueType = this.byte();
    return {
      keyType,
      valueType,
      size: this.#size(minBytes(keyType) + minBytes(valueType), "map"),
    };
  }

  /** Strict (`0x8001....`) or old-style (name first, then a type byte) message header. */
  messageBegin(): MessageHeader {
    const first = this.i32();
    if (first < 0) {
      if ((first & VERSION_MASK) >>> 0 !== VERSION_1)
        throw new ThriftProtocolError(`bad thrift version 0x${(first >>> 0).toString(16)}`);
      const type = first & 0xff;
      const name = this.string();
      return { name, type, seqid: this.i32() };
    }
    this.#need(first, "message name");
    const name = this.buf.toString("utf8", this.#pos, this.#pos + first);
    this.#pos += first;
    const type = this.byte();
    return { name, type, seqid: this.i32() };
  }

  /** Skips one value of `type` (an unknown field), nesting at most MAX_THRIFT_DEPTH deep. */
  skip(type: number, depth = 0): void {
    if (depth > MAX_THRIFT_DEPTH) throw new ThriftProtocolError("thrift value nested too deep");
    switch (type) {
      case TType.BOOL:
      case TType.BYTE:
        this.#advance(1);
        return;
      case TType.I16:
        this.#advance(2);
        return;
      case TType.I32:
        this.#advance(4);
        return;
      case TType.DOUBLE:
      case TType.I64:
        this.#advance(8);
        return;
      case TType.STRING: {
        const n = this.i32();
        if (n < 0) throw new ThriftProtocolError(`negative string length ${n}`);
        this.#advance(n);
        return;
      }
      case TType.STRUCT:
        for (;;) {
          const f = this.fieldBegin();
          if (f.type === TType.STOP) return;
          this.skip(f.type, depth + 1);
        }
      case TType.MAP: {
        const m = this.mapBegin();
        for (let i = 0; i < m.size; i++) {
          this.skip(m.keyType, depth + 1);
          this.skip(m.valueType, depth + 1);
        }
        return;
      }
      case TType.SET:
      case TType.LIST: {
        const l = this.listBegin();
        for (let i = 0; i < l.size; i++) this.skip(l.elemType, depth + 1);
        return;
      }
      default:
        throw new ThriftProtocolError(`unknown thrift type ${type}`);
    }
  }

  #advance(n: number): void {
    this.#need(n, "value");
    this.#pos += n;
  }
}

/** The fewest bytes one value of `type` takes (used to refuse impossible container sizes). */
function minBytes(type: number): number {
  switch (type) {
    case TType.BOOL:
    case TType.BYTE:
    case TType.STRUCT:
      return 1;
    case TType.I16:
      return 2;
    case TType.I32:
    case TType.STRING:
      return 4;
    case TType.DOUBLE:
    case TType.I64:
      return 8;
    case TType.MAP:
      return 6;
    case TType.SET:
    case TType.LIST:
      return 5;
    default:
      throw new ThriftProtocolError(`unknown thrift type ${type}`);
  }
}
