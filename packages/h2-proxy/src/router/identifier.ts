/**
 * Identifiers turn a request into a logical name (Linkerd's `RoutingFactory.Identifier`).
 * A router tries its identifiers in order until one identifies the request.
 */
import type { IncomingHttpHeaders } from "node:http2";
import type { Path } from "@l5d/dtab";

export type Identification =
  | { readonly kind: "ok"; readonly name: Path }
  | { readonly kind: "unidentified"; readonly reason: string };

export interface Identifier {
  /** May throw (e.g. a `:path` that is not a valid dtab path); the request then fails. */
  identify(headers: IncomingHttpHeaders): Identification;
}

/** What an identifier plugin builds: it gets the router's `dstPrefix`. */
export type IdentifierMaker = (dstPrefix: Path) => Identifier;

/** Tries each identifier in order (Linkerd's `Identifier.compose`). */
export function composeIdentifiers(ids: readonly Identifier[]): Identifier {
  if (ids.length === 1) return ids[0]!;
  return {
    identify(headers) {
      const reasons: string[] = [];
      for (const id of ids) {
        const r = id.identify(headers);
        if (r.kind === "ok") return r;
        reasons.push(r.reason);
      }
      return { kind: "unidentified", reason: reasons.join("; ") };
    },
  };
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0] : String(v);
}
