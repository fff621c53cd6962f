/**
 * Trace identifiers as Finagle (and so Linkerd 1) carries them, and their `l5d-ctx-trace`
 * wire form: base64 of Finagle's `TraceId.serialize`, big-endian
 * `spanId:8 parentId:8 traceId:8 flags:8`, plus `traceIdHigh:8` for 128-bit trace ids (40 bytes).
 * Ids are lower-case hex strings: 16 digits for span ids, 16 or 32 for trace ids.
 */
import { randomBytes } from "node:crypto";

/** Finagle `Flags`: debug (force sampling), sampling decided, sampled. */
export const FLAG_DEBUG = 1;
export const FLAG_SAMPLING_KNOWN = 2;
export const FLAG_SAMPLED = 4;

export interface TraceContext {
  /** 16 hex digits (64-bit, what Linkerd makes) or 32 (128-bit, from B3). */
  readonly traceId: string;
  /** This span (16 hex digits). */
  readonly spanId: string;
  /** The parent span, when there is one. */
  readonly parentId?: string | undefined;
  /** The sampling decision, when one was made upstream. */
  readonly sampled?: boolean | undefined;
  /** Debug flag: sample regardless of rates. */
  readonly debug?: boolean | undefined;
}

const POOL_IDS = 512;
let pool = randomBytes(8 * POOL_IDS);
let next = 0;

/** Lower-case hex digits' character codes. */
const HEX_CODES = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

/**
 * Bytes `o..o+8` of `b` as 16 lower-case hex digits. One `String.fromCharCode` in JS: every
 * request makes ids and writes them, and `Buffer#toString("hex")` is a C++ call each time.
 */
function hex8(b: Uint8Array, o: number): string {
  return String.fromCharCode(
    digit(b, o, 0),
    digit(b, o, 1),
    digit(b, o, 2),
    digit(b, o, 3),
    digit(b, o, 4),
    digit(b, o, 5),
    digit(b, o, 6),
    digit(b, o, 7),
    digit(b, o, 8),
    digit(b, o, 9),
    digit(b, o, 10),
    digit(b, o, 11),
    digit(b, o, 12),
    digit(b, o, 13),
    digit(b, o, 14),
    digit(b, o, 15),
  );
}

/** The character code of hex digit `k` (0: the high half of byte `o`) of the bytes at `o`. */
function digit(b: Uint8Array, o: number, k: number): number {
  const byte = b[o + (k >> 1)] as number;
  return HEX_CODES[(k & 1) === 0 ? byte >> 4 : byte & 15] as number;
}

/** Each character code's hex digit value; -16 for a code that is not one (a negative byte). */
const NIBBLE = new Int8Array(128).fill(-16);
for (let i = 0; i < 16; i++) {
  NIBBLE[HEX_CODES[i] as number] = i;
  NIBBLE["0123456789ABCDEF".charCodeAt(i)] = i;
}

/**
 * Writes the first 16 hex digits of `s` as 8 bytes at `o` (what `b.write(s, o, 8, "hex")`
 * does, in JS: a table lookup per digit); a string that is not 16 hex digits there is left to
 * Buffer's own parser.
 */
function putHex8(b: Buffer, o: number, s: string): void {
  if (s.length >= 16) {
    let bad = 0;
    for (let i = 0; i < 8; i++) {
      const c1 = s.charCodeAt(2 * i);
      const c2 = s.charCodeAt(2 * i + 1);
      const hi = NIBBLE[c1 & 127] as number;
      const lo = NIBBLE[c2 & 127] as number;
      // a negative digit value, or a code past ASCII (looked up by its low 7 bits), is not hex
      bad |= hi | lo | -((c1 | c2) >> 7);
      b[o + i] = (hi << 4) | lo;
    }
    if (bad >= 0) return;
  }
  b.fill(0, o, o + 8);
  b.write(s.slice(0, 16), o, 8, "hex");
}

