/**
 * Splits a byte stream into Mux frames (`size:4` then `size` bytes) and joins fragmented
 * messages back together, within a byte limit. A frame whose announced size is over the limit
 * is refused as soon as its 4 size bytes arrive, before any of it is buffered, so a peer that
 * sends garbage (an HTTP request reads as a ~1 GB frame) or a huge frame costs at most the
 * limit; fragments of one message count against the same limit, all tags together.
 */
import { TAG_MSB } from "./mux-message.js";

/** Largest frame (and reassembled message) accepted: 16 MiB. */
export const MAX_MUX_FRAME_BYTES = 16 * 1024 * 1024;

/** A frame size out of bounds (over the limit, or below the 4-byte minimum). */
export class MuxFramingError extends Error {
  override readonly name = "MuxFramingError";
}

export class FrameDecoder {
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  /** The size of the frame being read, once its prefix has arrived. */
  #want: number | undefined;

  constructor(readonly maxFrameBytes = MAX_MUX_FRAME_BYTES) {}

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Feeds bytes; returns the complete frames (without their size prefix). Throws on a bad size. */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.#want === undefined) {
        if (this.#buffered < 4) break;
        const size = this.#take(4).readUInt32BE(0);
        if (size < 4) throw new MuxFramingError(`frame size ${size} is below the 4-byte minimum`);
        if (size > this.maxFrameBytes)
          throw new MuxFramingError(
            `frame of ${size} bytes is over the ${this.maxFrameBytes}-byte limit`,
          );
        this.#want = size;
      }
      if (this.#buffered < this.#want) break;
      out.push(this.#take(this.#want));
      this.#want = undefined;
    }
    return out;
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      const v = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      this.#buffered -= n;
      return v;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0]!;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#buffered -= n;
    return out;
  }
}

/**
 * Joins fragments (frames whose tag has the top bit set) with the final frame of the same
 * tag. `accept` returns the whole frame to decode, or undefined while fragments accumulate.
 */
export class FragmentJoiner {
  readonly #pending = new Map<number, Buffer[]>();
  #bytes = 0;

  constructor(readonly maxBytes = MAX_MUX_FRAME_BYTES) {}

  accept(frame: Buffer): Buffer | undefined {
    const typ = frame.readInt8(0);
    const rawTag = frame.readUIntBE(1, 3);
    const tag = rawTag & ~TAG_MSB;
    const body = frame.subarray(4);
    const isFragment = (rawTag & TAG_MSB) !== 0;
    const prior = this.#pending.get(tag);
    if (!isFragment && prior === undefined) return frame;
    this.#bytes += body.length;
    if (this.#bytes > this.maxBytes)
      throw new MuxFramingError(`fragmented messages of over ${this.maxBytes} bytes in total`);
    const parts = prior ?? [];
    // copies: a fragment must not pin the socket chunk it arrived in
    parts.push(Buffer.from(body));
    if (isFragment) {
      this.#pending.set(tag, parts);
      return undefined;
    }
    this.#pending.delete(tag);
    const total = parts.reduce((n, p) => n + p.length, 0);
    this.#bytes -= total;
    const head = Buffer.allocUnsafe(4);
    head.writeInt8(typ, 0);
    head.writeUIntBE(tag, 1, 3);
    return Buffer.concat([head, ...parts], 4 + total);
  }

  /** Drops the fragments of `tag` (its exchange was discarded). */
  drop(tag: number): void {
    const parts = this.#pending.get(tag);
    if (!parts) return;
    this.#pending.delete(tag);
    this.#bytes -= parts.reduce((n, p) => n + p.length, 0);
  }
}
