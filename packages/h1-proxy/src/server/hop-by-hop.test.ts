import { describe, expect, it } from "vitest";
import { connectionListed, HOP_BY_HOP } from "./hop-by-hop.js";

describe("hop-by-hop fields", () => {
  it("names RFC 9110's fixed set", () => {
    for (const n of [
      "connection",
      "keep-alive",
      "te",
      "transfer-encoding",
      "upgrade",
      "proxy-connection",
    ])
      expect(HOP_BY_HOP.has(n)).toBe(true);
    expect(HOP_BY_HOP.has("content-length")).toBe(false);
  });

  it("reads the fields a Connection header names, across repeated fields, ignoring close and keep-alive", () => {
    expect(connectionListed(undefined)).toBeUndefined();
    expect(connectionListed("close")).toBeUndefined();
    expect(connectionListed("keep-alive, Upgrade")).toBeUndefined();
    expect([...(connectionListed(["X-A, x-b", " X-C "]) ?? [])]).toEqual(["x-a", "x-b", "x-c"]);
  });

  it("never lists Content-Length or Host (a Connection field can't strip a message's framing or its Host)", () => {
    expect(connectionListed("content-length, Host")).toBeUndefined();
    expect([...(connectionListed("Content-Length, X-A") ?? [])]).toEqual(["x-a"]);
  });
});