/** A random non-zero 64-bit id as 16 hex digits (ids come from a pre-drawn random pool). */
export function newId(): string {
  for (;;) {
    if (next >= POOL_IDS) {
      pool = randomBytes(8 * POOL_IDS);
      next = 0;
    }
    const i = next++ * 8;
    if (
      (pool[i] as number) |
      (pool[i + 1] as number) |
      (pool[i + 2] as number) |
      (pool[i + 3] as number) |
      (pool[i + 4] as number) |
      (pool[i + 5] as number) |
      (pool[i + 6] as number) |
      (pool[i + 7] as number)
    ) {
      return hex8(pool, i);
    }
  }
}

const HEX16 = /^[0-9a-f]{16}$/;
const HEX32 = /^[0-9a-f]{32}$/;

export function isSpanId(s: string): boolean {
  return HEX16.test(s) && s !== "0000000000000000";
}

export function isTraceId(s: string): boolean {
  return (HEX16.test(s) || HEX32.test(s)) && !/^0+$/.test(s);
}

/** The low 64 bits of a trace id (what Linkerd puts in `l5d-reqid`). */
export function traceIdLow(traceId: string): string {
  return traceId.length === 32 ? traceId.slice(16) : traceId;
}

/** A 128-bit trace id (OpenTelemetry): 64-bit ids are left-padded with zeros. */
export function traceId128(traceId: string): string {
  return traceId.length === 32 ? traceId : `0000000000000000${traceId}`;
}

const SCRATCH32 = Buffer.alloc(32);
const SCRATCH40 = Buffer.alloc(40);

/** Encodes `l5d-ctx-trace` (Finagle's serialized TraceId, base64). */
export function encodeL5dCtxTrace(ctx: TraceContext): string {
  const long = ctx.traceId.length === 32 && !ctx.traceId.startsWith("0000000000000000");
  // a scratch buffer: encoding is synchronous, so reuse is safe and saves an allocation per hop
  const buf = long ? SCRATCH40 : SCRATCH32;
  const t = ctx.traceId;
  putHex8(buf, 0, ctx.spanId);
  putHex8(buf, 8, ctx.parentId ?? ctx.spanId);
  putHex8(buf, 16, traceIdLow(t));
  let flags = ctx.debug ? FLAG_DEBUG : 0;
  if (ctx.sampled === true) flags |= FLAG_SAMPLING_KNOWN | FLAG_SAMPLED;
  else if (ctx.sampled === false) flags |= FLAG_SAMPLING_KNOWN;
  buf.writeUInt32BE(0, 24);
  buf.writeUInt32BE(flags, 28);
  if (long) putHex8(buf, 32, t);
  return buf.toString("base64");
}

/**
 * Decodes `l5d-ctx-trace`; undefined when it is not valid base64 of 32 or 40 bytes (Linkerd
 * ignores such a header and starts a new trace). As in Finagle, a parent equal to the span
 * means "no parent".
 */
export function decodeL5dCtxTrace(b64: string): TraceContext | undefined {
  const buf = Buffer.from(b64.trim(), "base64");
  if (buf.length !== 32 && buf.length !== 40) return undefined;
  const spanId = hex8(buf, 0);
  const parent = hex8(buf, 8);
  const low = hex8(buf, 16);
  const flags = buf.readUInt32BE(28);
  const high = buf.length === 40 ? hex8(buf, 32) : "0000000000000000";
  const traceId = high === "0000000000000000" ? low : high + low;
  // hex8 writes lower-case hex only: what is left to refuse is an id of zeros (the regular
  // expressions of isSpanId / isTraceId were ~2 % of a hop's CPU behind another l5d)
  if (spanId === "0000000000000000" || traceId === "0000000000000000") return undefined;
  return {
    traceId,
    spanId,
    parentId: parent === spanId || parent === "0000000000000000" ? undefined : parent,
    sampled: flags & FLAG_SAMPLING_KNOWN ? (flags & FLAG_SAMPLED) !== 0 : undefined,
    debug: (flags & FLAG_DEBUG) !== 0,
  };
}
