/** The optional `prefix:` of a transformer: its id prefix under `/%`. */
import { Path } from "@l5d/dtab";
import { z } from "zod";

export function transformerPrefixSchema() {
  return z.string({ error: "expected a path such as /io.l5d.port" }).refine(
    (s) => {
      try {
        Path.read(s);
        return true;
      } catch {
        return false;
      }
    },
    { error: "expected a path such as /io.l5d.port" },
  );
}
