import { describe, expect, it } from "vitest";
import {
  checkRequestHeaders,
  checkResponseHeaders,
  checkTrailers,
  type MessageInfo,
  parseContentLength,
} from "./header-validation.js";
import type { HeaderField } from "./hpack.js";

const GET: HeaderField[] = [
  [":method", "GET"],
  [":scheme", "http"],
  [":path", "/"],
  [":authority", "example.com"],
];

function req(...extra: HeaderField[]): HeaderField[] {
  return [...GET, ...extra];
}

describe("checkRequestHeaders (RFC 9113 §8.2, §8.3.1)", () => {
  it("accepts a well-formed request, a gRPC request, OPTIONS * and CONNECT", () => {
    expect(checkRequestHeaders(GET)).toBeUndefined();
    expect(
      checkRequestHeaders([
        [":method", "POST"],
        [":scheme", "http"],
        [":path", "/helloworld.Greeter/SayHello"],
        [":authority", "127.0.0.1:4140"],
        ["content-type", "application/grpc"],
        ["te", "trailers"],
        ["grpc-timeout", "1S"],
        ["user-agent", "grpc-node-js/1.9.0"],
        ["x-empty", ""],
      ]),
    ).toBeUndefined();
    expect(
      checkRequestHeaders([
        [":method", "OPTIONS"],
        [":scheme", "http"],
        [":path", "*"],
      ]),
    ).toBeUndefined();
    expect(
      checkRequestHeaders([
        [":method", "CONNECT"],
        [":authority", "example.com:443"],
      ]),
    ).toBeUndefined();
  });

  it("records content-length in the caller's MessageInfo (-1 when absent)", () => {
    const info: MessageInfo = { contentLength: 7 };
    expect(checkRequestHeaders(GET, info)).toBeUndefined();
    expect(info.contentLength).toBe(-1);
    expect(checkRequestHeaders(req(["content-length", "42"]), info)).toBeUndefined();
    expect(info.contentLength).toBe(42);
    expect(
      checkRequestHeaders(req(["content-length", "3"], ["content-length", "3"]), info),
    ).toBeUndefined();
    expect(info.contentLength).toBe(3);
    expect(checkRequestHeaders(req(["content-length", "3"], ["content-length", "4"]), info)).toBe(
      "conflicting content-length fields",
    );
    expect(checkRequestHeaders(req(["content-length", "-1"]), info)).toMatch(
      /invalid content-length/,
    );
  });

  it("§8.2 / §8.2.1: rejects upper-case names and invalid name characters", () => {
    expect(checkRequestHeaders(req(["X-Upper", "v"]))).toMatch(/upper-case/);
    expect(checkRequestHeaders(req(["x y", "v"]))).toMatch(/invalid character/);
    expect(checkRequestHeaders(req(["x:y", "v"]))).toMatch(/invalid character/);
    expect(checkRequestHeaders(req(["x\u00e9", "v"]))).toMatch(/invalid character/);
    expect(checkRequestHeaders(req(["x\x7f", "v"]))).toMatch(/invalid character/);
    expect(checkRequestHeaders(req(["", "v"]))).toBe("empty header field name");
  });

  it("§8.2.1: rejects NUL, CR, LF in values and white space around them", () => {
    expect(checkRequestHeaders(req(["x", "a\0b"]))).toMatch(/NUL, CR or LF/);
    expect(checkRequestHeaders(req(["x", "a\r\nb"]))).toMatch(/NUL, CR or LF/);
    expect(checkRequestHeaders(req(["x", "a\nb"]))).toMatch(/NUL, CR or LF/);
    expect(checkRequestHeaders(req(["x", " a"]))).toMatch(/white space/);
    expect(checkRequestHeaders(req(["x", "a\t"]))).toMatch(/white space/);
    expect(checkRequestHeaders(req(["x", "a b\tc"]))).toBeUndefined();
    expect(
      checkRequestHeaders([
        [":method", "GET"],
        [":scheme", "http"],
        [":path", "/a\r\nb"],
      ]),
    ).toMatch(/NUL, CR or LF/);
  });

  it("§8.2.2: rejects connection-specific fields and te other than trailers", () => {
    for (const name of [
      "connection",
      "keep-alive",
      "proxy-connection",
      "transfer-encoding",
      "upgrade",
    ]) {
      expect(checkRequestHeaders(req([name, "x"]))).toBe(
        `connection-specific header field ${name}`,
      );
    }
    expect(checkRequestHeaders(req(["te", "trailers"]))).toBeUndefined();
    expect(checkRequestHeaders(req(["te", "trailers, deflate"]))).toBe('te other than "trailers"');
    expect(checkRequestHeaders(req(["te", "gzip"]))).toBe('te other than "trailers"');
  });

  it("§8.3: rejects unknown pseudo-headers, response ones, and pseudo-headers after fields", () => {
    expect(checkRequestHeaders(req(["x", "y"], [":foo", "bar"]))).toMatch(
      /pseudo-header :foo after/,
    );
    expect(checkRequestHeaders([[":foo", "bar"], ...GET])).toBe("unknown pseudo-header :foo");
    expect(checkRequestHeaders([[":status", "200"], ...GET])).toBe(
      "response pseudo-header :status in a request",
    );
    expect(
      checkRequestHeaders([
        [":method", "GET"],
        [":scheme", "http"],
        ["x", "y"],
        [":path", "/"],
      ]),
    ).toBe("pseudo-header :path after a regular field");
    expect(checkRequestHeaders([[":protocol", "websocket"], ...GET])).toBe(
      "unknown pseudo-header :protocol",
    );
  });

  it("§8.3.1: :method, :scheme, :path exactly once each, :path non-empty", () => {
    expect(checkRequestHeaders(GET.filter((f) => f[0] !== ":method"))).toBe("missing :method");
    expect(checkRequestHeaders(GET.filter((f) => f[0] !== ":scheme"))).toBe("missing :scheme");
    expect(checkRequestHeaders(GET.filter((f) => f[0] !== ":path"))).toBe("missing :path");
    expect(checkRequestHeaders([[":method", "GET"], ...GET])).toBe("duplicated :method");
    expect(checkRequestHeaders([[":scheme", "http"], ...GET])).toBe("duplicated :scheme");
    expect(checkRequestHeaders([[":path", "/"], ...GET])).toBe("duplicated :path");
    expect(checkRequestHeaders([[":authority", "a"], ...GET])).toBe("duplicated :authority");
    expect(
      checkRequestHeaders([
        [":method", "GET"],
        [":scheme", "http"],
        [":path", ""],
      ]),
    ).toBe("empty :path");
    expect(
      checkRequestHeaders([
        [":method", ""],
        [":scheme", "http"],
        [":path", "/"],
      ]),
    ).toBe("empty :method");
    expect(
      checkRequestHeaders([
        [":method", "GET"],
        [":scheme", "http"],
        [":path", "*"],
      ]),
    ).toMatch(/invalid :path/);
  });

  it("§8.5: CONNECT needs :authority and has no :scheme / :path", () => {
    expect(checkRequestHeaders([[":method", "CONNECT"]])).toBe("CONNECT without :authority");
    expect(
      checkRequestHeaders([
        [":method", "CONNECT"],
        [":authority", "a:1"],
        [":path", "/"],
      ]),
    ).toBe("CONNECT with :scheme or :path");
  });
});

