/**
 * HPACK (RFC 7541) for the frame-level relay: a full decoder (static and dynamic tables,
 * Huffman strings, table size updates) and a per-connection encoder (`HpackEncoder`) that
 * indexes stable fields in the peer's dynamic table, keeps per-request values literal and writes
 * raw (non-Huffman) strings into a shared slab.
 */
import { badValue, fieldCharsProblem } from "./header-validation.js";
import { LimitError } from "./limits.js";
import { ErrorCode } from "./wire.js";

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

/**
 * Huffman decoding, a nibble at a time (as nghttp2 does): the states are the 256 internal nodes
 * of the code tree, and `HUFF[state << 4 | nibble]` is the state after those 4 bits, plus the
 * symbol they completed if any (codes are >= 5 bits: at most one per nibble). Two lookups per
 * input byte instead of eight tree steps.
 */
const HUFF_EMIT = 0x100;
const HUFF_EOS = 0x20000;
const HUFF_INVALID = 0x40000;
const HUFF = new Uint32Array(256 * 16);
/** A state is a valid end of string: its path is at most 7 bits, all ones (a prefix of EOS). */
const HUFF_ACCEPT = new Uint8Array(256);
{
  // the code tree: node index -> [child0, child1]; leaves are -(symbol + 1)
  const tree: number[][] = [[0, 0]];
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
  // depth and all-ones-ness of each internal node (parents are created before children)
  const depth = new Uint8Array(tree.length);
  const ones = new Uint8Array(tree.length);
  ones[0] = 1;
  for (let i = 0; i < tree.length; i++) {
    const n = tree[i] as number[];
    for (let bit = 0; bit < 2; bit++) {
      const c = n[bit] as number;
      if (c > 0) {
        depth[c] = (depth[i] as number) + 1;
        ones[c] = bit === 1 && ones[i] === 1 ? 1 : 0;
      }
    }
  }
  for (let st = 0; st < tree.length; st++) {
    HUFF_ACCEPT[st] = (depth[st] as number) <= 7 && ones[st] === 1 ? 1 : 0;
    for (let nib = 0; nib < 16; nib++) {
      let node = st;
      let entry = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const next = (tree[node] as number[])[(nib >>> bit) & 1] as number;
        if (next < 0) {
          const sym = -next - 1;
          if (sym === 256) entry |= HUFF_EOS;
          else entry |= HUFF_EMIT | (sym << 9);
          node = 0;
        } else if (next === 0) {
          entry |= HUFF_INVALID;
        } else {
          node = next;
        }
      }
      HUFF[(st << 4) | nib] = entry | node;
    }
  }
}

/** Decoded Huffman bytes (latin1), grown for a longer string: one string made per decode. */
let huffOut = Buffer.allocUnsafeSlow(4096);
/** Longer strings decode into a buffer of their own (the shared one does not keep that size). */
const HUFF_KEEP = 64 * 1024;

function huffmanDecode(buf: Buffer, start: number, end: number): string {
  // every code is >= 5 bits: at most 8/5 symbols per input byte
  const need = (((end - start) * 8) / 5) | 0;
  if (huffOut.length < need) {
    if (need > HUFF_KEEP) return huffmanDecodeInto(Buffer.allocUnsafe(need), buf, start, end);
    huffOut = Buffer.allocUnsafeSlow(need);
  }
  return huffmanDecodeInto(huffOut, buf, start, end);
}

function huffmanDecodeInto(out: Buffer, buf: Buffer, start: number, end: number): string {
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = buf[i] as number;
    let e = HUFF[(state << 4) | (byte >>> 4)] as number;
    if (e >= HUFF_EOS) huffmanFail(e);
    if (e & HUFF_EMIT) out[n++] = e >>> 9;
    state = e & 0xff;
    e = HUFF[(state << 4) | (byte & 15)] as number;
    if (e >= HUFF_EOS) huffmanFail(e);
    if (e & HUFF_EMIT) out[n++] = e >>> 9;
    state = e & 0xff;
  }
  if (HUFF_ACCEPT[state] === 0) throw new HpackError("invalid Huffman padding");
  return out.toString("latin1", 0, n);
}

