/**
 * HPACK (RFC 7541) for the frame-level relay: a full decoder (static and dynamic tables,
 * Huffman strings, table size updates) and a minimal encoder that writes every field as a
 * literal without indexing (raw strings): it never touches the peer's dynamic table, so it
 * needs no state, at the price of bigger header blocks.
 */

/** Thrown for malformed header blocks (a connection error, COMPRESSION_ERROR, RFC 9113 §4.3). */
export class HpackError extends Error {
  override readonly name = "HpackError";
}

/** RFC 7541 Appendix A. */
const STATIC: ReadonlyArray<readonly [string, string]> = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/** RFC 7541 Appendix B code lengths, symbol 0..256 (EOS); the code is canonical, so lengths define it. */
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
  28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5,
  6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6,
  7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23,
  23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22,
  22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22,
  23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27,
  27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25,
  24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

/** Decoding tree: node index → [child0, child1]; leaves are encoded as -(symbol + 1). */
const tree: number[][] = [[0, 0]];
{
  const order = HUFFMAN_LENGTHS.map((_, s) => s).sort(
    (a, b) => (HUFFMAN_LENGTHS[a] ?? 0) - (HUFFMAN_LENGTHS[b] ?? 0) || a - b,
  );
  let code = 0;
  let prev = HUFFMAN_LENGTHS[order[0] ?? 0] ?? 0;
  for (const sym of order) {
    const len = HUFFMAN_LENGTHS[sym] ?? 0;
    code <<= len - prev;
    prev = len;
    let node = 0;
    for (let bit = len - 1; bit >= 0; bit--) {
      const b = (code >>> bit) & 1;
      const n = tree[node] as number[];
      if (bit === 0) {
        n[b] = -(sym + 1);
      } else {
        if ((n[b] ?? 0) <= 0) {
          tree.push([0, 0]);
          n[b] = tree.length - 1;
        }
        node = n[b] as number;
      }
    }
    code++;
  }
}

const scratch: number[] = [];

function huffmanDecode(buf: Buffer, start: number, end: number): string {
  const out = scratch;
  out.length = 0;
  let node = 0;
  let depth = 0;
  let ones = true;
  for (let i = start; i < end; i++) {
    const byte = buf[i] as number;
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >>> bit) & 1;
      const next = (tree[node] as number[])[b] as number;
      depth++;
      ones &&= b === 1;
      if (next < 0) {
        const sym = -next - 1;
        if (sym === 256) throw new HpackError("EOS in a Huffman string");
        out.push(sym);
        node = 0;
        depth = 0;
        ones = true;
      } else if (next === 0) {
        throw new HpackError("invalid Huffman code");
      } else {
        node = next;
      }
    }
  }
  // padding: at most 7 bits, all ones (a prefix of EOS)
  if (depth > 7 || !ones) throw new HpackError("invalid Huffman padding");
  return String.fromCharCode.apply(null, out);
}

/** A header field as decoded, in order (names are lower case on the wire in HTTP/2). */
export type HeaderField = readonly [name: string, value: string];

/** One direction's HPACK decoding context (one per connection and direction). */
export class HpackDecoder {
  readonly #dynamic: Array<readonly [string, string]> = [];
  #size = 0;
  #maxSize: number;
  /** The SETTINGS_HEADER_TABLE_SIZE we advertised (4096 by default): the cap for size updates. */
  readonly #limit: number;
  #pos = 0;

  constructor(maxTableSize = 4096) {
    this.#maxSize = maxTableSize;
    this.#limit = maxTableSize;
  }