describe("checkResponseHeaders (RFC 9113 §8.3.2)", () => {
  it("accepts a response and records its content-length", () => {
    const info: MessageInfo = { contentLength: -1 };
    expect(
      checkResponseHeaders(
        [
          [":status", "200"],
          ["content-length", "5"],
          ["content-type", "text/plain"],
        ],
        info,
      ),
    ).toBeUndefined();
    expect(info.contentLength).toBe(5);
  });

  it("rejects a missing, duplicated or non-3-digit :status and request pseudo-headers", () => {
    expect(checkResponseHeaders([["content-type", "x"]])).toBe("missing :status");
    expect(
      checkResponseHeaders([
        [":status", "200"],
        [":status", "200"],
      ]),
    ).toBe("duplicated :status");
    expect(checkResponseHeaders([[":status", "20"]])).toMatch(/invalid :status/);
    expect(checkResponseHeaders([[":status", "2x0"]])).toMatch(/invalid :status/);
    expect(
      checkResponseHeaders([
        [":status", "200"],
        [":path", "/"],
      ]),
    ).toBe("request pseudo-header :path in a response");
    expect(
      checkResponseHeaders([
        [":status", "200"],
        ["x", "y"],
        [":status", "200"],
      ]),
    ).toBe("pseudo-header :status after a regular field");
    expect(
      checkResponseHeaders([
        [":status", "200"],
        ["connection", "close"],
      ]),
    ).toBe("connection-specific header field connection");
    expect(
      checkResponseHeaders([
        [":status", "200"],
        ["Content-Type", "x"],
      ]),
    ).toMatch(/upper-case/);
  });
});

