/** The `prefix:` of a namer: a path such as `/io.l5d.fs`, mounted under `/#`. */
import { Path } from "@l5d/dtab";
import { z } from "zod";

export function namerPrefixSchema() {
  return z
    .string({
      error: (i) => (i.input === undefined ? "required" : "expected a path such as /io.l5d.fs"),
    })
    .refine(
      (s) => {
        try {
          return !Path.read(s).isEmpty;
        } catch {
          return false;
        }
      },
      { error: "expected a non-empty path such as /io.l5d.fs" },
    );
}
