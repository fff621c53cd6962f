import { describe, expect, it } from "vitest";
import { H1Parser, isParseError, type ParsedHead, type ParseError, ParserKind } from "./llhttp.js";

/** A parser that records what it reports, in order; `noBody` is what `head` answers. */
function record(kind: ParserKind, maxHeadBytes = 8192, noBody = false) {
  const heads: ParsedHead[] = [];
  const bodies: string[] = [];
  const events: string[] = [];
  const p = new H1Parser(kind, maxHeadBytes, {
    begin: () => {
      events.push("begin");
    },
    head: (h) => {
      heads.push(h);
      events.push("head");
      return noBody;
    },
    body: (c) => {
      bodies.push(c.toString("latin1"));
      events.push("body");
    },
    end: () => {
      events.push("end");
    },
  });
  const count = (e: string) => events.filter((x) => x === e).length;
  return { p, heads, bodies, events, ends: () => count("end"), begins: () => count("begin") };
}

const b = (s: string) => Buffer.from(s, "latin1");
const code = (r: number | ParseError | undefined) =>
  r === undefined || typeof r === "number" ? r : r.code;

/** A request head with `n` fields after Host, named X-F0… in wire order. */
function manyFields(url: string, n: number): string {
  let head = `GET ${url} HTTP/1.1\r\nHost: web\r\n`;
  for (let i = 0; i < n; i++) head += `X-F${i}: v${i}\r\n`;
  return `${head}\r\n`;
}
const expectedFields = (n: number) => {
  const out = ["Host", "web"];
  for (let i = 0; i < n; i++) out.push(`X-F${i}`, `v${i}`);
  return out;
};

