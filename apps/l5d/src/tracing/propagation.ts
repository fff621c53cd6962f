/**
 * Reading and writing trace context on requests: Linkerd 1's `l5d-ctx-trace` (its default
 * `io.l5d.default` propagator) with `l5d-sample`, and Zipkin's B3 headers (`x-b3-*` and the
 * single `b3` header; Linkerd's `io.l5d.zipkin` propagator). On the way in `l5d-ctx-trace`
 * wins, then `b3`, then `x-b3-*`; on the way out all are written so either kind of
 * application can continue the trace.
 */
import type { HeaderList } from "@l5d/h2-proxy";
import {
  decodeL5dCtxTrace,
  encodeL5dCtxTrace,
  isSpanId,
  isTraceId,
  type TraceContext,
  traceIdLow,
} from "./trace-context.js";

export const L5D_CTX_TRACE = "l5d-ctx-trace";
export const L5D_SAMPLE = "l5d-sample";
export const L5D_REQID = "l5d-reqid";
export const B3_SINGLE = "b3";
export const B3_TRACE_ID = "x-b3-traceid";
export const B3_SPAN_ID = "x-b3-spanid";
export const B3_PARENT_SPAN_ID = "x-b3-parentspanid";
export const B3_SAMPLED = "x-b3-sampled";
export const B3_FLAGS = "x-b3-flags";

function parseB3Sampled(v: string | undefined): { sampled?: boolean; debug?: boolean } {
  if (v === undefined) return {};
  const s = v.trim().toLowerCase();
  if (s === "1" || s === "true") return { sampled: true };
  if (s === "0" || s === "false") return { sampled: false };
  if (s === "d") return { sampled: true, debug: true };
  return {};
}

/** Parses the single `b3` header: `{traceId}-{spanId}[-{sampling}[-{parentSpanId}]]`. */
export function parseB3Single(v: string): TraceContext | undefined {
  const parts = v.trim().toLowerCase().split("-");
  if (parts.length < 2) return undefined;
  const [traceId, spanId, sampling, parentId] = parts as [string, string, string?, string?];
  if (!isTraceId(traceId) || !isSpanId(spanId)) return undefined;
  if (parentId !== undefined && !isSpanId(parentId)) return undefined;
  const s = parseB3Sampled(sampling);
  return { traceId, spanId, parentId, sampled: s.sampled, debug: s.debug ?? false };
}

/**
 * The trace headers of one request (the first value of each), found in one pass over its header
 * list by `scanTrace` (a request's list is scanned once, not once per header name). A scratch
 * record, reused: read it before the next scan.
 */
interface TraceHeaders {
  l5d: string | undefined;
  b3: string | undefined;
  traceId: string | undefined;
  spanId: string | undefined;
  parentSpanId: string | undefined;
  sampled: string | undefined;
  flags: string | undefined;
  sample: string | undefined;
}
const SCAN: TraceHeaders = {
  l5d: undefined,
  b3: undefined,
  traceId: undefined,
  spanId: undefined,
  parentSpanId: undefined,
  sampled: undefined,
  flags: undefined,
  sample: undefined,
};

function scanTrace(h: HeaderList): TraceHeaders {
  const t = SCAN;
  t.l5d = t.b3 = t.traceId = t.spanId = t.parentSpanId = t.sampled = t.flags = t.sample = undefined;
  for (let i = 0; i < h.length; i++) {
    const f = h[i] as readonly [string, string];
    const n = f[0];
    const c = n.charCodeAt(0);
    // every trace header starts with l, b or x
    if (c !== 0x6c && c !== 0x62 && c !== 0x78) continue;
    const v = f[1];
    switch (n) {
      case L5D_CTX_TRACE:
        t.l5d ??= v;
        break;
      case L5D_SAMPLE:
        t.sample ??= v;
        break;
      case B3_SINGLE:
        t.b3 ??= v;
        break;
      case B3_TRACE_ID:
        t.traceId ??= v;
        break;
      case B3_SPAN_ID:
        t.spanId ??= v;
        break;
      case B3_PARENT_SPAN_ID:
        t.parentSpanId ??= v;
        break;
      case B3_SAMPLED:
        t.sampled ??= v;
        break;
      case B3_FLAGS:
        t.flags ??= v;
        break;
    }
  }
  return t;
}

/** Parses `x-b3-traceid`, `x-b3-spanid`, `x-b3-parentspanid`, `x-b3-sampled`, `x-b3-flags`. */
export function parseB3Multi(h: HeaderList): TraceContext | undefined {
  return b3MultiOf(scanTrace(h));
}

