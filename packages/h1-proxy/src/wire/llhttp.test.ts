import { describe, expect, it } from "vitest";
import { H1Parser, isParseError, type ParsedHead, ParserKind } from "./llhttp.js";

/** A parser that records what it reports; `noBody` is what `head` answers. */
function record(kind: ParserKind, maxHeadBytes = 8192, noBody = false) {
  const heads: ParsedHead[] = [];
  const bodies: string[] = [];
  let ends = 0;
  let begins = 0;
  const p = new H1Parser(kind, maxHeadBytes, {
    begin: () => {
      begins++;
    },
    head: (h) => {
      heads.push(h);
      return noBody;
    },
    body: (c) => {
      bodies.push(c.toString());
    },
    end: () => {
      ends++;
    },
  });
  return { p, heads, bodies, ends: () => ends, begins: () => begins };
}

const b = (s: string) => Buffer.from(s, "latin1");

describe("H1Parser (node's llhttp, strict)", () => {
  it("a request head: method, target, version, raw fields in wire order and case, keep-alive", () => {
    const r = record(ParserKind.Request);
    const n = r.p.execute(b("GET /a?b=1 HTTP/1.1\r\nHost: web\r\nX-Two: 2\r\n\r\n"));
    expect(isParseError(n)).toBe(false);
    const h = r.heads[0] as ParsedHead;
    expect(h.method).toBe("GET");
    expect(h.url).toBe("/a?b=1");
    expect([h.versionMajor, h.versionMinor]).toEqual([1, 1]);
    expect(h.rawHeaders).toEqual(["Host", "web", "X-Two", "2"]);
    expect(h.keepAlive).toBe(true);
    expect(h.upgrade).toBe(false);
    expect(r.ends()).toBe(1);
    expect(r.begins()).toBe(1);
  });

  it("more than 32 fields (handed over in batches before the head completes) all arrive, in order", () => {
    const r = record(ParserKind.Request);
    let head = "GET / HTTP/1.1\r\nHost: web\r\n";
    for (let i = 0; i < 80; i++) head += `X-F${i}: v${i}\r\n`;
    r.p.execute(b(`${head}\r\n`));
    const raw = (r.heads[0] as ParsedHead).rawHeaders;
    expect(raw.length).toBe(2 * 81);
    expect(raw.slice(0, 4)).toEqual(["Host", "web", "X-F0", "v0"]);
    expect(raw.slice(-2)).toEqual(["X-F79", "v79"]);
    // the next message starts with no leftover fields
    r.p.execute(b("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"));
    expect((r.heads[1] as ParsedHead).rawHeaders).toEqual(["Host", "x"]);
    expect((r.heads[1] as ParsedHead).url).toBe("/2");
  });

  it("a chunked body arrives in pieces, then the end", () => {
    const r = record(ParserKind.Request);
    r.p.execute(b("POST / HTTP/1.1\r\nHost: w\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"));
    expect(r.ends()).toBe(0);
    r.p.execute(b("2\r\nde\r\n0\r\n\r\n"));
    expect(r.bodies.join("")).toBe("abcde");
    expect(r.ends()).toBe(1);
  });

  it("a response to HEAD has no body when head() says so, whatever its Content-Length", () => {
    const r = record(ParserKind.Response, 8192, true);
    r.p.execute(
      b("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"),
    );
    expect(r.heads.map((h) => h.status)).toEqual([200, 204]);
    expect(r.bodies).toEqual([]);
    expect(r.ends()).toBe(2);
  });

  it("a response delimited by the close ends on finish()", () => {
    const r = record(ParserKind.Response);
    r.p.execute(b("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of "));
    r.p.execute(b("it"));
    expect(r.ends()).toBe(0);
    expect(r.p.finish()).toBeUndefined();
    expect(r.bodies.join("")).toBe("all of it");
    expect(r.ends()).toBe(1);
    expect((r.heads[0] as ParsedHead).keepAlive).toBe(false);
  });

  it("Content-Length with Transfer-Encoding fails the parse (request smuggling)", () => {
    const r = record(ParserKind.Request);
    const e = r.p.execute(
      b("POST / HTTP/1.1\r\nHost: w\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"),
    );
    expect(isParseError(e)).toBe(true);
    expect((e as { code: string }).code).toBe("HPE_INVALID_TRANSFER_ENCODING");
  });

  it("a head over maxHeadBytes fails with HPE_HEADER_OVERFLOW", () => {
    const r = record(ParserKind.Request, 256);
    const e = r.p.execute(b(`GET / HTTP/1.1\r\nHost: w\r\nX-Big: ${"x".repeat(400)}\r\n\r\n`));
    expect(isParseError(e)).toBe(true);
    expect((e as { code: string }).code).toBe("HPE_HEADER_OVERFLOW");
    expect(r.heads).toEqual([]);
  });

  it("an upgrade request: the parse stops after its head, the rest is the new protocol's", () => {
    const r = record(ParserKind.Request);
    const data = b(
      "GET /ws HTTP/1.1\r\nHost: w\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nRAW-BYTES",
    );
    const n = r.p.execute(data);
    expect(typeof n).toBe("number");
    expect(data.subarray(n as number).toString()).toBe("RAW-BYTES");
    expect((r.heads[0] as ParsedHead).upgrade).toBe(true);
  });

  it("an obs-folded header line fails the parse", () => {
    const r = record(ParserKind.Request);
    const e = r.p.execute(b("GET / HTTP/1.1\r\nHost: w\r\nX-A: 1\r\n 2\r\n\r\n"));
    expect(isParseError(e)).toBe(true);
  });
});
