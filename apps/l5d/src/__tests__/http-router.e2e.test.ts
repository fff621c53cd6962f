/**
 * `protocol: http` end to end: a daemon from YAML, real node:http backends on loopback, real
 * HTTP/1.1 and 1.0 clients (node:http, raw sockets). Routing, Linkerd's headers, bodies both
 * ways, keep-alive pools, retries, requeues, local errors with `l5d-err`, limits.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, rawExchange, startTestDaemon, type TestDaemon } from "./support.js";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  raw: string[];
  body: Buffer;
}

/** A backend answering `<name>` and the request it saw (JSON), recording every request. */
async function backend(
  name: string,
  answer?: (req: IncomingMessage, n: number) => { status: number; body?: string } | undefined,
): Promise<{ port: number; seen: Seen[]; connections: () => number; server: Server }> {
  const seen: Seen[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const s: Seen = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        raw: req.rawHeaders,
        body: Buffer.concat(chunks),
      };
      seen.push(s);
      const a = answer?.(req, seen.length);
      if (a !== undefined) {
        res.writeHead(a.status, { "content-type": "text/plain" });
        res.end(a.body ?? "");
        return;
      }
      res.setHeader("x-backend", name);
      res.setHeader("connection", "x-hop");
      res.setHeader("x-hop", "must not pass");
      res.end(s.body.length > 0 ? s.body : name);
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  cleanups.push(() => server.closeAllConnections());
  return {
    port: (server.address() as { port: number }).port,
    seen,
    connections: () => connections,
    server,
  };
}

async function daemon(routerYaml: string): Promise<TestDaemon> {
  const admin = await freePort();
  const port = await freePort();
  const d = await startTestDaemon(
    `admin:\n  port: ${admin}\nrouters:\n- protocol: http\n  servers:\n  - port: ${port}\n${routerYaml}`,
  );
  cleanups.push(() => d[Symbol.asyncDispose]());
  return d;
}

interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

