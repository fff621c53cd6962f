/** Spans as Zipkin v2 JSON (`POST /api/v2/spans`, a JSON array of span objects). */
import type { Span, SpanEndpoint } from "./span.js";

function endpoint(e: SpanEndpoint): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (e.serviceName !== undefined) out.serviceName = e.serviceName;
  if (e.ipv4 !== undefined) out.ipv4 = e.ipv4;
  if (e.ipv6 !== undefined) out.ipv6 = e.ipv6;
  if (e.port !== undefined) out.port = e.port;
  return out;
}

export function toZipkinSpan(s: Span): Record<string, unknown> {
  const out: Record<string, unknown> = { traceId: s.traceId, id: s.id };
  if (s.parentId) out.parentId = s.parentId;
  out.kind = s.kind;
  out.name = s.name;
  out.timestamp = s.timestampUs;
  out.duration = s.durationUs;
  out.localEndpoint = endpoint(s.localEndpoint);
  if (s.remoteEndpoint && Object.keys(s.remoteEndpoint).length > 0)
    out.remoteEndpoint = endpoint(s.remoteEndpoint);
  if (Object.keys(s.tags).length > 0) out.tags = s.tags;
  if (s.debug) out.debug = true;
  return out;
}

export function toZipkinJson(spans: readonly Span[]): string {
  return JSON.stringify(spans.map(toZipkinSpan));
}