  /** Decodes one complete header block (HEADERS + CONTINUATION payloads joined). */
  decode(block: Buffer): HeaderField[] {
    const out: HeaderField[] = [];
    this.#pos = 0;
    const end = block.length;
    while (this.#pos < end) {
      const b = block[this.#pos] as number;
      if (b & 0x80) {
        out.push(this.#get(this.#int(block, 7)));
      } else if (b & 0x40) {
        const f = this.#literal(block, 6);
        this.#add(f);
        out.push(f);
      } else if (b & 0x20) {
        const size = this.#int(block, 5);
        if (size > this.#limit) throw new HpackError(`table size update ${size} > ${this.#limit}`);
        this.#maxSize = size;
        this.#evict(0);
      } else {
        // literal without indexing (0000) or never indexed (0001): both 4-bit prefixes
        out.push(this.#literal(block, 4));
      }
    }
    return out;
  }

  #int(buf: Buffer, prefix: number): number {
    const max = (1 << prefix) - 1;
    let v = (buf[this.#pos++] as number) & max;
    if (v < max) return v;
    let m = 0;
    for (;;) {
      if (this.#pos >= buf.length) throw new HpackError("truncated integer");
      const b = buf[this.#pos++] as number;
      v += (b & 0x7f) * 2 ** m;
      m += 7;
      if ((b & 0x80) === 0) break;
      if (m > 28) throw new HpackError("integer overflow");
    }
    return v;
  }

  #string(buf: Buffer): string {
    if (this.#pos >= buf.length) throw new HpackError("truncated string");
    const huff = ((buf[this.#pos] as number) & 0x80) !== 0;
    const len = this.#int(buf, 7);
    const start = this.#pos;
    const end = start + len;
    if (end > buf.length) throw new HpackError("truncated string");
    this.#pos = end;
    return huff ? huffmanDecode(buf, start, end) : buf.toString("latin1", start, end);
  }

  #literal(buf: Buffer, prefix: number): HeaderField {
    const idx = this.#int(buf, prefix);
    const name = idx === 0 ? this.#string(buf) : (this.#get(idx)[0] as string);
    return [name, this.#string(buf)];
  }

  #get(idx: number): readonly [string, string] {
    if (idx === 0) throw new HpackError("index 0");
    if (idx <= STATIC.length) return STATIC[idx - 1] as readonly [string, string];
    const f = this.#dynamic[idx - STATIC.length - 1];
    if (f === undefined) throw new HpackError(`index ${idx} out of range`);
    return f;
  }

  #add(f: readonly [string, string]): void {
    const size = f[0].length + f[1].length + 32;
    if (size > this.#maxSize) {
      this.#dynamic.length = 0;
      this.#size = 0;
      return;
    }
    this.#evict(size);
    this.#dynamic.unshift(f);
    this.#size += size;
  }

  #evict(incoming: number): void {
    while (this.#size + incoming > this.#maxSize && this.#dynamic.length > 0) {
      const f = this.#dynamic.pop() as readonly [string, string];
      this.#size -= f[0].length + f[1].length + 32;
    }
  }
}

function intLen(prefix: number, v: number): number {
  const max = (1 << prefix) - 1;
  if (v < max) return 1;
  let n = 2;
  for (let rest = v - max; rest >= 128; rest = Math.floor(rest / 128)) n++;
  return n;
}

function writeInt(out: Buffer, off: number, first: number, prefix: number, v: number): number {
  const max = (1 << prefix) - 1;
  if (v < max) {
    out[off] = first | v;
    return off + 1;
  }
  out[off++] = first | max;
  let rest = v - max;
  while (rest >= 128) {
    out[off++] = (rest % 128) + 128;
    rest = Math.floor(rest / 128);
  }
  out[off++] = rest;
  return off;
}

/** Static-table indexes: exact `name: value` pairs, and the first index of each name. */
const STATIC_PAIR = new Map<string, number>();
const STATIC_NAME = new Map<string, number>();
STATIC.forEach(([n, v], i) => {
  STATIC_PAIR.set(`${n}\u0000${v}`, i + 1);
  if (!STATIC_NAME.has(n)) STATIC_NAME.set(n, i + 1);
});

/**
 * Header fields whose values change per request: never worth a dynamic-table entry.
 * Everything else is indexed on first sight, so repeated fields shrink to one byte.
 */
const VOLATILE: ReadonlySet<string> = new Set([
  ":path",
  "content-length",
  "grpc-timeout",
  "grpc-message",
  "l5d-reqid",
  "l5d-ctx-trace",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "b3",
  "date",
]);

/**
 * An HPACK encoder for one connection (the peer's decoder mirrors its dynamic table):
 * static-table hits are indexed, stable fields are added to the dynamic table (default
 * 4,096 bytes, FIFO eviction as the peer does), volatile ones are literals without indexing.
 * Strings are raw (no Huffman): cheaper to produce, a few bytes bigger.
 */
export class HpackEncoder {
  /** `name\0value` → insertion number; index = STATIC.length + (inserted - number). */
  readonly #pairs = new Map<string, number>();
  readonly #entries: Array<{ key: string; size: number; n: number }> = [];
  #inserted = 0;
  #size = 0;
  readonly #maxSize: number;

  constructor(maxTableSize = 4096) {
    this.#maxSize = maxTableSize;
  }

  encode(fields: Iterable<HeaderField>): Buffer {
    const ops: Array<[kind: number, idx: number, name: string, value: string]> = [];
    let total = 0;
    for (const [name, value] of fields) {
      const key = `${name}\u0000${value}`;
      const st = STATIC_PAIR.get(key);
      if (st !== undefined) {
        ops.push([0, st, "", ""]);
        total += intLen(7, st);
        continue;
      }
      const dyn = this.#pairs.get(key);
      if (dyn !== undefined) {
        const idx = STATIC.length + 1 + (this.#inserted - dyn);
        ops.push([0, idx, "", ""]);
        total += intLen(7, idx);
        continue;
      }
      const nameIdx = STATIC_NAME.get(name) ?? 0;
      const vlen = Buffer.byteLength(value, "latin1");
      const index = !VOLATILE.has(name) && name.length + vlen + 32 <= this.#maxSize;
      const prefix = index ? 6 : 4;
      total += intLen(prefix, nameIdx) + intLen(7, vlen) + vlen;
      if (nameIdx === 0) total += intLen(7, name.length) + name.length;
      ops.push([index ? 1 : 2, nameIdx, name, value]);
      if (index) this.#add(key, name.length + vlen + 32);
    }
    const out = Buffer.allocUnsafe(total);
    let off = 0;
    for (const [kind, idx, name, value] of ops) {
      if (kind === 0) {
        off = writeInt(out, off, 0x80, 7, idx);
        continue;
      }
      off = writeInt(out, off, kind === 1 ? 0x40 : 0, kind === 1 ? 6 : 4, idx);
      if (idx === 0) {
        off = writeInt(out, off, 0, 7, name.length);
        off += out.write(name, off, "latin1");
      }
      off = writeInt(out, off, 0, 7, Buffer.byteLength(value, "latin1"));
      off += out.write(value, off, "latin1");
    }
    return out;
  }

  #add(key: string, size: number): void {
    while (this.#size + size > this.#maxSize && this.#entries.length > 0) {
      const old = this.#entries.shift() as { key: string; size: number; n: number };
      this.#size -= old.size;
      if (this.#pairs.get(old.key) === old.n) this.#pairs.delete(old.key);
    }
    const n = ++this.#inserted;
    this.#entries.push({ key, size, n });
    this.#pairs.set(key, n);
    this.#size += size;
  }
}

/** Encodes fields as literals without indexing (stateless; for one-off blocks). */
export function encodeLiteralBlock(fields: Iterable<HeaderField>): Buffer {
  return new HpackEncoder(0).encode(fields);
}
