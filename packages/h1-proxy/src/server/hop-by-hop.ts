/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection and are never forwarded,
 * nor is any header a `Connection` field names. What a proxy passes on is the rest.
 */

/** Always hop-by-hop, whatever `Connection` says (lower-case). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * The header names a `Connection` field lists (lower-case), beyond the fixed set; undefined
 * when it lists none (the usual case: no allocation).
 */
export function connectionListed(
  values: readonly string[] | string | undefined,
): Set<string> | undefined {
  if (values === undefined) return undefined;
  let out: Set<string> | undefined;
  for (const v of typeof values === "string" ? [values] : values) {
    // the usual values name no field: no split
    if (v.length === 10 || v.length === 5) {
      const l = v.toLowerCase();
      if (l === "keep-alive" || l === "close") continue;
    }
    for (const token of v.split(",")) {
      const t = token.trim().toLowerCase();
      if (t === "" || t === "close" || t === "keep-alive" || HOP_BY_HOP.has(t)) continue;
      // never the framing or the Host: a message's Content-Length is what its body is read by,
      // on both sides of the proxy (`Connection: content-length` would smuggle the body)
      if (t === "content-length" || t === "host") continue;
      if (out === undefined) out = new Set();
      out.add(t);
    }
  }
  return out;
}

/**
 * Whether field `lower` (a lower-case name) describes one connection only: always hop-by-hop,
 * or named by its message's `Connection` field (`listed`, from {@link connectionListed}).
 */
export function isHopByHop(lower: string, listed: ReadonlySet<string> | undefined): boolean {
  return HOP_BY_HOP.has(lower) || listed?.has(lower) === true;
}
