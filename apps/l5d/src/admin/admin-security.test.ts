import { describe, expect, it } from "vitest";
import { AdminSecurity, categoryOf, crossOriginProblem } from "./admin-security.js";

const ALL_ON = {
  uiEnabled: true,
  controlEnabled: true,
  diagnosticsEnabled: true,
  pathWhitelist: [],
  pathBlacklist: [],
};

describe("admin security (Linkerd's SecurityFilter)", () => {
  it("puts paths in Linkerd's categories", () => {
    expect(categoryOf("/")).toBe("ui");
    expect(categoryOf("/files/app.js")).toBe("ui");
    expect(categoryOf("/config.json")).toBe("ui");
    expect(categoryOf("/configXjson")).toBe("diagnostics");
    expect(categoryOf("/admin/metrics.json")).toBe("ui");
    expect(categoryOf("/delegator.json")).toBe("ui");
    expect(categoryOf("/admin/shutdown")).toBe("control");
    expect(categoryOf("/logging.json")).toBe("control");
    expect(categoryOf("/admin/ping")).toBe("diagnostics");
    expect(categoryOf("/routers.json")).toBe("diagnostics");
  });

  it("a category off refuses its paths unless whitelisted; the blacklist refuses within an enabled one", () => {
    const s = new AdminSecurity({
      ...ALL_ON,
      controlEnabled: false,
      pathWhitelist: ["/admin/shut.*"],
      pathBlacklist: ["/admin/ping", "/files/.*"],
    });
    expect(s.allows("/admin/shutdown")).toBe(true);
    expect(s.allows("/logging.json")).toBe(false);
    expect(s.allows("/admin/ping")).toBe(false);
    expect(s.allows("/files/x.js")).toBe(false);
    expect(s.allows("/")).toBe(true);
    // whole-path matches: a regex is not a substring search
    expect(new AdminSecurity({ ...ALL_ON, pathBlacklist: ["/admin"] }).allows("/admin/ping")).toBe(
      true,
    );
    // the blacklist does not apply to a disabled category's whitelisted path
    const both = new AdminSecurity({
      ...ALL_ON,
      uiEnabled: false,
      pathWhitelist: ["/"],
      pathBlacklist: ["/"],
    });
    expect(both.allows("/")).toBe(true);
  });

  it("tells a browser's cross-origin request from curl's", () => {
    expect(crossOriginProblem({ host: "127.0.0.1:9990" })).toBeUndefined();
    expect(
      crossOriginProblem({ host: "127.0.0.1:9990", origin: "http://127.0.0.1:9990" }),
    ).toBeUndefined();
    expect(crossOriginProblem({ host: "127.0.0.1:9990", "sec-fetch-site": "same-origin" })).toBe(
      undefined,
    );
    expect(crossOriginProblem({ host: "127.0.0.1:9990", origin: "https://evil.example" })).toMatch(
      /another origin/,
    );
    expect(crossOriginProblem({ host: "127.0.0.1:9990", origin: "null" })).toMatch(/unreadable/);
    expect(crossOriginProblem({ host: "h", "sec-fetch-site": "same-site" })).toMatch(/same-site/);
  });
});
