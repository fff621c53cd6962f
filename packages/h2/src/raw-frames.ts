/**
 * Frames as whole Buffers, outside any connection: just enough HTTP/2 framing and HPACK to
 * synthesise the stream-1 HEADERS frame of an `Upgrade: h2c` request (RFC 7540 §3.2), and for
 * tests to speak raw HTTP/2 (the constants are `wire.ts`'s).
 * Header fields are encoded as "literal without indexing, new name" (RFC 7541 §6.2.2), so
 * no dynamic-table state is shared with the peer's own header blocks.
 */

function hpackInt(out: number[], value: number, prefixBits: number, firstByte: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(firstByte | value);
    return;
  }
  out.push(firstByte | max);
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function hpackString(out: number[], s: Buffer): void {
  hpackInt(out, s.length, 7, 0);
  for (const b of s) out.push(b);
}

/** HPACK-encodes header fields as literals without indexing (no Huffman). */
export function encodeHeaderBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    out.push(0x00);
    hpackString(out, Buffer.from(name, "latin1"));
    hpackString(out, Buffer.from(value, "latin1"));
  }
  return Buffer.from(out);
}

/** Serialises one frame. */
export function encodeFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer,
): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

/** A parsed frame. */
export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** Splits complete frames off the front of `buf`; returns them and the unconsumed rest. */
export function decodeFrames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let off = 0;
  while (buf.length - off >= 9) {
    const len = buf.readUIntBE(off, 3);
    if (buf.length - off < 9 + len) break;
    frames.push({
      type: buf[off + 3] as number,
      flags: buf[off + 4] as number,
      streamId: buf.readUInt32BE(off + 5) & 0x7fffffff,
      payload: buf.subarray(off + 9, off + 9 + len),
    });
    off += 9 + len;
  }
  return { frames, rest: buf.subarray(off) };
}
