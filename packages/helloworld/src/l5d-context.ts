import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { Metadata } from "@grpc/grpc-js";

const PREFIX = "l5d-ctx";

/**
 * The metadata to send downstream: every incoming key starting (case-insensitively) with
 * `l5d-ctx`, with all its values (helloworld 0.1.4+ `linkerdContext`). This carries per-request
 * dtabs (`l5d-ctx-dtab`), deadlines and trace context across the hop.
 */
export function copyL5dContext(incoming: Metadata): Metadata {
  const out = new Metadata();
  for (const key of Object.keys(incoming.getMap())) {
    if (!key.toLowerCase().startsWith(PREFIX)) continue;
    for (const v of incoming.get(key)) out.add(key, v);
  }
  return out;
}

/** The HTTP mode's equivalent: every `l5d-ctx*` request header, first value only (Go's `Header.Get`). */
export function copyL5dContextHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(incoming)) {
    if (!key.toLowerCase().startsWith(PREFIX) || value === undefined) continue;
    out[key] = Array.isArray(value) ? (value[0] ?? "") : value;
  }
  return out;
}
