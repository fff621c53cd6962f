/**
 * Spans as OTLP/HTTP JSON (`POST /v1/traces`, an ExportTraceServiceRequest). Trace and span ids
 * are hex strings (the OTLP JSON exception to proto3 JSON's base64); 64-bit trace ids are
 * left-padded to 128 bits; times are nanosecond strings. One resource per router label.
 */
import type { Span } from "./span.js";
import { traceId128 } from "./trace-context.js";

const KIND_SERVER = 2;
const KIND_CLIENT = 3;
const STATUS_OK = 1;
const STATUS_ERROR = 2;

function attr(key: string, value: string | number): Record<string, unknown> {
  return typeof value === "number"
    ? { key, value: { intValue: String(value) } }
    : { key, value: { stringValue: value } };
}

function nanos(us: number): string {
  return `${BigInt(Math.round(us)) * 1000n}`;
}

export function toOtlpSpan(s: Span): Record<string, unknown> {
  const attributes: Record<string, unknown>[] = [];
  for (const [k, v] of Object.entries(s.tags)) attributes.push(attr(k, v));
  const peer = s.remoteEndpoint;
  if (peer?.ipv4 ?? peer?.ipv6) attributes.push(attr("net.peer.ip", (peer.ipv4 ?? peer.ipv6)!));
  if (peer?.port !== undefined) attributes.push(attr("net.peer.port", peer.port));
  if (s.localEndpoint.ipv4 ?? s.localEndpoint.ipv6)
    attributes.push(attr("net.host.ip", (s.localEndpoint.ipv4 ?? s.localEndpoint.ipv6)!));
  if (s.localEndpoint.port !== undefined)
    attributes.push(attr("net.host.port", s.localEndpoint.port));
  const failed = s.tags.error !== undefined;
  const out: Record<string, unknown> = {
    traceId: traceId128(s.traceId),
    spanId: s.id,
  };
  if (s.parentId) out.parentSpanId = s.parentId;
  Object.assign(out, {
    name: s.name,
    kind: s.kind === "SERVER" ? KIND_SERVER : KIND_CLIENT,
    startTimeUnixNano: nanos(s.timestampUs),
    endTimeUnixNano: nanos(s.timestampUs + s.durationUs),
    attributes,
    status: failed ? { code: STATUS_ERROR, message: s.tags.error } : { code: STATUS_OK },
  });
  return out;
}

export interface OtlpResourceOptions {
  /** `service.name` of each resource; default the span's local service name (the router label). */
  readonly serviceName?: string | undefined;
  readonly scopeVersion?: string | undefined;
}

export function toOtlpRequest(
  spans: readonly Span[],
  opts: OtlpResourceOptions = {},
): Record<string, unknown> {
  const byService = new Map<string, Span[]>();
  for (const s of spans) {
    const name = opts.serviceName ?? s.localEndpoint.serviceName ?? "l5d";
    const list = byService.get(name);
    if (list) list.push(s);
    else byService.set(name, [s]);
  }
  return {
    resourceSpans: [...byService].map(([service, list]) => ({
      resource: {
        attributes: [attr("service.name", service), attr("telemetry.sdk.name", "l5d-ts")],
      },
      scopeSpans: [
        {
          scope: { name: "l5d-ts", version: opts.scopeVersion ?? "0.1.0" },
          spans: list.map(toOtlpSpan),
        },
      ],
    })),
  };
}
