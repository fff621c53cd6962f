/**
 * The HTTP/1.1 router as a security boundary: request smuggling vectors and oversize or slow
 * requests are answered by l5d (400/413/414/431/408) on raw sockets, and the backend never sees
 * them; each refusal is counted (`rt/http/server/<ip>/<port>/http/rejected/<name>`).
 */
import { createServer, type IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, rawExchange, startTestDaemon, type TestDaemon } from "./support.js";

let d: TestDaemon;
let addr: string;
const seen: IncomingMessage[] = [];
const server = createServer((req, res) => {
  seen.push(req);
  req.resume();
  req.on("end", () => res.end("ok"));
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const admin = await freePort();
  const p = await freePort();
  d = await startTestDaemon(`admin:
  port: ${admin}
routers:
- protocol: http
  dtab: /svc/web => /$/inet/127.0.0.1/${port}
  maxInitialLineKB: 1
  maxHeadersKB: 2
  maxRequestKB: 4
  servers:
  - port: ${p}
    headersTimeoutMs: 300
`);
  addr = d.addr("http");
});

afterAll(async () => {
  await d[Symbol.asyncDispose]();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Sends raw bytes on a new connection; everything read until the server closes (or `ms`). */
const raw = (bytes: string, ms = 3_000, keepOpen = false) =>
  rawExchange(addr, bytes, ms, !keepOpen);

const H = "Host: web\r\n";

const cases: [string, string][] = [
  [
    "Content-Length with Transfer-Encoding",
    `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  ],
  [
    "two different Content-Length",
    `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`,
  ],
  [
    "a Content-Length that is not a number",
    `POST / HTTP/1.1\r\n${H}Content-Length: 4x\r\n\r\nabcd`,
  ],
  ["a negative Content-Length", `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`],
  [
    "Transfer-Encoding not ending in chunked",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`,
  ],
  [
    "an obfuscated Transfer-Encoding",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
  ],
  ["obs-fold (a folded header line)", `GET / HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n`],
  ["a bare LF ending a header line", `GET / HTTP/1.1\r\n${H}X-A: 1\nX-B: 2\r\n\r\n`],
  ["a bare CR in a header value", `GET / HTTP/1.1\r\n${H}X-A: 1\r2\r\n\r\n`],
  ["a NUL in a header value", `GET / HTTP/1.1\r\n${H}X-A: 1\u00002\r\n\r\n`],
  ["whitespace between a header name and its colon", `GET / HTTP/1.1\r\n${H}X-A : 1\r\n\r\n`],
  ["an invalid character in a header name", `GET / HTTP/1.1\r\n${H}X(A): 1\r\n\r\n`],
  ["two Host headers", `GET / HTTP/1.1\r\n${H}Host: other\r\n\r\n`],
  ["no Host on HTTP/1.1", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n"],
  [
    "an invalid chunk size",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
  ],
  ["a control character in the request-target", "GET /a\u0001b HTTP/1.1\r\nHost: web\r\n\r\n"],
  ["a space inside the request-target", "GET /a b HTTP/1.1\r\nHost: web\r\n\r\n"],
  ["an unknown HTTP version", `GET / HTTP/3.7\r\n${H}\r\n`],
];

describe("HTTP/1.1 request smuggling and malformed requests: 400, never forwarded", () => {
  it.each(cases)("%s", async (_name, bytes) => {
    const before = seen.length;
    // the connection stays open: l5d answers and closes it
    const out = await raw(bytes, 2_000, true);
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    // nothing reached the backend
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.length).toBe(before);
  });

  it("a well-formed request on the same server passes (the backend sees it)", async () => {
    const before = seen.length;
    const out = await raw(
      `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nConnection: close\r\n\r\nabcd`,
      2_000,
      true,
    );
    expect(out).toMatch(/^HTTP\/1\.1 200 /);
    expect(seen.length).toBe(before + 1);
  });
});

describe("HTTP/1.1 size and time limits", () => {
  it("a request line over maxInitialLineKB: 414 (or 431 when it overflows the parser)", async () => {
    const out = await raw(`GET /${"a".repeat(1500)} HTTP/1.1\r\n${H}\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 414 /);
    const huge = await raw(`GET /${"a".repeat(5000)} HTTP/1.1\r\n${H}\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
  });

  it("headers over maxHeadersKB: 431", async () => {
    const out = await raw(`GET / HTTP/1.1\r\n${H}X-Big: ${"b".repeat(4000)}\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 431 /);
  });

  it("a body with a Content-Length over maxRequestKB: 413, never forwarded", async () => {
    const before = seen.length;
    const out = await raw(`POST / HTTP/1.1\r\n${H}Content-Length: 5000\r\n\r\n${"x".repeat(5000)}`);
    expect(out).toMatch(/^HTTP\/1\.1 413 /);
    expect(out).toMatch(/maxRequestKB/);
    expect(seen.length).toBe(before);
  });

  it("slowloris: a head not complete within headersTimeoutMs is answered 408 and closed", async () => {
    const t0 = performance.now();
    const out = await raw(`GET / HTTP/1.1\r\n${H}X-Slow: 1\r\n`, 5_000, true);
    const ms = performance.now() - t0;
    expect(out).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeLessThan(3_000);
  });

  it("counts each refusal by name", async () => {
    const m = await d.metrics();
    const scope = `rt/http/server/127.0.0.1/${addr.split(":")[1]}/http/rejected`;
    expect(m[`${scope}/bad_request`]).toBe(cases.length);
    expect(m[`${scope}/line_too_long`]).toBe(1);
    expect(m[`${scope}/headers_too_large`]).toBe(2);
    expect(m[`${scope}/body_too_large`]).toBe(1);
    expect(m[`${scope}/headers_timeout`]).toBe(1);
  });
});

describe("HTTP/1.1 methods and pipelining", () => {
  it("CONNECT: 405 and the connection closed, never forwarded", async () => {
    const before = seen.length;
    const out = await raw(`CONNECT web:443 HTTP/1.1\r\nHost: web:443\r\n\r\n`, 2_000, true);
    expect(out).toMatch(/^HTTP\/1\.1 405 /);
    expect(out).toMatch(/CONNECT is not supported/);
    expect(seen.length).toBe(before);
  });

  it("pipelined requests in one write are each forwarded once and answered in order", async () => {
    const before = seen.length;
    const out = await raw(
      `GET /p1 HTTP/1.1\r\n${H}\r\n` +
        `POST /p2 HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabc` +
        `GET /p3 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
      3_000,
      true,
    );
    const statuses = out.match(/HTTP\/1\.1 \d{3}/g);
    expect(statuses).toEqual(["HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 200"]);
    expect(seen.slice(before).map((r) => r.url)).toEqual(["/p1", "/p2", "/p3"]);
  });

  it("a malformed request pipelined behind a good one: the good one is answered, the bad one never forwarded", async () => {
    const before = seen.length;
    const out = await raw(
      `GET /good HTTP/1.1\r\n${H}\r\n` +
        `POST /bad HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      3_000,
      true,
    );
    expect(out).toMatch(/^HTTP\/1\.1 200 /);
    expect(seen.slice(before).map((r) => r.url)).toEqual(["/good"]);
  });
});

describe("HTTP/1.1 framing a proxy must not pass on", () => {
  it("Connection naming Content-Length or Host removes neither: one request reaches the endpoint, its body framed", async () => {
    const before = seen.length;
    const smuggled = "GET /admin HTTP/1.1\r\nHost: internal\r\n\r\n";
    const out = await raw(
      `POST /public HTTP/1.1\r\n${H}Connection: content-length, host\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      2_000,
      true,
    );
    expect(out).toMatch(/^HTTP\/1\.1 200 /);
    await new Promise((r) => setTimeout(r, 50));
    const got = seen.slice(before);
    expect(got.map((r) => r.url)).toEqual(["/public"]);
    expect(got[0]?.headers["content-length"]).toBe(String(smuggled.length));
    expect(got[0]?.headers.host).toBe("web");
  });

  it.each([
    [
      "an Upgrade request with a Content-Length body",
      400,
      `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 5\r\n\r\nhello`,
    ],
    [
      "Transfer-Encoding on HTTP/1.0",
      400,
      `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
    ],
    [
      "a Host that is not an authority (a space in it)",
      400,
      "GET / HTTP/1.1\r\nHost: web x\r\n\r\n",
    ],
    [
      "a coding before chunked (gzip, chunked)",
      501,
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
    ],
  ])("%s: answered %d, never forwarded", async (_name, status, bytes) => {
    const before = seen.length;
    const out = await raw(bytes as string, 2_000, true);
    expect(out).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.length).toBe(before);
  });

  it("a version other than HTTP/1.0 and 1.1 is refused (505, or 400 by the parser), never forwarded", async () => {
    const before = seen.length;
    const out = await raw(`GET / HTTP/2.0\r\n${H}\r\n`, 2_000, true);
    expect(out).toMatch(/^HTTP\/1\.1 (505|400) /);
    expect(seen.length).toBe(before);
  });
});