function call(
  addr: string,
  opts: {
    path?: string;
    method?: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    agent?: false;
  } = {},
): Promise<Reply> {
  const [host, port] = addr.split(":");
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port: Number(port),
        path: opts.path ?? "/",
        method: opts.method ?? "GET",
        headers: opts.headers ?? {},
        agent: opts.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

const raw = (addr: string, bytes: string) => rawExchange(addr, bytes);

describe("protocol: http", () => {
  it("routes by Host (io.l5d.header.token, the default) with Linkerd's headers; hop-by-hop fields stay behind", async () => {
    const web = await backend("web");
    const d = await daemon(`  dtab: /svc/web => /$/inet/127.0.0.1/${web.port}\n`);
    const r = await call(d.addr("http"), {
      path: "/a/b?x=1",
      headers: {
        host: "web",
        connection: "x-private",
        "x-private": "secret",
        "l5d-dtab": "/nothing => /x",
        "x-app": "kept",
      },
    });
    expect(r.status).toBe(200);
    expect(r.body).toBe("web");
    expect(r.headers["x-backend"]).toBe("web");
    expect(r.headers["x-hop"]).toBeUndefined();
    const s = web.seen[0]!;
    expect(s.url).toBe("/a/b?x=1");
    expect(s.headers["l5d-dst-service"]).toBe("/svc/web");
    expect(s.headers["l5d-dst-client"]).toBe(`/$/inet/127.0.0.1/${web.port}`);
    expect(s.headers["l5d-reqid"]).toMatch(/^[0-9a-f]{16}$/);
    expect(s.headers["l5d-ctx-dtab"]).toBe("/nothing=>/x");
    expect(s.headers["l5d-dtab"]).toBeUndefined();
    expect(s.headers["x-private"]).toBeUndefined();
    expect(s.headers["x-app"]).toBe("kept");
    expect(s.headers.host).toBe("web");
    const m = await d.metrics();
    expect(m["rt/http/service/svc/web/requests"]).toBe(1);
    expect(m["rt/http/service/svc/web/success"]).toBe(1);
  });

  it("a client using l5d as http_proxy (absolute-form): routed and forwarded by the target's authority, in origin-form", async () => {
    const web = await backend("web");
    const d = await daemon(`  dtab: /svc/web => /$/inet/127.0.0.1/${web.port}\n`);
    const r = await call(d.addr("http"), { path: "http://web/a?b=1", headers: { host: "stale" } });
    expect(r.status).toBe(200);
    expect(web.seen[0]!.url).toBe("/a?b=1");
    expect(web.seen[0]!.headers.host).toBe("web");
    expect(web.seen[0]!.headers["l5d-dst-service"]).toBe("/svc/web");
  });

  it("an l5d-dtab override sends one request elsewhere", async () => {
    const v1 = await backend("v1");
    const v2 = await backend("v2");
    const d = await daemon(
      `  dtab: |\n    /srv/v1 => /$/inet/127.0.0.1/${v1.port};\n    /srv/v2 => /$/inet/127.0.0.1/${v2.port};\n    /svc/web => /srv/v1;\n`,
    );
    expect((await call(d.addr("http"), { headers: { host: "web" } })).body).toBe("v1");
    expect(
      (await call(d.addr("http"), { headers: { host: "web", "l5d-dtab": "/svc/web => /srv/v2" } }))
        .body,
    ).toBe("v2");
    expect((await call(d.addr("http"), { headers: { host: "web" } })).body).toBe("v1");
  });

  it("answers what it cannot route itself, with l5d-err: 400 unidentified, 502 no route, 400 bad l5d-dtab", async () => {
    const d = await daemon(`  dtab: /svc/web => /$/inet/127.0.0.1/1\n`);
    const noRoute = await call(d.addr("http"), { headers: { host: "nowhere" } });
    expect(noRoute.status).toBe(502);
    expect(noRoute.headers["l5d-err"]).toMatch(/^%5Bhttp%5D\+no\+route/);
    expect(noRoute.body).toMatch(/^\[http\] no route: \/svc\/nowhere/);
    const badDtab = await call(d.addr("http"), { headers: { host: "web", "l5d-dtab": "/a => " } });
    expect(badDtab.status).toBe(400);
    expect(badDtab.body).toMatch(/invalid l5d-dtab header/);
  });

  it("streams a chunked request body and a large response both ways, byte for byte", async () => {
    const echo = await backend("echo");
    const d = await daemon(`  dtab: /svc/echo => /$/inet/127.0.0.1/${echo.port}\n`);
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const [host, port] = d.addr("http").split(":");
    const got = await new Promise<Buffer>((resolve, reject) => {
      const req = request(
        {
          host,
          port: Number(port),
          method: "POST",
          path: "/up",
          headers: { host: "echo", "transfer-encoding": "chunked" },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve(Buffer.concat(chunks)));
        },
      );
      req.on("error", reject);
      for (let off = 0; off < big.length; off += 65_536) req.write(big.subarray(off, off + 65_536));
      req.end();
    });
    expect(got.equals(big)).toBe(true);
    expect(echo.seen[0]!.headers["transfer-encoding"]).toBe("chunked");
  });

  it("keeps upstream connections alive: 20 sequential requests use one connection", async () => {
    const web = await backend("web");
    const d = await daemon(`  dtab: /svc/web => /$/inet/127.0.0.1/${web.port}\n`);
    for (let i = 0; i < 20; i++)
      expect((await call(d.addr("http"), { headers: { host: "web" } })).status).toBe(200);
    expect(web.seen).toHaveLength(20);
    expect(web.connections()).toBe(1);
  });

  it("serves HTTP/1.0 clients and answers Expect: 100-continue", async () => {
    const echo = await backend("echo");
    const d = await daemon(`  dtab: /svc/echo => /$/inet/127.0.0.1/${echo.port}\n`);
    const old = await raw(d.addr("http"), "GET / HTTP/1.0\r\nHost: echo\r\n\r\n");
    expect(old).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(old.endsWith("echo")).toBe(true);
    const [host, port] = d.addr("http").split(":");
    const text = await new Promise<string>((resolve) => {
      const s = connect(Number(port), host);
      let buf = "";
      s.on("data", (c: Buffer) => {
        buf += c.toString();
        if (buf.startsWith("HTTP/1.1 100 Continue\r\n\r\n") && !buf.includes("200"))
          s.write("hello");
        if (buf.endsWith("hello")) s.end();
      });
      s.on("close", () => resolve(buf));
      s.write("POST / HTTP/1.1\r\nHost: echo\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    });
    expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    expect(text.endsWith("hello")).toBe(true);
    expect(echo.seen.at(-1)!.headers.expect).toBeUndefined();
  });

  it("retries a retryable 5xx (io.l5d.http.retryableRead5XX) and marks an exhausted one l5d-retryable", async () => {
    const flaky = await backend("flaky", (_req, n) =>
      n % 2 === 1 ? { status: 503, body: "busy" } : undefined,
    );
    const d = await daemon(
      `  dtab: /svc/web => /$/inet/127.0.0.1/${flaky.port}\n  service:\n    responseClassifier:\n      kind: io.l5d.http.retryableRead5XX\n`,
    );
    for (let i = 0; i < 5; i++) {
      const r = await call(d.addr("http"), { headers: { host: "web" } });
      expect(r.status).toBe(200);
      expect(r.body).toBe("flaky");
    }
    expect(flaky.seen).toHaveLength(10);
    expect((await d.metrics())["rt/http/service/svc/web/retries/total"]).toBe(5);
    // POST is not a read: the 503 is final and not retried
    const post = await call(d.addr("http"), {
      method: "POST",
      headers: { host: "web" },
      body: "x",
    });
    expect(post.status).toBe(503);
    expect(flaky.seen).toHaveLength(11);
  });

  it("requeues requests an endpoint never took (connection refused) to the live one: none fails", async () => {
    const live = await backend("live");
    const dead = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "l5d-http-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "web"), `127.0.0.1 ${dead}\n127.0.0.1 ${live.port}\n`);
    const admin = await freePort();
    const port = await freePort();
    const d = await startTestDaemon(
      `admin:\n  port: ${admin}\nnamers:\n- kind: io.l5d.fs\n  rootDir: ${dir}\nrouters:\n- protocol: http\n  dtab: /svc => /#/io.l5d.fs\n  servers:\n  - port: ${port}\n`,
    );
    cleanups.push(() => d[Symbol.asyncDispose]());
    for (let i = 0; i < 20; i++) {
      const r = await call(d.addr("http"), {
        method: "POST",
        headers: { host: "web" },
        body: `n${i}`,
      });
      expect(r.status).toBe(200);
      expect(r.body).toBe(`n${i}`);
    }
    expect(live.seen).toHaveLength(20);
    const m = await d.metrics();
    const requeues = Object.entries(m).find(([k]) => k.endsWith("/retries/requeues"));
    expect(requeues?.[1]).toBeGreaterThan(0);
  });

  it("a vanished endpoint mid-response never takes the daemon down; the next request is answered", async () => {
    const web = await backend("web", () => undefined);
    const dying = createServer((_req, res) => {
      res.writeHead(200, { "content-length": "1000" });
      res.write("partial");
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await new Promise<void>((r) => dying.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => dying.close(r)));
    const dp = (dying.address() as { port: number }).port;
    const d = await daemon(
      `  dtab: |\n    /svc/dying => /$/inet/127.0.0.1/${dp};\n    /svc/web => /$/inet/127.0.0.1/${web.port};\n`,
    );
    await expect(call(d.addr("http"), { headers: { host: "dying" } })).rejects.toThrow();
    expect((await call(d.addr("http"), { headers: { host: "web" } })).status).toBe(200);
  });

  it("writes Linkerd's access log line per response (httpAccessLog)", async () => {
    const web = await backend("web");
    const dir = mkdtempSync(join(tmpdir(), "l5d-http-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "access.log");
    const d = await daemon(
      `  dtab: /svc/web => /$/inet/127.0.0.1/${web.port}\n  httpAccessLog: ${file}\n`,
    );
    await call(d.addr("http"), {
      path: "/x?y=1",
      headers: { host: "web", "user-agent": "curl/8.0", referer: "http://a/" },
    });
    await call(d.addr("http"), { method: "POST", headers: { host: "nowhere" }, body: "z" });
    await d[Symbol.asyncDispose]();
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^127\.0\.0\.1 - - \[\d\d\/\d\d\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/x\?y=1 HTTP\/1\.1" 200 3 "http:\/\/a\/" "curl\/8\.0"$/,
    );
    expect(lines[1]).toMatch(/"POST \/ HTTP\/1\.1" 502 \d+ "-" "-"$/);
  });

  it("adds an RFC 7239 Forwarded element with the configured labelers (addForwardedHeader)", async () => {
    const web = await backend("web");
    const admin = await freePort();
    const port = await freePort();
    const d = await startTestDaemon(
      `admin:\n  port: ${admin}\nrouters:\n- protocol: http\n  label: edge\n  dtab: /svc/web => /$/inet/127.0.0.1/${web.port}\n  servers:\n  - port: ${port}\n    addForwardedHeader:\n      by: {kind: static, label: linkerd}\n      for: {kind: ip}\n  - port: ${await freePort()}\n    addForwardedHeader: {}\n`,
    );
    cleanups.push(() => d[Symbol.asyncDispose]());
    await call(`127.0.0.1:${port}`, { headers: { host: "web", forwarded: "for=192.0.2.1" } });
    expect(
      web.seen[0]!.raw.filter((_x, i, a) => i % 2 === 1 && a[i - 1]!.toLowerCase() === "forwarded"),
    ).toEqual(["for=192.0.2.1", "by=_linkerd;for=127.0.0.1;host=web;proto=http"]);
    const second = d.d.linker.routers[0]!.servers[1]!;
    await call(`127.0.0.1:${second.port}`, { headers: { host: "web" } });
    await call(`127.0.0.1:${second.port}`, { headers: { host: "web" } });
    const a = web.seen[1]!.headers.forwarded as string;
    const b = web.seen[2]!.headers.forwarded as string;
    expect(a).toMatch(/^by=_[A-Za-z0-9._]{6};for=_[A-Za-z0-9._]{6};host=web;proto=http$/);
    // requestRandom: a new label per request
    expect(a).not.toBe(b);
  });

  it("io.l5d.path with consume: routes on the first segments and sends the rest", async () => {
    const books = await backend("books");
    const d = await daemon(
      `  identifier:\n    kind: io.l5d.path\n    segments: 2\n    consume: true\n  dtab: /svc/api/books => /$/inet/127.0.0.1/${books.port}\n`,
    );
    const r = await call(d.addr("http"), {
      path: "/api/books/42?full=1",
      headers: { host: "any" },
    });
    expect(r.status).toBe(200);
    expect(books.seen[0]!.url).toBe("/42?full=1");
    expect(books.seen[0]!.headers["l5d-dst-service"]).toBe("/svc/api/books");
    const short = await call(d.addr("http"), { path: "/api", headers: { host: "any" } });
    expect(short.status).toBe(400);
    expect(short.headers["l5d-err"]).toBeDefined();
  });

  it("io.l5d.methodAndHost names /svc/1.1/<METHOD>/<host> and /svc/1.0/<METHOD>", async () => {
    const web = await backend("web");
    const d = await daemon(
      `  identifier:\n    kind: io.l5d.methodAndHost\n  dtab: |\n    /svc/1.1/GET/web => /$/inet/127.0.0.1/${web.port};\n    /svc/1.0/GET => /$/inet/127.0.0.1/${web.port};\n`,
    );
    expect((await call(d.addr("http"), { headers: { host: "web" } })).status).toBe(200);
    expect(web.seen[0]!.headers["l5d-dst-service"]).toBe("/svc/1.1/GET/web");
    expect(
      (await call(d.addr("http"), { method: "POST", headers: { host: "web" }, body: "x" })).status,
    ).toBe(502);
    const old = await raw(d.addr("http"), "GET / HTTP/1.0\r\n\r\n");
    expect(old).toMatch(/^HTTP\/1\.1 200 /);
    expect(web.seen[1]!.headers["l5d-dst-service"]).toBe("/svc/1.0/GET");
  });

  it("clearContext: a client's l5d-dtab and l5d-ctx-* are neither honoured nor forwarded", async () => {
    const v1 = await backend("v1");
    const v2 = await backend("v2");
    const admin = await freePort();
    const port = await freePort();
    const d = await startTestDaemon(
      `admin:\n  port: ${admin}\nrouters:\n- protocol: http\n  dtab: |\n    /srv/v1 => /$/inet/127.0.0.1/${v1.port};\n    /srv/v2 => /$/inet/127.0.0.1/${v2.port};\n    /svc/web => /srv/v1;\n  servers:\n  - port: ${port}\n    clearContext: true\n`,
    );
    cleanups.push(() => d[Symbol.asyncDispose]());
    const r = await call(`127.0.0.1:${port}`, {
      headers: {
        host: "web",
        "l5d-dtab": "/svc/web => /srv/v2",
        "l5d-ctx-dtab": "/svc/web => /srv/v2",
        "l5d-ctx-x": "1",
      },
    });
    expect(r.body).toBe("v1");
    expect(v1.seen[0]!.headers["l5d-ctx-x"]).toBeUndefined();
    expect(v1.seen[0]!.headers["l5d-ctx-dtab"]).toBeUndefined();
  });

  it("io.l5d.influxdb serves the HTTP router's metrics in LINE protocol", async () => {
    const web = await backend("web");
    const admin = await freePort();
    const port = await freePort();
    const d = await startTestDaemon(
      `admin:\n  port: ${admin}\ntelemetry:\n- kind: io.l5d.influxdb\nrouters:\n- protocol: http\n  dtab: /svc/web => /$/inet/127.0.0.1/${web.port}\n  servers:\n  - port: ${port}\n`,
    );
    cleanups.push(() => d[Symbol.asyncDispose]());
    await call(`127.0.0.1:${port}`, { headers: { host: "web" } });
    const text = await (await fetch(`${d.adminUrl}/admin/metrics/influxdb`)).text();
    expect(text).toContain(`rt:server,host=127.0.0.1:${admin},rt=http,server=127.0.0.1/${port} `);
    expect(text).toMatch(/^rt:service,host=[^ ]+,rt=http,service=\/svc\/web .*requests=1/m);
  });

  it("tunnels an Upgrade (WebSocket): the endpoint's 101, then bytes both ways until either side closes", async () => {
    const seen: string[] = [];
    const ws = createServer((_req, res) => res.end("not an upgrade"));
    ws.on("upgrade", (req, socket, head) => {
      seen.push(
        `${req.headers.upgrade} ${req.headers.connection} ${req.headers["l5d-dst-service"]}`,
      );
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
      );
      if (head.length > 0) socket.write(Buffer.concat([Buffer.from("echo:"), head]));
      socket.on("data", (c: Buffer) => socket.write(Buffer.concat([Buffer.from("echo:"), c])));
      // a peer's FIN (the client left, l5d passed it on) ends the connection, as WebSocket servers do
      socket.on("end", () => socket.end());
    });
    await new Promise<void>((r) => ws.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => ws.close(r)));
    cleanups.push(() => ws.closeAllConnections());
    const port = (ws.address() as { port: number }).port;
    const d = await daemon(`  dtab: /svc/ws => /$/inet/127.0.0.1/${port}\n`);
    const [host, lport] = d.addr("http").split(":");
    const text = await new Promise<string>((resolve) => {
      const s = connect(Number(lport), host);
      let buf = "";
      s.on("data", (c: Buffer) => {
        buf += c.toString();
        if (buf.includes("\r\n\r\n") && !buf.includes("echo:ping")) s.write("ping");
        if (buf.includes("echo:ping")) s.destroy();
      });
      s.on("close", () => resolve(buf));
      s.write(
        "GET /chat HTTP/1.1\r\nHost: ws\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
      );
    });
    expect(text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(text.endsWith("echo:ping")).toBe(true);
    expect(seen).toEqual(["websocket Upgrade /svc/ws"]);
    // an upgrade to a name with no route is answered on the socket, which is then closed
    const refused = await raw(
      d.addr("http"),
      "GET / HTTP/1.1\r\nHost: nowhere\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    );
    expect(refused).toMatch(/^HTTP\/1\.1 502 /);
  });
});

describe("loop protection (maxCallDepth and Via)", () => {
  it("a dtab that routes a router to itself stops after maxCallDepth hops with Linkerd's message", async () => {
    const admin = await freePort();
    const port = await freePort();
    const d = await startTestDaemon(
      `admin:\n  port: ${admin}\nrouters:\n- protocol: http\n  maxCallDepth: 4\n  dtab: /svc/loop => /$/inet/127.0.0.1/${port}\n  servers:\n  - port: ${port}\n`,
    );
    cleanups.push(() => d[Symbol.asyncDispose]());
    const r = await call(`127.0.0.1:${port}`, { headers: { host: "loop" } });
    expect(r.status).toBe(400);
    expect(r.body).toContain(
      "Maximum number of calls (4) has been exceeded. Please check for proxy loops.",
    );
    // the first hop and four more were routed; the sixth was refused
    const m = await d.metrics();
    expect(m[`rt/http/server/127.0.0.1/${port}/requests`]).toBe(6);
  });

  it("forwards Via with its own hop (1.1 linkerd after the client's)", async () => {
    const web = await backend("web");
    const d = await daemon(`  dtab: /svc/web => /$/inet/127.0.0.1/${web.port}\n`);
    await call(d.addr("http"), { headers: { host: "web", via: "1.0 squid" } });
    expect(web.seen[0]!.headers.via).toBe("1.0 squid, 1.1 linkerd");
  });
});
