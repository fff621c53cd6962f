import { Path } from "@l5d/dtab";
import type { HeaderList, Identification } from "@l5d/h2-proxy";
import { describe, expect, it } from "vitest";
import {
  pathIdentifier,
  pathIdentifierFactory,
  pathIdentifierSchema,
  TOO_FEW_SEGMENTS_REASON,
} from "./identifier-path.js";

const SVC = Path.read("/svc");

function req(target: string, fields: [string, string][] = []): HeaderList {
  return [[":method", "GET"], [":path", target], [":version", "1.1"], ["host", "web"], ...fields];
}

const show = (r: Identification) => (r.kind === "ok" ? r.name.show : `unidentified: ${r.reason}`);

/** The name, and the request-target sent on (`=` when unchanged). */
const both = (r: Identification) =>
  r.kind === "ok" ? `${r.name.show} ${r.rewritePath ?? "="}` : `unidentified: ${r.reason}`;

describe("io.l5d.path", () => {
  const one = pathIdentifier({ segments: 1, consume: false })(SVC);
  const two = pathIdentifier({ segments: 2, consume: false })(SVC);

  it.each([
    [one, "/true/love/waits.php", "/svc/true"],
    [two, "/true/love/waits.php", "/svc/true/love"],
    [two, "/mysvc/subsvc", "/svc/mysvc/subsvc"],
    [two, "/mysvc/subsvc/some/path?other=stuff", "/svc/mysvc/subsvc"],
    // only the named segments are read (`!` is no dtab label char)
    [two, "/mysvc/subsvc/!", "/svc/mysvc/subsvc"],
    [two, "/mysvc/subsvc/", "/svc/mysvc/subsvc"],
    // the query is not part of the path, even with a / in it
    [two, "/mysvc?a=/b/c", `unidentified: ${TOO_FEW_SEGMENTS_REASON}`],
    [two, "/mysvc?other=stuff", "unidentified: not enough segments in path"],
    [two, "/mysvc/", "unidentified: not enough segments in path"],
    [one, "/", "unidentified: not enough segments in path"],
    [one, "/?a=b", "unidentified: not enough segments in path"],
    // absolute-form: the path after the authority
    [two, "http://h:80/a/b/c?q", "/svc/a/b"],
    [one, "http://h", "unidentified: not enough segments in path"],
    // asterisk-form, a CONNECT authority: no path
    [one, "*", "unidentified: not enough segments in path"],
    [one, "web:443", "unidentified: not enough segments in path"],
    // segments are raw (not percent-decoded), each one UTF-8 element
    [one, "/a%2Fb/c", "/svc/a%2Fb"],
    [one, "/a~b/c", "/svc/\\x61\\x7e\\x62"],
    [one, "/café", "/svc/\\x63\\x61\\x66\\xc3\\xa9"],
  ])("%# %s → %s", (id, target, want) => {
    expect(show(id.identify(req(target)))).toBe(want);
  });

  it("leaves the request alone without consume", () => {
    expect(both(two.identify(req("/mysvc/subsvc/path1/?x=1")))).toBe("/svc/mysvc/subsvc =");
  });

  it("fails the request when a named segment is empty (Finagle's Path refuses empty elements)", () => {
    expect(() => two.identify(req("/a//b"))).toThrow(/empty segment/);
    expect(() => one.identify(req("//a"))).toThrow(/empty segment/);
    // an empty segment after the named ones is only passed on
    expect(show(one.identify(req("/a//b")))).toBe("/svc/a");
  });

  describe("consume", () => {
    const c2 = pathIdentifier({ segments: 2, consume: true })(SVC);
    const c1 = pathIdentifier({ segments: 1, consume: true })(SVC);

    it.each([
      [c2, "/true/love/waits.php", "/svc/true/love /waits.php"],
      [c2, "/mysvc/subsvc/some/path?other=stuff", "/svc/mysvc/subsvc /some/path?other=stuff"],
      [c2, "/mysvc/subsvc", "/svc/mysvc/subsvc /"],
      // a trailing slash is kept
      [c2, "/mysvc/subsvc/", "/svc/mysvc/subsvc /"],
      [c2, "/mysvc/subsvc/path1/", "/svc/mysvc/subsvc /path1/"],
      [c2, "/mysvc/subsvc/path1", "/svc/mysvc/subsvc /path1"],
      [c2, "/mysvc/subsvc/path1/path2", "/svc/mysvc/subsvc /path1/path2"],
      [c2, "/mysvc/subsvc/path1/path2/", "/svc/mysvc/subsvc /path1/path2/"],
      // the query is kept as sent, also when nothing of the path is left
      [c2, "/mysvc/subsvc/path1/?foo=bar", "/svc/mysvc/subsvc /path1/?foo=bar"],
      [c2, "/mysvc/subsvc/path1?foo=bar", "/svc/mysvc/subsvc /path1?foo=bar"],
      [c2, "/mysvc/subsvc/path1?foo=bar/", "/svc/mysvc/subsvc /path1?foo=bar/"],
      [c1, "/mysvc?other=stuff", "/svc/mysvc /?other=stuff"],
      [c1, "/mysvc/?other=stuff", "/svc/mysvc /?other=stuff"],
      [c1, "/mysvc?", "/svc/mysvc /?"],
      // inner empty segments of the rest are kept
      [c1, "/a//b", "/svc/a //b"],
      // absolute-form: sent on in origin-form
      [c1, "http://h/api/books/42?x=1", "/svc/api /books/42?x=1"],
      [c1, "http://h/api?x=1", "/svc/api /?x=1"],
      [c2, "/mysvc", "unidentified: not enough segments in path"],
    ])("%# %s → %s", (id, target, want) => {
      expect(both(id.identify(req(target)))).toBe(want);
    });
  });

  it("config: segments defaults to 1, consume to false", () => {
    expect(pathIdentifierSchema.parse({ kind: "io.l5d.path" })).toEqual({
      kind: "io.l5d.path",
      segments: 1,
      consume: false,
    });
    expect(pathIdentifierSchema.parse({ kind: "io.l5d.path", segments: 2, consume: true })).toEqual(
      { kind: "io.l5d.path", segments: 2, consume: true },
    );
  });

  it.each([
    [{ segments: 0 }, "expected a positive integer"],
    [{ segments: -1 }, "expected a positive integer"],
    [{ segments: 1.5 }, "expected a positive integer"],
    [{ segments: "2" }, "expected a positive integer"],
    [{ consume: "yes" }, undefined],
    [{ header: ":path" }, undefined],
  ])("config: refuses %j", (extra, message) => {
    const r = pathIdentifierSchema.safeParse({ kind: "io.l5d.path", ...extra });
    expect(r.success).toBe(false);
    if (message !== undefined) expect(r.error?.issues[0]?.message).toBe(message);
  });

  it("make() builds the identifier from the parsed config", () => {
    const f = pathIdentifierFactory;
    expect(f.kind).toBe("io.l5d.path");
    const id = f.make(
      f.schema.parse({ kind: "io.l5d.path", segments: 2, consume: true }),
      {} as never,
    )(Path.read("/http"));
    expect(both(id.identify(req("/api/books/42?full=1")))).toBe("/http/api/books /42?full=1");
    const dflt = f.make(f.schema.parse({ kind: "io.l5d.path" }), {} as never)(SVC);
    expect(both(dflt.identify(req("/api/books")))).toBe("/svc/api =");
  });
});