function b3MultiOf(t: TraceHeaders): TraceContext | undefined {
  const traceId = t.traceId?.trim().toLowerCase();
  const spanId = t.spanId?.trim().toLowerCase();
  if (!traceId || !spanId || !isTraceId(traceId) || !isSpanId(spanId)) return undefined;
  const parent = t.parentSpanId?.trim().toLowerCase();
  const s = parseB3Sampled(t.sampled);
  const debug = t.flags?.trim() === "1";
  return {
    traceId,
    spanId,
    parentId: parent && isSpanId(parent) ? parent : undefined,
    sampled: debug ? true : s.sampled,
    debug,
  };
}

export interface IncomingTrace {
  /** The caller's span, when the request carried one. */
  parent: TraceContext | undefined;
  /** `l5d-sample` (0..1): the sample rate the caller asks for, when valid. */
  sampleRate: number | undefined;
  /** Which header the context came from. */
  source: "l5d-ctx-trace" | "b3" | "x-b3" | undefined;
  /** The request has a `b3` header (valid or not). */
  b3Single: boolean;
  /** The request has `b3`, `x-b3-traceid` or `x-b3-spanid` (the caller speaks B3, `hasB3`). */
  b3: boolean;
}
const INCOMING: IncomingTrace = {
  parent: undefined,
  sampleRate: undefined,
  source: undefined,
  b3Single: false,
  b3: false,
};

/**
 * What trace context a request carries. Invalid headers are ignored, as in Linkerd. A scratch
 * record, reused (no object per request): read it before the next call.
 */
export function readIncomingTrace(h: HeaderList): Readonly<IncomingTrace> {
  const t = scanTrace(h);
  let parent: TraceContext | undefined;
  let source: IncomingTrace["source"];
  if (t.l5d !== undefined) {
    parent = decodeL5dCtxTrace(t.l5d);
    if (parent) source = "l5d-ctx-trace";
  }
  if (!parent && t.b3 !== undefined) {
    parent = parseB3Single(t.b3);
    if (parent) source = "b3";
  }
  if (!parent) {
    parent = b3MultiOf(t);
    if (parent) source = "x-b3";
  }
  const s = t.sample;
  let sampleRate: number | undefined;
  if (s !== undefined) {
    const f = Number(s);
    if (s.trim() !== "" && Number.isFinite(f) && f >= 0 && f <= 1) sampleRate = f;
  }
  const r = INCOMING;
  r.parent = parent;
  r.sampleRate = sampleRate;
  r.source = source;
  r.b3Single = t.b3 !== undefined;
  r.b3 = t.b3 !== undefined || t.traceId !== undefined || t.spanId !== undefined;
  return r;
}

/** The headers that carry `ctx` to the next hop (set on the forwarded request). */
export function traceHeaders(ctx: TraceContext, withB3Single: boolean): Record<string, string> {
  return writeTraceHeaders({}, ctx, withB3Single);
}

/**
 * Writes the headers that carry `ctx` into `out` (replacing any of the same name); returns `out`.
 * Without `withB3Multi` only Linkerd's own `l5d-ctx-trace` and `l5d-reqid` are written (the
 * tracer's choice when nothing records spans and the caller sent no B3: two headers per hop
 * instead of six).
 */
export function writeTraceHeaders(
  out: Record<string, string>,
  ctx: TraceContext,
  withB3Single: boolean,
  withB3Multi = true,
): Record<string, string> {
  out[L5D_CTX_TRACE] = encodeL5dCtxTrace(ctx);
  // Linkerd: l5d-reqid is the trace id, so every hop of one call logs the same id
  out[L5D_REQID] = traceIdLow(ctx.traceId);
  if (!withB3Multi && !withB3Single) return out;
  out[B3_TRACE_ID] = ctx.traceId;
  out[B3_SPAN_ID] = ctx.spanId;
  if (ctx.parentId) out[B3_PARENT_SPAN_ID] = ctx.parentId;
  if (ctx.debug) out[B3_FLAGS] = "1";
  else if (ctx.sampled !== undefined) out[B3_SAMPLED] = ctx.sampled ? "1" : "0";
  if (withB3Single) {
    const sampling = ctx.debug
      ? "d"
      : ctx.sampled === undefined
        ? undefined
        : ctx.sampled
          ? "1"
          : "0";
    out[B3_SINGLE] = [
      ctx.traceId,
      ctx.spanId,
      ...(sampling ? [sampling] : []),
      ...(ctx.parentId && sampling ? [ctx.parentId] : []),
    ].join("-");
  }
  return out;
}

/** True when a request carries any B3 context header (then B3 is written onward too). */
export function hasB3(h: HeaderList): boolean {
  for (let i = 0; i < h.length; i++) {
    const n = (h[i] as readonly [string, string])[0];
    if (n === B3_SINGLE || n === B3_TRACE_ID || n === B3_SPAN_ID) return true;
  }
  return false;
}

/** Headers the next hop must not get from the incoming request. */
export const TRACE_HEADERS_REMOVED: readonly string[] = [
  L5D_SAMPLE,
  B3_PARENT_SPAN_ID,
  B3_SAMPLED,
  B3_FLAGS,
];
