import { describe, expect, it } from "vitest";
import { joinHostPort, ListenAddressError, parseListenAddress } from "./listen-address.js";

describe("parseListenAddress", () => {
  it("parses Go listen addresses", () => {
    expect(parseListenAddress(":7777")).toEqual({ host: undefined, port: 7777 });
    expect(parseListenAddress("127.0.0.1:0")).toEqual({ host: "127.0.0.1", port: 0 });
    expect(parseListenAddress("[::1]:7778")).toEqual({ host: "::1", port: 7778 });
    expect(parseListenAddress("localhost:80")).toEqual({ host: "localhost", port: 80 });
  });

  it.each(["7777", "host", ":http", ":70000", "::1:80", "host:"])("rejects %j", (addr) => {
    expect(() => parseListenAddress(addr)).toThrow(ListenAddressError);
  });

  it("joins host and port with IPv6 brackets", () => {
    expect(joinHostPort("127.0.0.1", 1)).toBe("127.0.0.1:1");
    expect(joinHostPort("::1", 2)).toBe("[::1]:2");
  });
});
