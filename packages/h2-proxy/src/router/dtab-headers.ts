/**
 * Per-request dtab overrides (Linkerd's `LinkerdHeaders.Ctx.Dtab`): every `l5d-ctx-dtab` value,
 * then every `l5d-dtab` value, each parsed as a whole dtab and concatenated in that order.
 * There is no comma splitting; `dtab-local` is ignored.
 */
import type { IncomingHttpHeaders } from "node:http2";
import { Dtab } from "@l5d/dtab";

export const CTX_DTAB = "l5d-ctx-dtab";
export const USER_DTAB = "l5d-dtab";

function values(headers: IncomingHttpHeaders, name: string): string[] {
  const v = headers[name];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [String(v)];
}

/** The local dtab of a request; throws DtabParseError on a bad header value. */
export function readLocalDtab(headers: IncomingHttpHeaders): Dtab {
  const ctx = values(headers, CTX_DTAB);
  const user = values(headers, USER_DTAB);
  if (ctx.length === 0 && user.length === 0) return Dtab.empty;
  let d = Dtab.empty;
  for (const v of ctx) d = d.concat(Dtab.read(v));
  for (const v of user) d = d.concat(Dtab.read(v));
  return d;
}