describe("H1Parser (node's llhttp, strict)", () => {
  it("a request head: method, target, version, raw fields in wire order and case, keep-alive", () => {
    const r = record(ParserKind.Request);
    const data = b("GET /a?b=1 HTTP/1.1\r\nHost: web\r\nX-Two: 2\r\nx-two: 3\r\n\r\n");
    expect(r.p.execute(data)).toBe(data.length);
    expect(r.heads.length).toBe(1);
    const h = r.heads[0] as ParsedHead;
    expect(h.method).toBe("GET");
    expect(h.url).toBe("/a?b=1");
    expect([h.versionMajor, h.versionMinor]).toEqual([1, 1]);
    expect(h.rawHeaders).toEqual(["Host", "web", "X-Two", "2", "x-two", "3"]);
    expect(h.keepAlive).toBe(true);
    expect(h.upgrade).toBe(false);
    expect(r.events).toEqual(["begin", "head", "end"]);
  });

  it("a response head: status, reason, version", () => {
    const r = record(ParserKind.Response);
    r.p.execute(b("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
    const h = r.heads[0] as ParsedHead;
    expect(h.status).toBe(404);
    expect(h.reason).toBe("Not Found");
    expect([h.versionMajor, h.versionMinor]).toEqual([1, 0]);
    expect(h.keepAlive).toBe(false);
    expect(h.method).toBe("");
    expect(r.ends()).toBe(1);
  });

  it("keep-alive follows the version and Connection", () => {
    const r = record(ParserKind.Request);
    r.p.execute(b("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    const s = record(ParserKind.Request);
    s.p.execute(b("GET / HTTP/1.0\r\n\r\n"));
    const t = record(ParserKind.Request);
    t.p.execute(b("GET / HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n"));
    expect([r, s, t].map((x) => (x.heads[0] as ParsedHead).keepAlive)).toEqual([
      true,
      false,
      false,
    ]);
  });

  it("a head split across reads: one begin, one head, the same fields", () => {
    const r = record(ParserKind.Request);
    for (const piece of ["GE", "T /x HTTP/1.1\r\nHo", "st: w\r\nX-A:", " 1\r\n", "\r\n"])
      r.p.execute(b(piece));
    expect(r.events).toEqual(["begin", "head", "end"]);
    expect((r.heads[0] as ParsedHead).url).toBe("/x");
    expect((r.heads[0] as ParsedHead).rawHeaders).toEqual(["Host", "w", "X-A", "1"]);
  });

  it("more than 32 fields (handed over in batches before the head completes) all arrive, in order", () => {
    const r = record(ParserKind.Request);
    r.p.execute(b(manyFields("/many?q=1", 80)));
    const h = r.heads[0] as ParsedHead;
    expect(h.rawHeaders).toEqual(expectedFields(80));
    // the target came with the first batch
    expect(h.url).toBe("/many?q=1");
    expect(h.method).toBe("GET");
    // the next message starts with no leftover fields nor target
    r.p.execute(b("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"));
    expect((r.heads[1] as ParsedHead).rawHeaders).toEqual(["Host", "x"]);
    expect((r.heads[1] as ParsedHead).url).toBe("/2");
  });

  it("more than 32 fields arriving a byte at a time: all of them, in order, whole", () => {
    const r = record(ParserKind.Request);
    const data = b(manyFields("/slow/target", 70));
    for (let i = 0; i < data.length; i++) {
      const n = r.p.execute(data.subarray(i, i + 1));
      expect(n).toBe(1);
    }
    expect(r.heads.length).toBe(1);
    const h = r.heads[0] as ParsedHead;
    expect(h.url).toBe("/slow/target");
    expect(h.rawHeaders).toEqual(expectedFields(70));
  });

  it("exactly 32 fields, and 33: the batch boundary loses nothing", () => {
    for (const n of [31, 32, 33, 64, 65]) {
      const r = record(ParserKind.Request);
      r.p.execute(b(manyFields(`/n${n}`, n)));
      expect((r.heads[0] as ParsedHead).rawHeaders).toEqual(expectedFields(n));
      expect((r.heads[0] as ParsedHead).url).toBe(`/n${n}`);
    }
  });

  it("more than 32 response fields arrive too, with status and reason", () => {
    const r = record(ParserKind.Response);
    let head = "HTTP/1.1 200 Fine\r\n";
    for (let i = 0; i < 40; i++) head += `X-R${i}: ${i}\r\n`;
    r.p.execute(b(`${head}Content-Length: 0\r\n\r\n`));
    const h = r.heads[0] as ParsedHead;
    expect(h.rawHeaders.length).toBe(82);
    expect(h.rawHeaders.slice(0, 2)).toEqual(["X-R0", "0"]);
    expect(h.rawHeaders.slice(-4)).toEqual(["X-R39", "39", "Content-Length", "0"]);
    expect([h.status, h.reason]).toEqual([200, "Fine"]);
  });

  it("a Content-Length body split across reads, then the end", () => {
    const r = record(ParserKind.Request);
    r.p.execute(b("POST / HTTP/1.1\r\nHost: w\r\nContent-Length: 6\r\n\r\nab"));
    expect(r.ends()).toBe(0);
    r.p.execute(b("cdef"));
    expect(r.bodies.join("")).toBe("abcdef");
    expect(r.ends()).toBe(1);
  });

  it("a chunked body arrives in pieces, then the end (after the trailers)", () => {
    const r = record(ParserKind.Request);
    r.p.execute(b("POST / HTTP/1.1\r\nHost: w\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"));
    expect(r.bodies).toEqual(["abc"]);
    expect(r.ends()).toBe(0);
    r.p.execute(b("2\r\nde\r\n0\r\n"));
    expect(r.ends()).toBe(0);
    r.p.execute(b("X-Trailer: t\r\n\r\n"));
    expect(r.bodies.join("")).toBe("abcde");
    expect(r.ends()).toBe(1);
    expect(r.events.at(-1)).toBe("end");
  });

  it("a response to HEAD has no body when head() says so, whatever its Content-Length", () => {
    const r = record(ParserKind.Response, 8192, true);
    const data = b(
      "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    );
    expect(r.p.execute(data)).toBe(data.length);
    expect(r.heads.map((h) => h.status)).toEqual([200, 204]);
    expect(r.bodies).toEqual([]);
    expect(r.ends()).toBe(2);
  });

  it("without head() saying so, the same Content-Length is read as a body", () => {
    const r = record(ParserKind.Response, 8192, false);
    r.p.execute(b("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/"));
    expect(r.bodies).toEqual(["HTTP/"]);
    expect(r.heads.length).toBe(1);
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

  it("finish() between messages is no error; mid-body or mid-head it is (HPE_INVALID_EOF_STATE)", () => {
    const idle = record(ParserKind.Request);
    idle.p.execute(b("GET / HTTP/1.1\r\nHost: w\r\n\r\n"));
    expect(idle.p.finish()).toBeUndefined();
    const body = record(ParserKind.Request);
    body.p.execute(b("POST / HTTP/1.1\r\nHost: w\r\nContent-Length: 4\r\n\r\nab"));
    expect(code(body.p.finish())).toBe("HPE_INVALID_EOF_STATE");
    expect(body.ends()).toBe(0);
    const head = record(ParserKind.Request);
    head.p.execute(b("GET / HTTP/1.1\r\nHo"));
    expect(code(head.p.finish())).toBe("HPE_INVALID_EOF_STATE");
  });

  it("Content-Length with Transfer-Encoding fails the parse (request smuggling)", () => {
    const r = record(ParserKind.Request);
    const e = r.p.execute(
      b("POST / HTTP/1.1\r\nHost: w\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"),
    );
    expect(isParseError(e)).toBe(true);
    expect(code(e)).toBe("HPE_INVALID_TRANSFER_ENCODING");
    expect(r.heads).toEqual([]);
  });

  it("two Content-Length fields fail the parse, even when equal", () => {
    for (const second of ["5", "4"]) {
      const r = record(ParserKind.Request);
      const e = r.p.execute(
        b(`POST / HTTP/1.1\r\nHost: w\r\nContent-Length: 4\r\nContent-Length: ${second}\r\n\r\n`),
      );
      expect(code(e)).toBe("HPE_UNEXPECTED_CONTENT_LENGTH");
      expect(r.heads).toEqual([]);
    }
  });

  it("a head over maxHeadBytes fails with HPE_HEADER_OVERFLOW; one under it passes", () => {
    const r = record(ParserKind.Request, 256);
    const e = r.p.execute(b(`GET / HTTP/1.1\r\nHost: w\r\nX-Big: ${"x".repeat(400)}\r\n\r\n`));
    expect(isParseError(e)).toBe(true);
    expect(code(e)).toBe("HPE_HEADER_OVERFLOW");
    expect(r.heads).toEqual([]);
    const s = record(ParserKind.Request, 256);
    const small = b(`GET / HTTP/1.1\r\nHost: w\r\nX-Big: ${"x".repeat(100)}\r\n\r\n`);
    expect(s.p.execute(small)).toBe(small.length);
    expect(s.heads.length).toBe(1);
  });

  it("a head over maxHeadBytes across several reads fails too", () => {
    const r = record(ParserKind.Request, 256);
    r.p.execute(b("GET / HTTP/1.1\r\nHost: w\r\n"));
    let last: number | ParseError = 0;
    for (let i = 0; i < 40 && !isParseError(last); i++)
      last = r.p.execute(b(`X-F${i}: vvvvvv\r\n`));
    expect(code(last)).toBe("HPE_HEADER_OVERFLOW");
    expect(r.heads).toEqual([]);
  });

  it("an upgrade request: execute returns fewer bytes than given, the rest is the new protocol's", () => {
    const r = record(ParserKind.Request);
    const data = b(
      "GET /ws HTTP/1.1\r\nHost: w\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nRAW-BYTES",
    );
    const n = r.p.execute(data);
    expect(typeof n).toBe("number");
    expect(n as number).toBe(data.length - "RAW-BYTES".length);
    expect(data.subarray(n as number).toString()).toBe("RAW-BYTES");
    expect((r.heads[0] as ParsedHead).upgrade).toBe(true);
    expect(r.bodies).toEqual([]);
  });

  it("bytes after a message that closes the connection fail the parse (HPE_CLOSED_CONNECTION)", () => {
    const r = record(ParserKind.Request);
    const e = r.p.execute(
      b(
        "GET /1 HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: w\r\n\r\n",
      ),
    );
    expect(code(e)).toBe("HPE_CLOSED_CONNECTION");
    // the first was complete and reported before the error
    expect(r.heads.map((h) => h.url)).toEqual(["/1"]);
    expect(r.ends()).toBe(1);
  });

  it.each([
    ["obs-fold", "GET / HTTP/1.1\r\nHost: w\r\nX-A: 1\r\n 2\r\n\r\n"],
    ["a bare LF", "GET / HTTP/1.1\r\nHost: w\nX-A: 1\r\n\r\n"],
    ["a space in a field name", "GET / HTTP/1.1\r\nHo st: w\r\n\r\n"],
  ])("%s fails the parse and no head is reported", (_name, text) => {
    const r = record(ParserKind.Request);
    const e = r.p.execute(b(text));
    expect(isParseError(e)).toBe(true);
    expect(code(e)).toMatch(/^HPE_/);
    expect(r.heads).toEqual([]);
  });

  it("a request Transfer-Encoding not ending in chunked fails the parse, once its head was reported", () => {
    // llhttp checks the framing after the head callback: the head is out before the error
    const r = record(ParserKind.Request);
    const e = r.p.execute(b("POST / HTTP/1.1\r\nHost: w\r\nTransfer-Encoding: gzip\r\n\r\nxx"));
    expect(code(e)).toBe("HPE_INVALID_TRANSFER_ENCODING");
    expect(r.heads.length).toBe(1);
    expect(r.bodies).toEqual([]);
    expect(r.ends()).toBe(0);
  });
});
