import { Path } from "@l5d/dtab";
import { type HeaderList, type Identification, TOKEN_NAME_CACHE_SIZE } from "@l5d/h2-proxy";
import { describe, expect, it } from "vitest";
import {
  httpHeaderTokenIdentifier,
  httpHeaderTokenIdentifierFactory,
  httpHeaderTokenSchema,
} from "./identifier-header-token.js";

const SVC = Path.read("/svc");

function req(fields: [string, string][], target = "/", version = "1.1"): HeaderList {
  return [[":method", "GET"], [":path", target], [":version", version], ...fields];
}

const show = (r: Identification) => (r.kind === "ok" ? r.name.show : `unidentified: ${r.reason}`);

describe("io.l5d.header.token (http)", () => {
  const id = httpHeaderTokenIdentifier({ header: "Host" })(SVC);

  it.each<[[string, string][], string, string]>([
    [[["host", "web"]], "/", "/svc/web"],
    // as sent: not lower-cased, the port kept
    [[["host", "Web.Example:8080"]], "/", "/svc/Web.Example:8080"],
    // one element: a / is a byte of it
    [[["host", "a/b"]], "/", "/svc/\\x61\\x2f\\x62"],
    // absolute-form: the authority is the Host (Linkerd's ProxyRewriteFilter)
    [[["host", "web"]], "http://Books:81/a", "/svc/Books:81"],
    [[], "http://books/", "/svc/books"],
    [[], "/", "unidentified: Host header is absent"],
    [[["host", ""]], "/", "unidentified: Host header is absent"],
    [[["x-host", "web"]], "/", "unidentified: Host header is absent"],
  ])("%j %s → %s", (fields, target, want) => {
    expect(show(id.identify(req(fields, target)))).toBe(want);
  });

  it("encodes the value as UTF-8, as Linkerd's Path.Utf8 (café → 63 61 66 c3 a9)", () => {
    const r = id.identify(req([["host", "café"]]));
    expect(
      r.kind === "ok" && r.name.elems.map((e) => Buffer.from(e, "latin1").toString("hex")),
    ).toEqual(["737663", "636166c3a9"]);
    // Finagle shows every byte of an element with a byte it cannot show
    expect(show(r)).toBe("/svc/\\x63\\x61\\x66\\xc3\\xa9");
    expect(r.kind === "ok" && r.name.equals(Path.utf8("svc", "café"))).toBe(true);
  });

  it("reads another header in any case; the reason names it as configured", () => {
    const custom = httpHeaderTokenIdentifier({ header: "My-Header" })(SVC);
    expect(show(custom.identify(req([["my-header", "books"]])))).toBe("/svc/books");
    expect(show(custom.identify(req([["host", "web"]])))).toBe(
      "unidentified: My-Header header is absent",
    );
    // only Host is taken from an absolute-form target
    expect(show(custom.identify(req([], "http://web/")))).toBe(
      "unidentified: My-Header header is absent",
    );
  });

  it("remembers a name per distinct value, at most TOKEN_NAME_CACHE_SIZE of them", () => {
    const cached = httpHeaderTokenIdentifier({ header: "host" })(SVC);
    const a = cached.identify(req([["host", "a"]]));
    expect(cached.identify(req([["host", "a"]]))).toBe(a);
    for (let i = 0; i < TOKEN_NAME_CACHE_SIZE + 10; i++)
      expect(show(cached.identify(req([["host", `h${i}`]])))).toBe(`/svc/h${i}`);
    const again = cached.identify(req([["host", "a"]]));
    expect(again).not.toBe(a);
    expect(show(again)).toBe("/svc/a");
  });

  it("config: header defaults to Host; an empty header or other keys refused", () => {
    expect(httpHeaderTokenSchema.parse({ kind: "io.l5d.header.token" })).toEqual({
      kind: "io.l5d.header.token",
      header: "Host",
    });
    for (const bad of [
      { kind: "io.l5d.header.token", header: "" },
      { kind: "io.l5d.header.token", header: null },
      { kind: "io.l5d.header.token", headerPath: true },
      { kind: "io.l5d.header" },
    ])
      expect(httpHeaderTokenSchema.safeParse(bad).success).toBe(false);
  });

  it("make() builds the identifier from the parsed config", () => {
    const f = httpHeaderTokenIdentifierFactory;
    expect(f.kind).toBe("io.l5d.header.token");
    const dflt = f.make(f.schema.parse({ kind: "io.l5d.header.token" }), {} as never)(Path.empty);
    expect(show(dflt.identify(req([["host", "foo"]])))).toBe("/foo");
    const custom = f.make(
      f.schema.parse({ kind: "io.l5d.header.token", header: "my-header" }),
      {} as never,
    )(SVC);
    expect(show(custom.identify(req([["my-header", "foo"]])))).toBe("/svc/foo");
  });
});
