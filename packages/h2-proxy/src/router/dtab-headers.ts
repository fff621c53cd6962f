/**
 * Per-request dtab overrides (Linkerd's `LinkerdHeaders.Ctx.Dtab`): every `l5d-ctx-dtab` value,
 * then every `l5d-dtab` value, each parsed as a whole dtab and concatenated in that order.
 * There is no comma splitting; `dtab-local` is ignored.
 */
import { Dtab } from "@l5d/dtab";
import { type HeaderList, headerValues } from "./header-list.js";

export const CTX_DTAB = "l5d-ctx-dtab";
export const USER_DTAB = "l5d-dtab";

/** The local dtab of a request; throws DtabParseError on a bad header value. */
export function readLocalDtab(headers: HeaderList): Dtab {
  const ctx = headerValues(headers, CTX_DTAB);
  const user = headerValues(headers, USER_DTAB);
  if (ctx.length === 0 && user.length === 0) return Dtab.empty;
  let d = Dtab.empty;
  for (const v of ctx) d = d.concat(Dtab.read(v));
  for (const v of user) d = d.concat(Dtab.read(v));
  return d;
}