function huffmanFail(entry: number): never {
  throw new HpackError(entry & HUFF_EOS ? "EOS in a Huffman string" : "invalid Huffman code");
}

/** A header field as decoded, in order (names are lower case on the wire in HTTP/2). */
export type HeaderField = readonly [name: string, value: string];

/** Literals up to this many encoded bytes are remembered per static name (`LiteralMemo`). */
const MEMO_BYTES = 64;

/**
 * The last literal value decoded for one static-table name, by its encoded bytes: a peer sends
 * the same `:path` or `date` literal request after request (nghttp2 never indexes `:path`), and
 * the same bytes decode to the same field, so that field is handed out again: no Huffman
 * decoding, no string and no tuple. Fields are immutable, as dynamic-table entries already are.
 */
interface LiteralMemo {
  readonly bytes: Uint8Array;
  len: number;
  field: HeaderField;
  /** Why `field`'s characters are invalid (RFC 9113 §8.2.1), when they are. */
  bad: string | undefined;
}

/** Shared by every decoder (a decode runs to completion); see `decode`. */
const fieldScratch: HeaderField[] = [];
/** Above this many fields the scratch list is dropped after use. */
const SCRATCH_FIELDS = 64;

/** One direction's HPACK decoding context (one per connection and direction). */
export class HpackDecoder {
  readonly #dynamic: Array<readonly [string, string]> = [];
  #size = 0;
  #maxSize: number;
  /** The SETTINGS_HEADER_TABLE_SIZE we advertised (4096 by default): the cap for size updates. */
  readonly #limit: number;
  #pos = 0;
  /** End of the block being decoded (it may be a region of a larger buffer). */
  #end = 0;
  /** `LiteralMemo`s by static index (allocated on first use). */
  #memo: Array<LiteralMemo | undefined> | undefined;
  /**
   * Limits checked while decoding (HPACK bomb: one 4 KB table entry referenced 4,000 times is a
   * 16 MB list): once the list passes either, no more fields are collected and the returned
   * list ends with the field that crossed (so the caller's size check sees it over); the rest
   * of the block is still decoded for the dynamic table's sake, at no more than its own bytes.
   */
  maxListBytes = Number.POSITIVE_INFINITY;
  maxFields = Number.POSITIVE_INFINITY;
  /**
   * After `decode`: why the first field of the block whose characters RFC 9113 §8.2.1 forbids
   * is invalid (`undefined`: every field is valid). Each literal is checked once, as it is
   * decoded; a field handed out again (static entry, dynamic entry, repeated literal) costs
   * nothing, so `checkRequestHeaders(list, info, true)` need not scan the list. HPACK itself
   * does not care: such a block still decodes (and updates the table) in full.
   */
  fieldProblem: string | undefined;
  /** Dynamic-table entries with invalid characters, and why (made on the first one). */
  #bad: WeakMap<HeaderField, string> | undefined;
  /** Why the literal `#literal` just returned is invalid. */
  #literalBad: string | undefined;

  constructor(maxTableSize = 4096) {
    this.#maxSize = maxTableSize;
    this.#limit = maxTableSize;
  }