describe("checkTrailers (RFC 9113 §8.1)", () => {
  it("accepts regular fields and rejects any pseudo-header or invalid field", () => {
    expect(
      checkTrailers([
        ["grpc-status", "0"],
        ["grpc-message", ""],
      ]),
    ).toBeUndefined();
    expect(checkTrailers([])).toBeUndefined();
    expect(checkTrailers([[":status", "200"]])).toBe("pseudo-header :status in trailers");
    expect(checkTrailers([[":path", "/"]])).toBe("pseudo-header :path in trailers");
    expect(checkTrailers([["Grpc-Status", "0"]])).toMatch(/upper-case/);
    expect(checkTrailers([["transfer-encoding", "chunked"]])).toMatch(/connection-specific/);
  });
});

describe("charsChecked: a list the HPACK decoder already checked (§8.2.1)", () => {
  it("skips the character scan but keeps every structural check", () => {
    const upper: HeaderField[] = [...GET, ["X-Up", "v"]];
    expect(checkRequestHeaders(upper)).toBe('upper-case header field name "X-Up"');
    expect(checkRequestHeaders(upper, undefined, true)).toBeUndefined();
    expect(checkRequestHeaders([...GET, ["connection", "close"]], undefined, true)).toBe(
      "connection-specific header field connection",
    );
    expect(checkRequestHeaders([[":method", "GET"]], undefined, true)).toBe("missing :scheme");
    const info: MessageInfo = { contentLength: -1 };
    expect(checkRequestHeaders([...GET, ["content-length", "7"]], info, true)).toBeUndefined();
    expect(info.contentLength).toBe(7);
    expect(
      checkResponseHeaders(
        [
          [":status", "200"],
          ["x", " v"],
        ],
        undefined,
        true,
      ),
    ).toBeUndefined();
    expect(checkResponseHeaders([[":status", "20"]], undefined, true)).toBe('invalid :status "20"');
    expect(checkTrailers([["x", "a\nb"]], true)).toBeUndefined();
    expect(checkTrailers([["te", "gzip"]], true)).toBe('te other than "trailers"');
  });
});

describe("parseContentLength (RFC 9110 §8.6)", () => {
  it("parses digits and equal lists, rejects anything else", () => {
    expect(parseContentLength("0")).toBe(0);
    expect(parseContentLength("1234567")).toBe(1234567);
    expect(parseContentLength("42, 42")).toBe(42);
    expect(parseContentLength("42,42")).toBe(42);
    expect(parseContentLength("42, 43")).toBe(-1);
    expect(parseContentLength("")).toBe(-1);
    expect(parseContentLength("+1")).toBe(-1);
    expect(parseContentLength("1e3")).toBe(-1);
    expect(parseContentLength(" 1")).toBe(-1);
    expect(parseContentLength("99999999999999999999")).toBe(-1);
  });
});
