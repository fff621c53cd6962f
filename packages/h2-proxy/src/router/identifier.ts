/**
 * Identifiers turn a request into a logical name (Linkerd's `RoutingFactory.Identifier`).
 * A router tries its identifiers in order until one identifies the request.
 */
import type { Path } from "@l5d/dtab";
import type { HeaderList } from "./header-list.js";

export type Identification =
  | {
      readonly kind: "ok";
      readonly name: Path;
      /**
       * The request-target to send upstream instead of the request's own (`io.l5d.path` with
       * `consume: true` strips the segments it routed on); unset: unchanged.
       */
      readonly rewritePath?: string;
    }
  | { readonly kind: "unidentified"; readonly reason: string };

export interface Identifier {
  /** May throw (e.g. a `:path` that is not a valid dtab path); the request then fails. */
  identify(headers: HeaderList): Identification;
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
