/**
 * Connection-specific ("hop-by-hop") headers that must not cross a proxy (RFC 9113 §8.2.2,
 * RFC 9110 §7.6.1). `te` is special: HTTP/2 allows only `te: trailers`, which gRPC needs and
 * which must be kept (Linkerd 1 issue #832 stripped it and broke gRPC).
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
  "host",
]);

/** True for the headers a proxy drops (hop-by-hop, and `te` unless it is `trailers`). */
export function isHopByHop(name: string, value: unknown): boolean {
  if (name === "te") return value !== "trailers";
  return HOP_BY_HOP.has(name);
}

/** True when the request's content-type says gRPC (`application/grpc`, `+proto`, `+json`...). */
export function isGrpcContentType(contentType: string | undefined): boolean {
  return contentType?.startsWith("application/grpc") === true;
}
