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

/** A random non-zero 64-bit id as 16 hex digits (ids come from a pre-drawn random pool). */
export function newId(): string {
  for (;;) {
    if (next >= POOL_IDS) {
      pool = randomBytes(8 * POOL_IDS);
      next = 0;
    }
    const i = next++ * 8;
    const id = pool.toString("hex", i, i + 8);
    if (id !== "0000000000000000") return id;
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
  buf.write(ctx.spanId, 0, 8, "hex");
  buf.write(ctx.parentId ?? ctx.spanId, 8, 8, "hex");
  buf.write(traceIdLow(ctx.traceId), 16, 8, "hex");
  let flags = ctx.debug ? FLAG_DEBUG : 0;
  if (ctx.sampled === true) flags |= FLAG_SAMPLING_KNOWN | FLAG_SAMPLED;
  else if (ctx.sampled === false) flags |= FLAG_SAMPLING_KNOWN;
  buf.writeUInt32BE(0, 24);
  buf.writeUInt32BE(flags, 28);
  if (long) buf.write(ctx.traceId.slice(0, 16), 32, 8, "hex");
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
  const spanId = buf.toString("hex", 0, 8);
  const parent = buf.toString("hex", 8, 16);
  const low = buf.toString("hex", 16, 24);
  const flags = buf.readUInt32BE(28);
  const high = buf.length === 40 ? buf.toString("hex", 32, 40) : "0000000000000000";
  const traceId = high === "0000000000000000" ? low : high + low;
  if (!isSpanId(spanId) || !isTraceId(traceId)) return undefined;
  return {
    traceId,
    spanId,
    parentId: parent === spanId || parent === "0000000000000000" ? undefined : parent,
    sampled: flags & FLAG_SAMPLING_KNOWN ? (flags & FLAG_SAMPLED) !== 0 : undefined,
    debug: (flags & FLAG_DEBUG) !== 0,
  };
}
