import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";

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

/** Header edits decided by the router. Names are lower case. */
export interface HeaderEdits {
  /** Headers to set (replacing any incoming value). */
  readonly set?: Readonly<Record<string, string>> | undefined;
  /** Headers to remove. */
  readonly remove?: readonly string[] | undefined;
}

/** True for the headers a proxy drops (hop-by-hop, and `te` unless it is `trailers`). */
export function isHopByHop(name: string, value: unknown): boolean {
  if (name === "te") return value !== "trailers";
  return HOP_BY_HOP.has(name);
}

/**
 * Copies headers for the next hop: drops hop-by-hop headers (keeping `te: trailers`), then
 * applies the router's edits. Works for request and response headers alike.
 */
export function forwardHeaders(
  incoming: IncomingHttpHeaders,
  edits?: HeaderEdits,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  // removals are skipped while copying (no `delete`, which would turn `out` into a slow dictionary)
  const remove = edits?.remove;
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || isHopByHop(name, value)) continue;
    if (remove?.includes(name)) continue;
    out[name] = value;
  }
  if (edits !== undefined) {
    if (edits.set !== undefined) {
      const set = edits.set;
      for (const name in set) out[name] = set[name];
    }
  }
  return out;
}

/** True when the request's content-type says gRPC (`application/grpc`, `+proto`, `+json`...). */
export function isGrpcContentType(contentType: string | undefined): boolean {
  return contentType?.startsWith("application/grpc") === true;
}
