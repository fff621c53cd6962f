import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ParseError } from "../wire/llhttp.js";
import type { BodySink } from "./body-log.js";
import {
  ClientConnection,
  type ConnectionHooks,
  ConnState,
  type Entry,
} from "./client-connection.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** How the test server answers a request, once its whole body is in. */
type Answer = (e: Entry, body: string) => void;

/** A sink collecting a body; `refuse`: it takes nothing more until `drain` (back-pressure). */
function collector(onEnd: (body: string) => void, refuse = false) {
  const chunks: Buffer[] = [];
  let drain: (() => void) | undefined;
  let blocked = refuse;
  const sink: BodySink = {
    write(c) {
      chunks.push(Buffer.from(c));
      return !blocked;
    },
    end() {
      onEnd(Buffer.concat(chunks).toString("latin1"));
    },
    onDrain(f) {
      drain = f;
    },
  };
  return {
    sink,
    bytes: () => chunks.reduce((n, c) => n + c.length, 0),
    writes: () => chunks.length,
    /** Takes everything from now on. */
    unblock() {
      blocked = false;
      const f = drain;
      drain = undefined;
      f?.();
    },
  };
}

/**
 * A real server making a `ClientConnection` per socket. By default each request's body is
 * collected whole through its BodyLog, then `answer` is called (no answer: the test answers).
 * `onRequest` replaces that default.
 */
