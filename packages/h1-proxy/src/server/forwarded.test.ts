import { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { forwardedElement, randomLabel } from "./forwarded.js";

function sock(local: [string, number], remote: [string, number]): Socket {
  const s = new Socket();
  Object.defineProperty(s, "localAddress", { value: local[0] });
  Object.defineProperty(s, "localPort", { value: local[1] });
  Object.defineProperty(s, "remoteAddress", { value: remote[0] });
  Object.defineProperty(s, "remotePort", { value: remote[1] });
  return s;
}

describe("Forwarded (RFC 7239) labelers", () => {
  it("ip and ip:port, IPv6 quoted in brackets, IPv4-mapped addresses unwrapped", () => {
    const s = sock(["::ffff:10.0.0.1", 4140], ["2001:db8::17", 5555]);
    expect(
      forwardedElement({ by: { kind: "ip:port" }, for: { kind: "ip" } }, s, "web", false, "rt"),
    ).toBe('by=10.0.0.1:4140;for="[2001:db8::17]";host=web;proto=http');
    expect(
      forwardedElement({ by: { kind: "ip" }, for: { kind: "ip:port" } }, s, undefined, true, "rt"),
    ).toBe('by=10.0.0.1;for="[2001:db8::17]:5555";proto=https');
  });

  it("obfuscated labels: static, router, random per request, random per connection", () => {
    const s = sock(["10.0.0.1", 4140], ["10.0.0.2", 5555]);
    expect(
      forwardedElement(
        { by: { kind: "static", label: "l5d" }, for: { kind: "router" } },
        s,
        "a",
        false,
        "edge",
      ),
    ).toBe("by=_l5d;for=_edge;host=a;proto=http");
    const conn = { by: { kind: "connectionRandom" }, for: { kind: "requestRandom" } } as const;
    const one = forwardedElement(conn, s, "a", false, "r").split(";");
    const two = forwardedElement(conn, s, "a", false, "r").split(";");
    expect(one[0]).toBe(two[0]);
    expect(one[1]).not.toBe(two[1]);
    expect(randomLabel()).toMatch(/^_[A-Za-z0-9._]{6}$/);
  });
});