  /**
   * Decodes one complete header block (HEADERS + CONTINUATION payloads joined), `block[start,
   * end)`. The returned list is fresh (the caller may keep it); its fields may be shared.
   */
  decode(block: Buffer, start = 0, end = block.length): HeaderField[] {
    // fields are gathered in a scratch list and copied out at their exact count: a list grown
    // by push() from empty carries 16+ slots of backing store
    const out = fieldScratch;
    let n = 0;
    this.#pos = start;
    this.#end = end;
    const maxBytes = this.maxListBytes;
    const maxFields = this.maxFields;
    let bytes = 0;
    // past a limit: fields are not collected (the crossing one was)
    let full = false;
    let updates = 0;
    let problem: string | undefined;
    while (this.#pos < end) {
      const b = block[this.#pos] as number;
      let f: readonly [string, string];
      if (b & 0x80) {
        const idx = this.#int(block, 7);
        f = this.#get(idx);
        if (this.#bad !== undefined && idx > STATIC.length) problem ??= this.#bad.get(f);
      } else if (b & 0x40) {
        f = this.#literal(block, 6);
        this.#add(f);
        const why = this.#literalBad;
        if (why !== undefined) {
          problem ??= why;
          this.#bad ??= new WeakMap();
          this.#bad.set(f, why);
        }
      } else if (b & 0x20) {
        // RFC 7541 §4.2: size updates only at the beginning of a block
        if (n > 0) throw new HpackError("dynamic table size update after a header field");
        const size = this.#int(block, 5);
        if (size > this.#limit) throw new HpackError(`table size update ${size} > ${this.#limit}`);
        // RFC 7541 §4.2: at the start of a block, at most two (a minimum, then the final size)
        if (n > 0 || full || ++updates > 2) {
          throw new LimitError(
            "hpack_table",
            ErrorCode.COMPRESSION_ERROR,
            n > 0 || full
              ? "dynamic table size update after a header field"
              : "more than two dynamic table size updates in a block",
          );
        }
        this.#maxSize = size;
        this.#evict(0);
        continue;
      } else {
        // literal without indexing (0000) or never indexed (0001): both 4-bit prefixes
        f = this.#literal(block, 4);
        problem ??= this.#literalBad;
      }
      if (full) continue;
      out[n++] = f;
      bytes += f[0].length + f[1].length + 32;
      if (bytes > maxBytes || n > maxFields) full = true;
    }
    this.fieldProblem = problem;
    const fields = out.slice(0, n);
    // a huge block's fields are not kept alive by the scratch list
    if (out.length > SCRATCH_FIELDS) out.length = 0;
    return fields;
  }

  #int(buf: Buffer, prefix: number): number {
    const max = (1 << prefix) - 1;
    let v = (buf[this.#pos++] as number) & max;
    if (v < max) return v;
    let m = 0;
    for (;;) {
      if (this.#pos >= this.#end) throw new HpackError("truncated integer");
      const b = buf[this.#pos++] as number;
      v += (b & 0x7f) * 2 ** m;
      m += 7;
      if ((b & 0x80) === 0) break;
      if (m > 28) throw new HpackError("integer overflow");
    }
    return v;
  }

  #string(buf: Buffer): string {
    if (this.#pos >= this.#end) throw new HpackError("truncated string");
    const huff = ((buf[this.#pos] as number) & 0x80) !== 0;
    const len = this.#int(buf, 7);
    const start = this.#pos;
    const end = start + len;
    if (end > this.#end) throw new HpackError("truncated string");
    this.#pos = end;
    return huff ? huffmanDecode(buf, start, end) : buf.toString("latin1", start, end);
  }

  /** A literal field; `#literalBad` says why its characters are invalid (RFC 9113 §8.2.1). */
  #literal(buf: Buffer, prefix: number): HeaderField {
    const idx = this.#int(buf, prefix);
    if (idx === 0) {
      const name = this.#string(buf);
      const value = this.#string(buf);
      this.#literalBad = fieldCharsProblem(name, value);
      return [name, value];
    }
    const named = this.#get(idx);
    const name = named[0];
    if (idx > STATIC.length) {
      const value = this.#string(buf);
      // the entry's name was checked when it was added; recheck it only if the entry is invalid
      this.#literalBad =
        this.#bad?.has(named) === true ? fieldCharsProblem(name, value) : badValue(name, value);
      return [name, value];
    }
    // a static name: the same encoded value as last time is the same field
    const at = this.#pos;
    let memos = this.#memo;
    if (memos === undefined) {
      memos = new Array<LiteralMemo | undefined>(STATIC.length + 1);
      this.#memo = memos;
    }
    const memo = memos[idx];
    if (memo !== undefined && at + memo.len <= this.#end) {
      const bytes = memo.bytes;
      let i = 0;
      while (i < memo.len && bytes[i] === buf[at + i]) i++;
      // the length prefix is part of the bytes: equal bytes end where the memo's string did
      if (i === memo.len) {
        this.#pos = at + i;
        this.#literalBad = memo.bad;
        return memo.field;
      }
    }
    const value = this.#string(buf);
    const field: HeaderField = [name, value];
    const bad = badValue(name, value);
    this.#literalBad = bad;
    const len = this.#pos - at;
    if (len <= MEMO_BYTES) {
      if (memo === undefined) {
        const bytes = new Uint8Array(MEMO_BYTES);
        bytes.set(buf.subarray(at, this.#pos));
        memos[idx] = { bytes, len, field, bad };
      } else {
        for (let i = 0; i < len; i++) memo.bytes[i] = buf[at + i] as number;
        memo.len = len;
        memo.field = field;
        memo.bad = bad;
      }
    }
    return field;
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

/**
 * Writes a raw (non-Huffman) string literal: length, then latin1 bytes. Header strings are
 * short: a charCodeAt loop beats the native `write` call (a C++ transition) below ~64 chars.
 */
function writeString(out: Buffer, off: number, s: string): number {
  const len = s.length;
  off = writeInt(out, off, 0, 7, len);
  if (len > 64) return off + out.write(s, off, "latin1");
  for (let i = 0; i < len; i++) out[off + i] = s.charCodeAt(i) & 0xff;
  return off + len;
}

/**
 * How the encoder treats a header name's values:
 * - `Index`: every value goes into the dynamic table on first sight (repeats are one byte);
 * - `OnRepeat`: values that often change per request (`:path` of plain HTTP, `content-length`)
 *   go in only when the same value comes again at the same place of the next block of its
 *   kind (a gRPC method called again): a client's unique paths never fill the table;
 * - `Never`: values unique per request (ids, timestamps, deadlines) are literals without
 *   indexing. A name outside the static table is then named by a dynamic entry of that name
 *   (added once, with the value of the time), not spelt out each time.
 */
enum Indexing {
  Index = 0,
  OnRepeat = 1,
  Never = 2,
}

/**
 * What the encoder knows about a header name before looking at its connection's table: its
 * first static-table index (0: none), the static `value → index` pairs, and how its values are
 * indexed.
 */
interface NameInfo {
  readonly first: number;
  readonly values: Map<string, number>;
  indexing: Indexing;
}

/**
 * Header fields whose values change per request, or now and then: indexed only when they repeat
 * (`date` changes once a second and repeats for every response in between).
 */
const ON_REPEAT: readonly string[] = [":path", "content-length", "date", "grpc-message"];

/** Header fields whose values are new with every request: never worth a dynamic-table entry. */
const NEVER: readonly string[] = [
  "grpc-timeout",
  "l5d-reqid",
  "l5d-ctx-trace",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "b3",
];

/** One lookup per field: name → static indexes and indexing (RFC 7541 Appendix A + the lists). */
const NAMES = new Map<string, NameInfo>();
STATIC.forEach(([n, v], i) => {
  let info = NAMES.get(n);
  if (info === undefined) {
    info = { first: i + 1, values: new Map(), indexing: Indexing.Index };
    NAMES.set(n, info);
  }
  if (!info.values.has(v)) info.values.set(v, i + 1);
});
for (const [names, indexing] of [
  [ON_REPEAT, Indexing.OnRepeat],
  [NEVER, Indexing.Never],
] as const) {
  for (const n of names) {
    const info = NAMES.get(n);
    if (info === undefined) NAMES.set(n, { first: 0, values: new Map(), indexing });
    else info.indexing = indexing;
  }
}

/** Upper bound of a block's size: prefix byte + two 5-byte integers + the strings, per field. */
export function blockBound(list: readonly HeaderField[]): number {
  let bound = 0;
  for (let i = 0; i < list.length; i++) {
    const f = list[i] as HeaderField;
    bound += f[0].length + f[1].length + 11;
  }
  return bound;
}

/**
 * Blocks are written straight into a shared slab and handed out as views of it (what Node's own
 * Buffer pool does for small allocations): no copy and no allocation but the view. The slab only
 * moves forward, so a block is never overwritten while a socket still holds it; a full slab is
 * left to the garbage collector once its last block is gone. 16 KiB: ~150 request blocks per
 * slab, and a stalled peer's unsent blocks pin at most that much each.
 */
const SLAB_BYTES = 16 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabOff = 0;

/**
 * The last block of one kind (named by its first field's name: requests, responses, trailers),
 * field by field: the same name and value strings at the same position are written with the
 * code found for them then, without a table lookup. A code is a static index (> 0), a dynamic
 * entry's insertion number, negated (< 0; used while the entry is not evicted), or 0 (no
 * shortcut: a literal without indexing, looked up again).
 */
class BlockMemo {
  kind = "";
  readonly names: string[] = [];
  readonly values: string[] = [];
  readonly codes: number[] = [];
  n = 0;
}

/** Fields per block the memo keeps (a longer block's rest is looked up each time). */
const MEMO_FIELDS = 32;

/**
 * An HPACK encoder for one connection (the peer's decoder mirrors its dynamic table):
 * static-table hits are indexed, stable fields are added to the dynamic table (default
 * 4,096 bytes, FIFO eviction as the peer does), per-request ones (`:path`, ids, deadlines)
 * are literals, indexed only when they repeat (`Indexing`).
 * Strings are raw (no Huffman): cheaper to produce, a few bytes bigger.
 *
 * The hot path allocates only the returned block: the table is looked up as name → value →
 * insertion number (no `name\0value` key strings), and fields are written as they are looked
 * up (no list of pending operations).
 */
export class HpackEncoder {
  /** name → value → insertion number; index = STATIC.length + 1 + (inserted - number). */
  readonly #table = new Map<string, Map<string, number>>();
  /** The entries oldest first from `#head` (a FIFO; the consumed prefix is dropped now and then). */
  readonly #names: string[] = [];
  readonly #values: string[] = [];
  #head = 0;
  /** Insertion number of `#names[0]` minus one. */
  #base = 0;
  #inserted = 0;
  #size = 0;
  readonly #maxSize: number;
  /** A `Never` name outside the static table → the insertion number of its newest entry. */
  readonly #named = new Map<string, number>();
  /** The last two kinds of block (a connection's encoder writes one or two: requests, or responses and trailers). */
  #memo = new BlockMemo();
  #memoOther = new BlockMemo();

  constructor(maxTableSize = 4096) {
    this.#maxSize = maxTableSize;
  }

  /** Encodes a block into a view of the shared slab (kept by the caller as long as it likes). */
  encode(fields: Iterable<HeaderField>): Buffer {
    const list: readonly HeaderField[] = Array.isArray(fields) ? fields : Array.from(fields);
    const bound = blockBound(list);
    if (slab.length - slabOff < bound) {
      slab = Buffer.allocUnsafeSlow(Math.max(bound, SLAB_BYTES));
      slabOff = 0;
    }
    const start = slabOff;
    const off = this.encodeInto(list, slab, start);
    // 8-byte aligned, as Node's pool does (typed-array views of the slab stay aligned)
    slabOff = (off + 7) & ~7;
    return slab.subarray(start, off);
  }

  /**
   * Encodes a block into `out` at `start` and returns its end; `out` must have
   * `blockBound(list)` bytes free there. The connection's output buffer uses it to encode
   * HEADERS in place, right after the frame header.
   */
  encodeInto(list: readonly HeaderField[], out: Buffer, start: number): number {
    const n = list.length;
    const table = this.#table;
    const memo = this.#memoOf(list);
    const memoNames = memo.names;
    const memoValues = memo.values;
    const codes = memo.codes;
    const remembered = memo.n;
    let off = start;
    for (let i = 0; i < n; i++) {
      const f = list[i] as HeaderField;
      const name = f[0];
      const value = f[1];
      const repeated = i < remembered && memoNames[i] === name && memoValues[i] === value;
      if (repeated) {
        const c = codes[i] as number;
        if (c > 0) {
          off = writeInt(out, off, 0x80, 7, c);
          continue;
        }
        // a dynamic entry the peer still has (numbers up to base + head were evicted)
        if (c < 0 && -c > this.#base + this.#head) {
          off = writeInt(out, off, 0x80, 7, STATIC.length + 1 + (this.#inserted + c));
          continue;
        }
      }
      let code = 0;
      const info = NAMES.get(name);
      const st = info?.values.get(value);
      const indexing = info === undefined ? Indexing.Index : info.indexing;
      if (st !== undefined) {
        off = writeInt(out, off, 0x80, 7, st);
        code = st;
      } else {
        const dyn = indexing === Indexing.Never ? undefined : table.get(name)?.get(value);
        if (dyn !== undefined) {
          off = writeInt(out, off, 0x80, 7, STATIC.length + 1 + (this.#inserted - dyn));
          code = -dyn;
        } else {
          let nameIdx = info === undefined ? 0 : info.first;
          const size = name.length + value.length + 32;
          let index =
            size <= this.#maxSize &&
            (indexing === Indexing.Index || (indexing === Indexing.OnRepeat && repeated));
          if (!index && nameIdx === 0 && indexing === Indexing.Never) {
            // named by the entry of this name the peer still has, or one is added now
            const num = this.#named.get(name);
            if (num !== undefined && num > this.#base + this.#head)
              nameIdx = STATIC.length + 1 + (this.#inserted - num);
            else index = size <= this.#maxSize;
          }
          if (index) {
            // literal with incremental indexing (01): the peer adds it to its table as we do
            off = writeInt(out, off, 0x40, 6, nameIdx);
            const num = this.#add(name, value, size);
            if (indexing === Indexing.Never) this.#named.set(name, num);
            else code = -num;
          } else {
            // literal without indexing (0000)
            off = writeInt(out, off, 0, 4, nameIdx);
          }
          if (nameIdx === 0) off = writeString(out, off, name);
          off = writeString(out, off, value);
        }
      }
      if (i < MEMO_FIELDS) {
        // a field without a shortcut keeps no strings alive, unless its repeat is looked for
        const kept = code !== 0 || indexing === Indexing.OnRepeat;
        memoNames[i] = kept ? name : "";
        memoValues[i] = kept ? value : "";
        codes[i] = code;
      }
    }
    memo.n = Math.min(n, MEMO_FIELDS);
    return off;
  }

  /** The memo of `list`'s kind (its first field's name); a new kind takes the older memo. */
  #memoOf(list: readonly HeaderField[]): BlockMemo {
    const kind = list.length === 0 ? "" : (list[0] as HeaderField)[0];
    const memo = this.#memo;
    if (memo.kind === kind) return memo;
    const other = this.#memoOther;
    this.#memoOther = memo;
    this.#memo = other;
    if (other.kind !== kind) {
      other.kind = kind;
      other.n = 0;
    }
    return other;
  }

  /** Adds an entry (evicting the oldest as needed) and returns its insertion number. */
  #add(name: string, value: string, size: number): number {
    const names = this.#names;
    const values = this.#values;
    const table = this.#table;
    while (this.#size + size > this.#maxSize && this.#head < names.length) {
      const h = this.#head++;
      const oldName = names[h] as string;
      const oldValue = values[h] as string;
      this.#size -= oldName.length + oldValue.length + 32;
      const byValue = table.get(oldName);
      // a newer entry with the same pair keeps its own (higher) number
      if (byValue !== undefined && byValue.get(oldValue) === this.#base + h + 1) {
        byValue.delete(oldValue);
        if (byValue.size === 0) table.delete(oldName);
      }
    }
    if (this.#head >= 64 && this.#head * 2 >= names.length) {
      names.splice(0, this.#head);
      values.splice(0, this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
    const num = ++this.#inserted;
    names.push(name);
    values.push(value);
    let byValue = table.get(name);
    if (byValue === undefined) {
      byValue = new Map();
      table.set(name, byValue);
    }
    byValue.set(value, num);
    this.#size += size;
    return num;
  }
}

/** Encodes fields as literals without indexing (stateless; for one-off blocks). */
export function encodeLiteralBlock(fields: Iterable<HeaderField>): Buffer {
  return new HpackEncoder(0).encode(fields);
}