async function server(answer?: Answer, onRequest?: (e: Entry) => void) {
  const entries: Entry[] = [];
  const parseErrors: string[] = [];
  const conns: ClientConnection[] = [];
  const hooks: ConnectionHooks = {
    maxHeadBytes: 8192,
    requestBufferBytes: 1024,
    onRequest(e) {
      entries.push(e);
      if (onRequest !== undefined) {
        onRequest(e);
        return;
      }
      e.body.attach(collector((body) => answer?.(e, body)).sink);
    },
    onParseError(c: ClientConnection, err: ParseError) {
      parseErrors.push(err.code);
      c.socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    },
  };
  const srv: Server = createServer((s) => {
    conns.push(new ClientConnection(s, hooks));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  cleanups.push(() => {
    for (const c of conns) c.socket.destroy();
    srv.close();
  });
  const port = (srv.address() as { port: number }).port;
  return { port, entries, parseErrors, conns };
}

/** A raw client: what it reads, and whether its connection closed. */
function client(port: number) {
  const s: Socket = connect(port, "127.0.0.1");
  cleanups.push(() => s.destroy());
  let got = "";
  let closed = false;
  s.on("data", (d: Buffer) => {
    got += d.toString("latin1");
  });
  s.on("close", () => {
    closed = true;
  });
  s.on("error", () => {});
  return { s, got: () => got, closed: () => closed };
}

/** Polls `f` every 5 ms, for at most `ms`. */
const until = async (f: () => boolean, ms = 2_000) => {
  const end = performance.now() + ms;
  while (!f() && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
  return f();
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ok = (e: Entry, text: string) =>
  e.reply.send(200, "OK", ["Content-Length", String(Buffer.byteLength(text))], [Buffer.from(text)]);

describe("ClientConnection", () => {
  it("pipelined requests sent in one write are answered in order, each handed over only once the reply before it ended", async () => {
    const srv = await server();
    const c = client(srv.port);
    c.s.write(
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    expect(await until(() => srv.entries.length === 1)).toBe(true);
    // the second is not handed over while the first is unanswered
    await sleep(50);
    expect(srv.entries.map((e) => e.req.url)).toEqual(["/1"]);
    expect((srv.conns[0] as ClientConnection).pending).toBe(3);
    ok(srv.entries[0] as Entry, "one");
    expect(await until(() => srv.entries.length === 2)).toBe(true);
    await sleep(30);
    expect(srv.entries.length).toBe(2);
    ok(srv.entries[1] as Entry, "two");
    expect(await until(() => srv.entries.length === 3)).toBe(true);
    ok(srv.entries[2] as Entry, "three");
    expect(await until(() => c.got().endsWith("three"))).toBe(true);
    expect(srv.entries.map((e) => e.req.url)).toEqual(["/1", "/2", "/3"]);
    expect(c.got().match(/\r\n\r\n(one|two|three)/g)).toEqual([
      "\r\n\r\none",
      "\r\n\r\ntwo",
      "\r\n\r\nthree",
    ]);
    expect(c.closed()).toBe(false);
  });

  it("a request body arriving in pieces reaches the request whole", async () => {
    let body = "";
    const srv = await server((e, b) => {
      body = b;
      ok(e, "got");
    });
    const c = client(srv.port);
    c.s.write("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    await sleep(30);
    c.s.write("6\r\n world\r\n");
    await sleep(30);
    c.s.write("0\r\n\r\n");
    expect(await until(() => c.got().endsWith("got"))).toBe(true);
    expect(body).toBe("hello world");
  });

  it("a body pipelined behind another request waits, and reaches its own request whole", async () => {
    const bodies: string[] = [];
    const srv = await server((e, b) => {
      bodies.push(`${e.req.url}:${b}`);
      // the first is answered later, by the test
      if (e.req.url !== "/1") ok(e, `r${e.req.url}`);
    });
    const c = client(srv.port);
    c.s.write(
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" +
        "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\npayload" +
        "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    expect(await until(() => srv.entries.length === 1)).toBe(true);
    await sleep(30);
    ok(srv.entries[0] as Entry, "r/1");
    expect(await until(() => c.got().endsWith("r/3"))).toBe(true);
    expect(bodies).toEqual(["/1:", "/2:payload", "/3:abc"]);
  });

  it("a sink that is backed up stops the reading of the client; its drain resumes it and the body arrives whole", async () => {
    const size = 16 * 1024 * 1024;
    let sinkOf: ReturnType<typeof collector> | undefined;
    let got = -1;
    const srv = await server(undefined, (e) => {
      sinkOf = collector((b) => {
        got = b.length;
        ok(e, "done");
      }, true);
      e.body.attach(sinkOf.sink);
    });
    const c = client(srv.port);
    c.s.write(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${size}\r\n\r\n`);
    c.s.write(Buffer.alloc(size, 0x61));
    expect(await until(() => sinkOf !== undefined)).toBe(true);
    const s = sinkOf as ReturnType<typeof collector>;
    await sleep(150);
    const conn = srv.conns[0] as ClientConnection;
    // what was read before the pause: far less than what the client sent
    const readWhileBlocked = conn.socket.bytesRead;
    expect(readWhileBlocked).toBeLessThan(size / 2);
    await sleep(100);
    expect(conn.socket.bytesRead).toBe(readWhileBlocked);
    s.unblock();
    expect(await until(() => c.got().endsWith("done"), 10_000)).toBe(true);
    expect(got).toBe(size);
  });

  it("a malformed request: onParseError, and the request never handed over", async () => {
    const srv = await server((e) => ok(e, "x"));
    const c = client(srv.port);
    c.s.write("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n");
    expect(await until(() => c.closed())).toBe(true);
    expect(srv.parseErrors.length).toBe(1);
    expect(srv.entries).toEqual([]);
    expect(c.got()).toMatch(/^HTTP\/1\.1 400 /);
  });

  it("a malformed request pipelined behind a good one is refused only after the good one is answered", async () => {
    const srv = await server();
    const c = client(srv.port);
    c.s.write(
      "GET /good HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n",
    );
    expect(await until(() => srv.entries.length === 1)).toBe(true);
    await sleep(30);
    expect(srv.parseErrors).toEqual([]);
    ok(srv.entries[0] as Entry, "fine");
    expect(await until(() => c.closed())).toBe(true);
    expect(c.got()).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*fineHTTP\/1\.1 400 /);
    expect(srv.parseErrors.length).toBe(1);
    expect(srv.entries.length).toBe(1);
  });

  it("a request whose framing llhttp refuses after its head: the reply handed over is aborted, then the parse error answered", async () => {
    const srv = await server();
    const c = client(srv.port);
    const seen: boolean[] = [];
    c.s.write("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nxx");
    expect(await until(() => c.closed())).toBe(true);
    expect(srv.parseErrors).toEqual(["HPE_INVALID_TRANSFER_ENCODING"]);
    // llhttp reports the head before it checks the framing: the request was handed over
    expect(srv.entries.length).toBe(1);
    const e = srv.entries[0] as Entry;
    e.reply.onDone((f) => seen.push(f));
    expect(seen).toEqual([false]);
    expect(e.body.replayable).toBe(false);
    expect(c.got()).toMatch(/^HTTP\/1\.1 400 /);
  });

  it("a client that half-closes while its request is unanswered aborts the reply", async () => {
    const srv = await server();
    const c = client(srv.port);
    c.s.write("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    expect(await until(() => srv.entries.length === 1)).toBe(true);
    const e = srv.entries[0] as Entry;
    const seen: boolean[] = [];
    e.reply.onDone((f) => seen.push(f));
    c.s.end();
    expect(await until(() => seen.length === 1)).toBe(true);
    expect(seen).toEqual([false]);
    expect(e.reply.aborted).toBe(true);
    expect(await until(() => c.closed())).toBe(true);
    expect(c.got()).toBe("");
  });

  it("a client gone mid-body: the body is not replayable and the reply is aborted", async () => {
    const srv = await server();
    const c = client(srv.port);
    c.s.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    expect(await until(() => srv.entries.length === 1)).toBe(true);
    const e = srv.entries[0] as Entry;
    expect(await until(() => e.body.bytes === 3)).toBe(true);
    c.s.destroy();
    expect(await until(() => e.reply.done)).toBe(true);
    expect(e.reply.aborted).toBe(true);
    expect(e.body.ended).toBe(false);
    expect(e.body.replayable).toBe(false);
  });

  it("Connection: close is honoured: the connection ends after the response", async () => {
    const srv = await server((e) => ok(e, "bye"));
    const c = client(srv.port);
    c.s.write("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    expect(await until(() => c.closed())).toBe(true);
    expect(c.got()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n\r\nbye$/);
    expect((srv.conns[0] as ClientConnection).state).toBe(ConnState.Closed);
  });

  it("a request pipelined after a Connection: close one is never handed over nor answered", async () => {
    const srv = await server((e) => ok(e, `r${e.req.url}`));
    const c = client(srv.port);
    c.s.write(
      "GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    expect(await until(() => c.closed())).toBe(true);
    expect(srv.entries.map((e) => e.req.url)).toEqual(["/1"]);
    expect(c.got().match(/HTTP\/1\.1 /g)?.length).toBe(1);
    expect(c.got().endsWith("r/1")).toBe(true);
  });

  it("an HTTP/1.0 request without keep-alive: the connection ends after the response", async () => {
    const srv = await server((e) => ok(e, "old"));
    const c = client(srv.port);
    c.s.write("GET / HTTP/1.0\r\n\r\n");
    expect(await until(() => c.closed())).toBe(true);
    expect(c.got()).toMatch(/Connection: close\r\n\r\nold$/);
  });

  it("a keep-alive connection is idle after its response; the head clock starts with the next request's first byte", async () => {
    const srv = await server((e) => ok(e, "x"));
    const c = client(srv.port);
    expect(await until(() => srv.conns.length === 1)).toBe(true);
    const conn = srv.conns[0] as ClientConnection;
    // a new connection waits for its first head: not idle
    expect(conn.idle).toBe(false);
    expect(conn.headStartedAt).toBeGreaterThan(0);
    c.s.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    expect(await until(() => c.got().endsWith("x"))).toBe(true);
    expect(conn.idle).toBe(true);
    expect(conn.headStartedAt).toBe(0);
    expect(conn.idleSince).toBeGreaterThan(0);
    await sleep(30);
    expect(conn.headStartedAt).toBe(0);
    const before = performance.now();
    c.s.write("GET /next HT");
    expect(await until(() => conn.headStartedAt > 0)).toBe(true);
    expect(conn.headStartedAt).toBeGreaterThanOrEqual(before);
    expect(conn.idle).toBe(false);
    expect(conn.idleSince).toBe(0);
  });

  it("drain(): an idle connection closes at once, a busy one once its response is sent", async () => {
    const srv = await server();
    const idle = client(srv.port);
    idle.s.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    expect(await until(() => srv.entries.length === 1)).toBe(true);
    ok(srv.entries[0] as Entry, "a");
    expect(await until(() => idle.got().endsWith("a"))).toBe(true);
    (srv.conns[0] as ClientConnection).drain();
    expect(await until(() => idle.closed())).toBe(true);

    const busy = client(srv.port);
    busy.s.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    expect(await until(() => srv.entries.length === 2)).toBe(true);
    (srv.conns[1] as ClientConnection).drain();
    await sleep(30);
    expect(busy.closed()).toBe(false);
    ok(srv.entries[1] as Entry, "b");
    expect(await until(() => busy.closed())).toBe(true);
    expect(busy.got()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nb$/);
  });

  it("an upgrade request: handed over with the bytes after its head; after detach the socket reads the new protocol", async () => {
    const srv = await server(undefined, () => {});
    const c = client(srv.port);
    c.s.write(
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nFIRST",
    );
    expect(await until(() => srv.entries.length === 1)).toBe(true);
    const e = srv.entries[0] as Entry;
    const conn = srv.conns[0] as ClientConnection;
    expect(e.req.upgrade).toBe(true);
    expect(e.upgradeHead?.toString()).toBe("FIRST");
    expect(e.body.ended).toBe(true);
    expect(conn.state).toBe(ConnState.Upgraded);
    conn.detach();
    conn.socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
    let tunnelled = "";
    conn.socket.on("data", (d: Buffer) => {
      tunnelled += d.toString("latin1");
    });
    conn.socket.resume();
    c.s.write("SECOND");
    expect(await until(() => tunnelled === "SECOND")).toBe(true);
    expect(c.got()).toBe("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
  });

  it("a response sent before the request body is read does not wedge the connection: it is closed, and nothing after the body is taken as a request", async () => {
    // the endpoint answered early (or a local answer): the attempt let go of the body
    const srv = await server(undefined, (e) => {
      const s = collector(() => {});
      e.body.attach(s.sink);
      if (e.req.url === "/early") {
        e.body.detach();
        ok(e, "early");
      }
    });
    const c = client(srv.port);
    c.s.write("POST /early HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    expect(await until(() => c.got().endsWith("early"))).toBe(true);
    c.s.write("defghijGET /next HTTP/1.1\r\nHost: a\r\n\r\n");
    expect(await until(() => c.closed(), 1_000)).toBe(true);
    expect(srv.entries.map((e) => e.req.url)).toEqual(["/early"]);
  });
});
