import { Path } from "@l5d/dtab";
import { describe, expect, it } from "vitest";
import { type HeaderList, headerList } from "./header-list.js";
import type { Identification } from "./identifier.js";
import { headerPathIdentifierFactory } from "./identifier-header-path.js";
import {
  headerTokenIdentifier,
  headerTokenIdentifierFactory,
  headerTokenSchema,
} from "./identifier-header-token.js";

const SVC = Path.read("/svc");

const show = (r: Identification) => (r.kind === "ok" ? r.name.show : `unidentified: ${r.reason}`);

/** The bytes of each element of an identified name, as hex. */
const hexElems = (r: Identification) =>
  r.kind === "ok" ? r.name.elems.map((e) => Buffer.from(e, "latin1").toString("hex")) : [];

function req(fields: Record<string, string>): HeaderList {
  return headerList({ ":method": "GET", ":scheme": "http", ":path": "/", ...fields });
}

describe("io.l5d.header.token (h2)", () => {
  const id = headerTokenIdentifier({ header: ":authority" })(SVC);

  it.each([
    [{ ":authority": "foo.default:4142" }, "/svc/foo.default:4142"],
    [{ ":authority": "Web.Example" }, "/svc/Web.Example"],
    // an HTTP/1.1-upgraded request has host, not :authority
    [{ host: "web" }, "/svc/web"],
    [{ ":authority": "", host: "web" }, "/svc/web"],
    // one element: a `/` in the value is a byte of it, not a separator
    [{ ":authority": "a/b" }, "/svc/\\x61\\x2f\\x62"],
    [{}, "unidentified: missing header: ':authority'"],
    [{ ":authority": "" }, "unidentified: missing header: ':authority'"],
  ])("%j → %s", (fields, want) => {
    expect(show(id.identify(req(fields)))).toBe(want);
  });

  it("encodes the value as UTF-8, as Linkerd's Path.Utf8 (café → 63 61 66 c3 a9)", () => {
    const r = id.identify(req({ ":authority": "café" }));
    expect(hexElems(r)).toEqual(["737663", "636166c3a9"]);
    // Finagle shows every byte of an element with a byte it cannot show
    expect(show(r)).toBe("/svc/\\x63\\x61\\x66\\xc3\\xa9");
    expect(r.kind === "ok" && r.name.equals(Path.read("/svc/\\x63\\x61\\x66\\xc3\\xa9"))).toBe(
      true,
    );
    expect(r.kind === "ok" && r.name.equals(Path.utf8("svc", "café"))).toBe(true);
  });

  it("reads another header; the host fallback is for :authority only", () => {
    const custom = headerTokenIdentifier({ header: "x-svc" })(SVC);
    expect(show(custom.identify(req({ "x-svc": "books", host: "web" })))).toBe("/svc/books");
    expect(show(custom.identify(req({ host: "web" })))).toBe(
      "unidentified: missing header: 'x-svc'",
    );
  });

  it("remembers a name per distinct value, a bounded number of them", () => {
    const cached = headerTokenIdentifier({ header: ":authority" })(SVC);
    const a = cached.identify(req({ ":authority": "a" }));
    expect(cached.identify(req({ ":authority": "a" }))).toBe(a);
    for (let i = 0; i < 1100; i++) {
      const r = cached.identify(req({ ":authority": `h${i}` }));
      expect(show(r)).toBe(`/svc/h${i}`);
    }
    // cleared once full: a fresh, equal name
    const again = cached.identify(req({ ":authority": "a" }));
    expect(again).not.toBe(a);
    expect(show(again)).toBe("/svc/a");
  });

  it("config: header defaults to :authority and is lower-cased; unknown keys refused", () => {
    expect(headerTokenSchema.parse({ kind: "io.l5d.header.token" })).toEqual({
      kind: "io.l5d.header.token",
      header: ":authority",
    });
    expect(headerTokenSchema.parse({ kind: "io.l5d.header.token", header: "X-Svc" }).header).toBe(
      "x-svc",
    );
    expect(headerTokenSchema.safeParse({ kind: "io.l5d.header.token", header: "" }).success).toBe(
      false,
    );
    expect(headerTokenSchema.safeParse({ kind: "io.l5d.header.token", nope: 1 }).success).toBe(
      false,
    );
    expect(headerTokenSchema.safeParse({ kind: "io.l5d.path" }).success).toBe(false);
  });

  it("make() builds the identifier from the parsed config", () => {
    const f = headerTokenIdentifierFactory;
    expect(f.kind).toBe("io.l5d.header.token");
    const cfg = f.schema.parse({ kind: "io.l5d.header.token", header: "L5d-Name" });
    const made = f.make(cfg, {} as never)(Path.read("/pfx"));
    expect(show(made.identify(req({ "l5d-name": "café" })))).toBe("/pfx/\\x63\\x61\\x66\\xc3\\xa9");
  });
});

// h2's io.l5d.header.path: its too-short reason in Linkerd's words (`HeaderPathIdentifier`)
describe("io.l5d.header.path (h2) reasons", () => {
  const make = (cfg: Record<string, unknown>) =>
    headerPathIdentifierFactory.make(
      headerPathIdentifierFactory.schema.parse({ kind: "io.l5d.header.path", ...cfg }),
      {} as never,
    )(SVC);

  it.each([
    [{ segments: 1 }, "/", "unidentified: Path must have at least 1 segment(s)"],
    [{ segments: 2 }, "/a?x=1", "unidentified: Path must have at least 2 segment(s)"],
    [{ segments: 2 }, "/a/b/c", "/svc/a/b"],
    [{}, "/", "unidentified: Missing destination path"],
    [{}, "/helloworld.Hello/Greeting", "/svc/helloworld.Hello/Greeting"],
  ])("%j %s → %s", (cfg, path, want) => {
    expect(show(make(cfg).identify(req({ ":path": path })))).toBe(want);
  });
});
