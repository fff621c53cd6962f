/**
 * Per-request dtab overrides (Linkerd's `LinkerdHeaders.Ctx.Dtab`): every `l5d-ctx-dtab` value,
 * then every `l5d-dtab` value, each parsed as a whole dtab and concatenated in that order.
 * There is no comma splitting; `dtab-local` is ignored.
 */
import { Dtab } from "@l5d/dtab";
import { type HeaderList, headerValues } from "./header-list.js";

export const CTX_DTAB = "l5d-ctx-dtab";
export const USER_DTAB = "l5d-dtab";

/**
 * Dentries a request's override may carry (l5d-ts; Linkerd has no bound): every lookup of the
 * request's binding scans them, so their number multiplies the binding's work. Overrides in
 * practice carry a handful.
 */
export const MAX_OVERRIDE_DENTRIES = 100;

/**
 * The local dtab of a request; throws DtabParseError on a bad header value, and an Error past
 * `maxDentries` dentries (counted as they are parsed, header by header).
 */
export function readLocalDtab(headers: HeaderList, maxDentries = MAX_OVERRIDE_DENTRIES): Dtab {
  const ctx = headerValues(headers, CTX_DTAB);
  const user = headerValues(headers, USER_DTAB);
  if (ctx.length === 0 && user.length === 0) return Dtab.empty;
  let d = Dtab.empty;
  for (const v of ctx) d = withinLimit(d.concat(Dtab.read(v)), maxDentries);
  for (const v of user) d = withinLimit(d.concat(Dtab.read(v)), maxDentries);
  return d;
}

function withinLimit(d: Dtab, max: number): Dtab {
  if (d.dentries.length > max)
    throw new Error(`${d.dentries.length} dentries, more than the ${max} an override may carry`);
  return d;
}
