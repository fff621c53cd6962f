/**
 * The request as it goes upstream: its header list with hop-by-hop fields removed and the
 * router's edits applied, and the endpoint key its upstream connection is found by.
 */
import type { HeaderField } from "@l5d/h2";
import { isHopByHop } from "../dataplane/headers.js";
import { type Address, addressKey } from "../router/address.js";
import { type HeaderEdits, headerValue } from "../router/header-list.js";

/** Fields reserved beyond the request's: the router's `l5d-*` edits, `grpc-timeout`. */
const EDIT_ROOM = 8;

/**
 * The request's header list for upstream: hop-by-hop removed, edits applied (`remove`: the
 * router's `l5d-dtab`, the daemon's `clearContext` removals; `set` replaces every field of its
 * names). With `timeout`, the last field is a `grpc-timeout` placeholder (its value is written
 * per attempt, from the time left) and the client's own is dropped.
 */
export function upstreamHeaders(
  fields: readonly HeaderField[],
  edits: HeaderEdits | undefined,
  timeout: boolean,
): HeaderField[] {
  // sized once for the request's fields and the router's few edits (trimmed below)
  const out: HeaderField[] = new Array(fields.length + EDIT_ROOM);
  let k = 0;
  const set = edits?.set;
  const remove = edits?.remove;
  let authority = false;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    const n = f[0];
    if (n === ":authority") authority = true;
    if (
      isHopByHop(n, f[1]) ||
      remove?.includes(n) ||
      (set !== undefined && n in set) ||
      (timeout && n === "grpc-timeout")
    ) {
      continue;
    }
    out[k++] = f;
  }
  if (set !== undefined) for (const n in set) out[k++] = editField(n, set[n] as string);
  if (timeout) out[k++] = ["grpc-timeout", ""];
  out.length = k;
  if (!authority) {
    // an HTTP/1.1 Upgrade's Host: pseudo-headers go first (RFC 9113 §8.3)
    const host = headerValue(fields, "host");
    if (host !== undefined) out.unshift([":authority", host]);
  }
  return out;
}

/**
 * The field last made for each edited name. The router's edits mostly repeat their values
 * request after request (`l5d-dst-service`, `l5d-dst-client` and `via` are the binding's), so
 * the same `[name, value]` pair is sent again instead of a new one per request (fields are
 * read-only everywhere: sharing one is safe). The names are the router's and the tracer's own
 * (a handful); the bound only guards against a caller that makes up names.
 */
const lastEditField = new Map<string, HeaderField>();
const MAX_EDIT_NAMES = 64;

function editField(name: string, value: string): HeaderField {
  const last = lastEditField.get(name);
  if (last !== undefined && last[1] === value) return last;
  const f: HeaderField = [name, value];
  if (last !== undefined || lastEditField.size < MAX_EDIT_NAMES) lastEditField.set(name, f);
  return f;
}

/**
 * A header block without its hop-by-hop fields: the block itself (no copy) when it has none,
 * which is nearly always (the decoder's array is ours: nothing else holds it).
 */
export function withoutHopByHop(fields: HeaderField[]): HeaderField[] {
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    if (isHopByHop(f[0], f[1])) return fields.filter(isEndToEnd);
  }
  return fields;
}

function isEndToEnd(f: HeaderField): boolean {
  return !isHopByHop(f[0], f[1]);
}

/**
 * `host:port` per endpoint object, made once: the router hands the same endpoint objects to
 * every request, and a cached string also keeps its hash for the upstream-connection lookup.
 */
const endpointKeys = new WeakMap<Address, string>();

export function endpointKey(endpoint: Address): string {
  let key = endpointKeys.get(endpoint);
  if (key === undefined) {
    key = addressKey(endpoint);
    endpointKeys.set(endpoint, key);
  }
  return key;
}
