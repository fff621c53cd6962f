/**
 * The names of the `io.l5d.header.token` identifiers (h2 and http): `dstPrefix/<value>`, the
 * value one element UTF-8 encoded as Linkerd's `Path.Utf8`. Paths are immutable, so one per
 * distinct value is remembered (bounded: the cache is cleared when full), which saves building
 * it (and its `show`) per request.
 */
import { Path } from "@l5d/dtab";
import type { Identification } from "./identifier.js";

/** Distinct values whose names are remembered. */
export const TOKEN_NAME_CACHE_SIZE = 1024;

/** The identification of each header value, for one identifier's `dstPrefix`. */
export function tokenNamer(dstPrefix: Path): (value: string) => Identification {
  const names = new Map<string, Identification>();
  return (v) => {
    let id = names.get(v);
    if (id === undefined) {
      id = { kind: "ok", name: dstPrefix.concat(Path.utf8(v)) };
      if (names.size >= TOKEN_NAME_CACHE_SIZE) names.clear();
      names.set(v, id);
    }
    return id;
  };
}
