import { describe, expect, it } from "vitest";
import * as identifiers from "./index.js";
import { httpIdentifierFactories } from "./index.js";

describe("httpIdentifierFactories", () => {
  it("holds Linkerd's five HTTP/1.1 identifier kinds, once each", () => {
    expect(httpIdentifierFactories.map((f) => f.kind)).toEqual([
      "io.l5d.header.token",
      "io.l5d.methodAndHost",
      "io.l5d.path",
      "io.l5d.header",
      "io.l5d.static",
    ]);
  });

  it("each schema takes its own kind only", () => {
    for (const f of httpIdentifierFactories) {
      const own = f.kind === "io.l5d.static" ? { kind: f.kind, path: "/a" } : { kind: f.kind };
      expect(f.schema.safeParse(own).success).toBe(true);
      expect(f.schema.safeParse({ ...own, kind: "io.l5d.nope" }).success).toBe(false);
    }
  });

  it("exports each factory and function", () => {
    expect(identifiers.headerIdentifierFactory.kind).toBe("io.l5d.header");
    expect(identifiers.httpHeaderTokenIdentifierFactory.kind).toBe("io.l5d.header.token");
    expect(identifiers.methodAndHostIdentifierFactory.kind).toBe("io.l5d.methodAndHost");
    expect(identifiers.pathIdentifierFactory.kind).toBe("io.l5d.path");
    expect(identifiers.staticIdentifierFactory.kind).toBe("io.l5d.static");
    for (const fn of [
      identifiers.headerIdentifier,
      identifiers.httpHeaderTokenIdentifier,
      identifiers.methodAndHostIdentifier,
      identifiers.pathIdentifier,
      identifiers.staticIdentifier,
      identifiers.targetPath,
      identifiers.targetQuery,
    ])
      expect(typeof fn).toBe("function");
  });
});
