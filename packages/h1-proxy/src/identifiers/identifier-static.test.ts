import { Path } from "@l5d/dtab";
import type { HeaderList, Identification } from "@l5d/h2-proxy";
import { describe, expect, it } from "vitest";
import {
  staticIdentifier,
  staticIdentifierFactory,
  staticIdentifierSchema,
} from "./identifier-static.js";

const SVC = Path.read("/svc");

function req(method: string, target: string, version: string): HeaderList {
  return [
    [":method", method],
    [":path", target],
    [":version", version],
  ];
}

const show = (r: Identification) => (r.kind === "ok" ? r.name.show : `unidentified: ${r.reason}`);

describe("io.l5d.static", () => {
  it.each([
    ["/foo/bar", "/svc/foo/bar"],
    ["/foo", "/svc/foo"],
    ["/", "/svc"],
    ["/caf\\xc3\\xa9", "/svc/\\x63\\x61\\x66\\xc3\\xa9"],
  ])("path %s → %s for every request", (path, want) => {
    const id = staticIdentifier({ path: Path.read(path) })(SVC);
    for (const r of [req("GET", "/x", "1.1"), req("POST", "/y?z", "1.0"), req("GET", "*", "1.1")])
      expect(show(id.identify(r))).toBe(want);
  });

  it("uses the router's dstPrefix (Linkerd: prefix ++ path)", () => {
    const id = staticIdentifier({ path: Path.read("/foo") })(Path.empty);
    expect(show(id.identify(req("GET", "/", "1.1")))).toBe("/foo");
  });

  it("config: path is read as a dtab path", () => {
    const cfg = staticIdentifierSchema.parse({ kind: "io.l5d.static", path: "/foo/bar" });
    expect(cfg.path.show).toBe("/foo/bar");
  });

  it.each([
    [{}, "required"],
    [{ path: 1 }, "expected a path such as /foo"],
    [{ path: "foo" }, "invalid path: '/' expected but 'f' found at '[f]oo'"],
    [{ path: "/a/" }, "invalid path: label char expected but end of input found at '/a/[]'"],
    [{ path: "/a", prefix: "/b" }, 'Unrecognized key: "prefix"'],
  ])("config: refuses %j (%s)", (extra, message) => {
    const r = staticIdentifierSchema.safeParse({ kind: "io.l5d.static", ...extra });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe(message);
  });

  it("make() builds the identifier from the parsed config", () => {
    const f = staticIdentifierFactory;
    expect(f.kind).toBe("io.l5d.static");
    const id = f.make(
      f.schema.parse({ kind: "io.l5d.static", path: "/foo" }),
      {} as never,
    )(Path.read("/http"));
    expect(show(id.identify(req("DELETE", "/anything", "1.1")))).toBe("/http/foo");
  });
});
