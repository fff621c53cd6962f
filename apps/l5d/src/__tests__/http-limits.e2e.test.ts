/**
 * The HTTP/1.1 router's remaining bounds, each against a real backend on loopback: an unknown
 * `Expect` (417), a response over `maxResponseKB` (502), every request body bounded with
 * `streamingEnabled: false` (413, chunked included), `maxConcurrentRequests` (503) and a
 * server's `maxConnections` (closed at accept).
 */
import { createServer, type IncomingMessage, request } from "node:http";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, rawExchange, startTestDaemon, type TestDaemon } from "./support.js";

let d: TestDaemon;
let port = 0;
let capped = 0;
const seen: IncomingMessage[] = [];
const backend = createServer((req, res) => {
  seen.push(req);
  req.resume();
  req.on("end", () => {
    if (req.url === "/big") res.end("x".repeat(5000));
    else if (req.url === "/slow") setTimeout(() => res.end("slow"), 400);
    else res.end("ok");
  });
});

beforeAll(async () => {
  await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
  const bport = (backend.address() as { port: number }).port;
  [port, capped] = [await freePort(), await freePort()];
  d = await startTestDaemon(`admin: {port: ${await freePort()}}
routers:
- protocol: http
  dtab: /svc/web => /$/inet/127.0.0.1/${bport}
  maxRequestKB: 4
  maxResponseKB: 4
  streamingEnabled: false
  servers:
  - port: ${port}
    maxConcurrentRequests: 1
  - port: ${capped}
    maxConnections: 2
`);
});

afterAll(async () => {
  await d[Symbol.asyncDispose]();
  backend.closeAllConnections();
  await new Promise((r) => backend.close(r));
});

function get(p: number, path: string): Promise<{ status: number; err: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: p, path, headers: { host: "web" }, agent: false },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            err: decodeURIComponent(String(res.headers["l5d-err"] ?? "").replace(/\+/g, " ")),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("HTTP/1.1 bounds", () => {
  it("an Expect other than 100-continue: 417, counted, never forwarded", async () => {
    const before = seen.length;
    const out = await rawExchange(
      `127.0.0.1:${port}`,
      "GET / HTTP/1.1\r\nHost: web\r\nExpect: teapot\r\n\r\n",
      2_000,
    );
    expect(out).toMatch(/^HTTP\/1\.1 417 /);
    expect(seen.length).toBe(before);
    const m = await d.metrics();
    expect(m[`rt/http/server/127.0.0.1/${port}/http/rejected/expectation_failed`]).toBe(1);
  });

  it("a response with a Content-Length over maxResponseKB: 502 naming the bound", async () => {
    const r = await get(port, "/big");
    expect(r.status).toBe(502);
    expect(r.err).toContain("over maxResponseKB (4)");
  });

  it("streamingEnabled: false bounds a chunked request body by maxRequestKB: 413, never forwarded", async () => {
    const before = seen.length;
    const body = "y".repeat(5000);
    const out = await rawExchange(
      `127.0.0.1:${port}`,
      `POST / HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      2_000,
    );
    expect(out).toMatch(/^HTTP\/1\.1 413 /);
    expect(seen.length).toBe(before);
    // a small one is read whole and forwarded
    const ok = await rawExchange(
      `127.0.0.1:${port}`,
      "POST / HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      2_000,
    );
    expect(ok).toMatch(/^HTTP\/1\.1 200 /);
  });

  it("maxConcurrentRequests: the request past it is answered 503", async () => {
    const both = await Promise.all([get(port, "/slow"), get(port, "/slow")]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 503]);
    expect(both.find((r) => r.status === 503)?.err).toContain("maxConcurrentRequests (1)");
  });

  it("maxConnections: a connection past it is closed at accept; room again once one closes", async () => {
    const open: Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const s = connect(capped, "127.0.0.1");
      await new Promise((r) => s.once("connect", r));
      open.push(s);
    }
    await new Promise((r) => setTimeout(r, 100));
    const refused = await rawExchange(
      `127.0.0.1:${capped}`,
      "GET / HTTP/1.1\r\nHost: web\r\n\r\n",
      2_000,
    );
    expect(refused).toBe("");
    open[0]!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await get(capped, "/")).status).toBe(200);
    for (const s of open) s.destroy();
  });
});
