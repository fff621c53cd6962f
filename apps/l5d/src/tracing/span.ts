/** A finished span, as the tracing telemeters export it (a neutral model; Zipkin v2 and OTLP map from it). */

export interface SpanEndpoint {
  readonly serviceName?: string | undefined;
  readonly ipv4?: string | undefined;
  readonly ipv6?: string | undefined;
  readonly port?: number | undefined;
}

export type SpanKind = "SERVER" | "CLIENT";

export interface Span {
  /** 16 or 32 hex digits. */
  readonly traceId: string;
  /** 16 hex digits. */
  readonly id: string;
  readonly parentId?: string | undefined;
  readonly kind: SpanKind;
  /** The request path (for gRPC the method, `/helloworld.Hello/Greeting`). */
  readonly name: string;
  /** Start, microseconds since the epoch. */
  readonly timestampUs: number;
  /** Duration in microseconds (at least 1). */
  readonly durationUs: number;
  /** This linker: the router label as service name, and the server's address. */
  readonly localEndpoint: SpanEndpoint;
  /** The peer: the downstream caller for a server span, the endpoint for a client span. */
  readonly remoteEndpoint?: SpanEndpoint | undefined;
  readonly tags: Readonly<Record<string, string>>;
  /** The request failed (its message; also in `tags.error`). */
  readonly error?: string | undefined;
  readonly debug?: boolean | undefined;
}

/** Something that takes finished spans (the `io.l5d.zipkin` and `io.l5d.otlp` telemeters). */
export interface SpanSink {
  /** Sample rate this sink asks for (0..1); the tracer samples at the highest rate asked. */
  readonly sampleRate: number;
  recordSpan(span: Span): void;
}

/** Now, in microseconds since the epoch (sub-millisecond precision). */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Splits an address for a span endpoint (`ipv4` or `ipv6`). */
export function endpointOf(
  host: string | undefined,
  port: number | undefined,
  serviceName?: string,
): SpanEndpoint {
  const h = host?.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
  const out: { serviceName?: string; ipv4?: string; ipv6?: string; port?: number } = {};
  if (serviceName !== undefined) out.serviceName = serviceName;
  if (h && /^\d+\.\d+\.\d+\.\d+$/.test(h)) {
    if (h !== "0.0.0.0") out.ipv4 = h;
  } else if (h?.includes(":")) {
    if (h !== "::") out.ipv6 = h;
  }
  if (port !== undefined && port > 0) out.port = port;
  return out;
}
