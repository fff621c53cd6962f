import { describe, expect, it } from "vitest";
import { headerList } from "./header-list.js";
import { maxCallDepthMessage, viaForwarded, viaHops } from "./via.js";

describe("Via and maxCallDepth", () => {
  it("counts hops across comma-separated entries and repeated fields", () => {
    expect(viaHops(headerList({ ":path": "/" }))).toBe(0);
    expect(viaHops(headerList({ via: "h2 linkerd" }))).toBe(1);
    expect(viaHops(headerList({ via: ["1.1 linkerd, 1.1 linkerd", "1.0 squid"] }))).toBe(3);
  });

  it("appends this router's hop after the request's", () => {
    expect(viaForwarded(headerList({ ":path": "/" }), "h2 linkerd")).toBe("h2 linkerd");
    expect(viaForwarded(headerList({ via: ["1.0 a", "1.1 b"] }), "1.1 linkerd")).toBe(
      "1.0 a, 1.1 b, 1.1 linkerd",
    );
  });

  it("says what Linkerd says past the bound", () => {
    expect(maxCallDepthMessage(10)).toBe(
      "Maximum number of calls (10) has been exceeded. Please check for proxy loops.",
    );
  });
});
