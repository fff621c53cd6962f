import { describe, expect, it } from "vitest";
import { Dtab } from "./dtab.js";
import { delegationWithin } from "./fanout.js";
import { Path } from "./path.js";

const within = (dtab: string, path: string, max = 250, depth = 100): boolean =>
  delegationWithin(Dtab.read(dtab), Path.read(path), max, depth);

describe("delegationWithin (the override pre-check)", () => {
  it("ordinary dtabs take a handful of lookups", () => {
    expect(within("/svc => /#/io.l5d.k8s/default/grpc", "/svc/hello")).toBe(true);
    expect(within("/svc => /a & /b; /a => /$/inet/127.1/1; /b => /$/inet/127.1/2", "/svc", 5)).toBe(
      true,
    );
    expect(within("/svc => /a | /b; /a => /c; /b => /c", "/svc", 5)).toBe(true);
    // the tutorial's DaemonSet dtab, and an override on top of it
    expect(
      within(
        "/srv => /#/io.l5d.k8s/default/grpc; /grpc => /srv; /svc => /$/io.buoyant.http.domainToPathPfx/grpc; /svc/world => /srv/world-v2",
        "/svc/world",
      ),
    ).toBe(true);
  });

  it("counts every lookup: a union or alternative of self-referencing entries crosses any bound", () => {
    for (const bomb of [
      "/s => /s & /s",
      "/s => /s | /s",
      "/s => /s/a & /s/b; /s/a => /s; /s/b => /s",
    ])
      expect(within(bomb, "/s")).toBe(false);
    expect(within("/s => /a & /b", "/s", 2)).toBe(false);
    expect(within("/s => /a & /b", "/s", 3)).toBe(true);
  });

  it("a chain with no fan-out ends at the depth limit (the binding fails it by depth)", () => {
    expect(within("/s => /s/x", "/s")).toBe(true);
    expect(within("/s => /s/x", "/s", 50)).toBe(false);
  });
});
