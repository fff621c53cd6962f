import { Path } from "@l5d/dtab";
import type { HeaderList, Identification } from "@l5d/h2-proxy";
import { describe, expect, it } from "vitest";
import {
  MISSING_HOST_REASON,
  methodAndHostIdentifier,
  methodAndHostIdentifierFactory,
  methodAndHostSchema,
} from "./identifier-method-and-host.js";

const SVC = Path.read("/svc");

/** The data plane's header list: pseudo-fields, then the request's fields. */
function req(
  method: string,
  target: string,
  version: string,
  fields: [string, string][] = [],
): HeaderList {
  return [[":method", method], [":path", target], [":version", version], ...fields];
}

const show = (r: Identification) => (r.kind === "ok" ? r.name.show : `unidentified: ${r.reason}`);

describe("io.l5d.methodAndHost", () => {
  const plain = methodAndHostIdentifier({ httpUriInDst: false })(SVC);
  const withUri = methodAndHostIdentifier({ httpUriInDst: true })(SVC);

  it.each<[string, string, string, [string, string][], string]>([
    // HTTP/1.1: /1.1/<METHOD>/<host>, the host lower-cased, its port kept, the path left out
    ["GET", "/some/path?other=stuff", "1.1", [["host", "DoMaiN"]], "/svc/1.1/GET/domain"],
    ["POST", "/", "1.1", [["host", "Web.Example:8080"]], "/svc/1.1/POST/web.example:8080"],
    [
      "DELETE",
      "/x",
      "1.1",
      [["host", "[::1]:80"]],
      "/svc/1.1/DELETE/\\x5b\\x3a\\x3a\\x31\\x5d\\x3a\\x38\\x30",
    ],
    // absolute-form: its authority is the host (Linkerd's ProxyRewriteFilter sets Host from it)
    [
      "GET",
      "http://Books.Example:81/a?b",
      "1.1",
      [["host", "other"]],
      "/svc/1.1/GET/books.example:81",
    ],
    ["GET", "https://web/", "1.1", [], "/svc/1.1/GET/web"],
    // a `://` in the query does not make a target absolute-form
    ["GET", "/a?next=http://evil/", "1.1", [["host", "web"]], "/svc/1.1/GET/web"],
    // no Host on HTTP/1.1
    ["GET", "/some/path?other=stuff", "1.1", [], `unidentified: ${MISSING_HOST_REASON}`],
    ["GET", "/", "1.1", [["host", ""]], "unidentified: HTTP/1.1 request missing hostname"],
    // HTTP/1.0: /1.0/<METHOD>, no host
    ["POST", "/drum/bass", "1.0", [], "/svc/1.0/POST"],
    ["GET", "/a", "1.0", [["host", "web"]], "/svc/1.0/GET"],
    ["GET", "/a", "0.9", [["host", "web"]], "unidentified: Unknown HTTP version HTTP/0.9"],
  ])("%s %s HTTP/%s %j → %s", (method, target, version, fields, want) => {
    expect(show(plain.identify(req(method, target, version, fields)))).toBe(want);
  });

  it.each<[string, string, string, [string, string][], string]>([
    // httpUriInDst: the uri path appended, not the query
    ["GET", "/some/path?other=stuff", "1.1", [["host", "domain"]], "/svc/1.1/GET/domain/some/path"],
    ["POST", "/drum/bass", "1.0", [], "/svc/1.0/POST/drum/bass"],
    ["GET", "/", "1.1", [["host", "web"]], "/svc/1.1/GET/web"],
    ["GET", "/a%20b/c", "1.1", [["host", "web"]], "/svc/1.1/GET/web/a%20b/c"],
    // absolute-form: the path after the authority; none is /
    ["GET", "http://web/books/42?x=1", "1.1", [["host", "web"]], "/svc/1.1/GET/web/books/42"],
    ["GET", "http://web", "1.1", [], "/svc/1.1/GET/web"],
    ["GET", "http://web?q", "1.0", [], "/svc/1.0/GET"],
    // the missing host is reported before the path is read
    ["GET", "/a~b", "1.1", [], `unidentified: ${MISSING_HOST_REASON}`],
  ])("httpUriInDst: %s %s HTTP/%s %j → %s", (method, target, version, fields, want) => {
    expect(show(withUri.identify(req(method, target, version, fields)))).toBe(want);
  });

  it.each([
    "/a/", // a trailing slash is an empty element
    "/a//b",
    "/a~b",
    "*",
  ])("httpUriInDst: %s is not a dtab path: the request fails (Linkerd's Path.read throws)", (t) => {
    expect(() => withUri.identify(req("GET", t, "1.1", [["host", "web"]]))).toThrow();
    // without httpUriInDst the path is not read
    expect(show(plain.identify(req("GET", t, "1.1", [["host", "web"]])))).toBe("/svc/1.1/GET/web");
  });

  it("encodes the method and host as UTF-8 elements (Path.Utf8)", () => {
    const r = plain.identify(req("GET", "/", "1.1", [["host", "CAFÉ"]]));
    expect(r.kind === "ok" && r.name.equals(Path.utf8("svc", "1.1", "GET", "café"))).toBe(true);
    expect(show(r)).toBe("/svc/1.1/GET/\\x63\\x61\\x66\\xc3\\xa9");
  });

  it("uses the router's dstPrefix", () => {
    const id = methodAndHostIdentifier({ httpUriInDst: false })(Path.read("/https"));
    expect(show(id.identify(req("GET", "/", "1.1", [["host", "x"]])))).toBe("/https/1.1/GET/x");
    const empty = methodAndHostIdentifier({ httpUriInDst: false })(Path.empty);
    expect(show(empty.identify(req("PUT", "/", "1.0")))).toBe("/1.0/PUT");
  });

  it("config: httpUriInDst defaults to false; other keys and types refused", () => {
    expect(methodAndHostSchema.parse({ kind: "io.l5d.methodAndHost" })).toEqual({
      kind: "io.l5d.methodAndHost",
      httpUriInDst: false,
    });
    expect(
      methodAndHostSchema.parse({ kind: "io.l5d.methodAndHost", httpUriInDst: true }).httpUriInDst,
    ).toBe(true);
    for (const bad of [
      { kind: "io.l5d.methodAndHost", httpUriInDst: "yes" },
      { kind: "io.l5d.methodAndHost", uris: true },
      { kind: "io.l5d.path" },
    ])
      expect(methodAndHostSchema.safeParse(bad).success).toBe(false);
  });

  it("make() builds the identifier from the parsed config", () => {
    const f = methodAndHostIdentifierFactory;
    expect(f.kind).toBe("io.l5d.methodAndHost");
    const id = f.make(
      f.schema.parse({ kind: "io.l5d.methodAndHost", httpUriInDst: true }),
      {} as never,
    )(SVC);
    expect(show(id.identify(req("GET", "/a/b?c", "1.1", [["host", "Web"]])))).toBe(
      "/svc/1.1/GET/web/a/b",
    );
  });
});
