import { Path } from "@l5d/dtab";
import type { HeaderList, Identification } from "@l5d/h2-proxy";
import { describe, expect, it } from "vitest";
import {
  headerIdentifier,
  headerIdentifierFactory,
  headerIdentifierSchema,
} from "./identifier-header.js";

const SVC = Path.read("/svc");

function req(fields: [string, string][], target = "/"): HeaderList {
  return [[":method", "GET"], [":path", target], [":version", "1.1"], ...fields];
}

const show = (r: Identification) => (r.kind === "ok" ? r.name.show : `unidentified: ${r.reason}`);

describe("io.l5d.header", () => {
  const id = headerIdentifier({ header: "l5d-name" })(SVC);

  it.each<[[string, string][], string]>([
    [[["l5d-name", "/books/v2"]], "/svc/books/v2"],
    [[["l5d-name", "/a/b/c"]], "/svc/a/b/c"],
    // the value is read as a dtab path: escapes decoded, shown as Finagle shows them
    [[["l5d-name", "/caf\\xc3\\xa9"]], "/svc/\\x63\\x61\\x66\\xc3\\xa9"],
    [[["l5d-name", "/"]], "/svc"],
    // the first of several
    [
      [
        ["l5d-name", "/one"],
        ["l5d-name", "/two"],
      ],
      "/svc/one",
    ],
    [[], "unidentified: l5d-name header is absent"],
    [[["l5d-name", ""]], "unidentified: l5d-name header is absent"],
    [[["host", "/web"]], "unidentified: l5d-name header is absent"],
  ])("%j → %s", (fields, want) => {
    expect(show(id.identify(req(fields)))).toBe(want);
  });

  it.each([
    ["books", "'/' expected but 'b' found at '[b]ooks'"],
    ["/a/", "label char expected but end of input found at '/a/[]'"],
    ["/a b", "end of input expected but 'b' found at '/a [b]'"],
    ["/a~b", "end of input expected but '~' found at '/a[~]b'"],
  ])("%j is not a path: unidentified with the parse error", (value, error) => {
    expect(show(id.identify(req([["l5d-name", value]])))).toBe(
      `unidentified: l5d-name header is not a path: ${error}`,
    );
  });

  it("reads the configured header in any case; the reason names it as configured", () => {
    const custom = headerIdentifier({ header: "My-Header" })(SVC);
    expect(show(custom.identify(req([["my-header", "/a/b/c"]])))).toBe("/svc/a/b/c");
    expect(show(custom.identify(req([["l5d-name", "/x"]])))).toBe(
      "unidentified: My-Header header is absent",
    );
  });

  it("config: header defaults to l5d-name; an empty header or other keys refused", () => {
    expect(headerIdentifierSchema.parse({ kind: "io.l5d.header" })).toEqual({
      kind: "io.l5d.header",
      header: "l5d-name",
    });
    expect(headerIdentifierSchema.parse({ kind: "io.l5d.header", header: "X-Dst" }).header).toBe(
      "X-Dst",
    );
    for (const bad of [
      { kind: "io.l5d.header", header: "" },
      { kind: "io.l5d.header", header: 1 },
      { kind: "io.l5d.header", segments: 1 },
      { kind: "io.l5d.header.token" },
    ])
      expect(headerIdentifierSchema.safeParse(bad).success).toBe(false);
  });

  it("make() builds the identifier from the parsed config", () => {
    const f = headerIdentifierFactory;
    expect(f.kind).toBe("io.l5d.header");
    const dflt = f.make(f.schema.parse({ kind: "io.l5d.header" }), {} as never)(Path.read("/http"));
    expect(show(dflt.identify(req([["l5d-name", "/a/b/c"]])))).toBe("/http/a/b/c");
    const custom = f.make(
      f.schema.parse({ kind: "io.l5d.header", header: "X-Dst" }),
      {} as never,
    )(SVC);
    expect(show(custom.identify(req([["x-dst", "/books"]])))).toBe("/svc/books");
  });
});
