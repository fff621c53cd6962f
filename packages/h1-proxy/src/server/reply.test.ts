import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ParsedHead } from "../wire/llhttp.js";
import { IncomingRequest } from "./incoming-request.js";
import { Reply, type ReplyOwner, ReplyState } from "./reply.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `f` every 5 ms, for at most `ms`. */
const until = async (f: () => boolean, ms = 2_000) => {
  const end = performance.now() + ms;
  while (!f() && performance.now() < end) await sleep(5);
  return f();
};

/**
 * A loopback socket pair: `server` is the client connection's socket (the reply writes on it),
 * `client` the other end; `received` is what the client got so far; `writes` counts the calls to
 * `server.write`.
 */
async function pair() {
  const srv: Server = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const accepted = new Promise<Socket>((r) => srv.once("connection", r));
  const client = connect((srv.address() as { port: number }).port, "127.0.0.1");
  const server = await accepted;
  cleanups.push(() => {
    client.destroy();
    server.destroy();
    srv.close();
  });
  const got: Buffer[] = [];
  let closed = false;
  let bytes = 0;
  client.on("data", (d: Buffer) => {
    got.push(d);
    bytes += d.length;
  });
  client.on("close", () => {
    closed = true;
  });
  client.on("error", () => {});
  server.on("error", () => {});
  let writes = 0;
  const write = server.write;
  server.write = function (this: Socket, ...args: unknown[]) {
    writes++;
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket["write"];
  const received = () => Buffer.concat(got).toString("latin1");
  return {
    server,
    client,
    received,
    writes: () => writes,
    bytes: () => bytes,
    closed: () => closed,
    /** What the client has once `n` bytes arrived (or 2 s passed), then 20 ms more for any excess. */
    read: async (n: number) => {
      await until(() => received().length >= n);
      await sleep(20);
      return received();
    },
  };
}

function request(
  method: string,
  versionMinor: number,
  keepAlive: boolean,
  s: Socket,
): IncomingRequest {
  const head: ParsedHead = {
    versionMajor: 1,
    versionMinor,
    rawHeaders: ["Host", "web"],
    method,
    url: "/",
    status: 0,
    reason: "",
    upgrade: false,
    keepAlive,
  };
  return new IncomingRequest(head, s);
}

/** The reply's connection: records each `replyDone`. */
function owner(socket: Socket) {
  const done: Reply[] = [];
  const o: ReplyOwner = {
    socket,
    replyDone(r) {
      done.push(r);
    },
  };
  return { o, done };
}

describe("Reply (the response written to the client's socket)", () => {
  it("HTTP/1.1 without a Content-Length: sent chunked, ended by the last chunk", async () => {
    const p = await pair();
    const { o, done } = owner(p.server);
    const r = new Reply(request("GET", 1, true, p.server), o);
    r.writeHead(200, "OK", ["X-A", "1"]);
    r.write(Buffer.from("hello"));
    r.write(Buffer.from(" world"));
    r.end();
    const want =
      "HTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    expect(await p.read(want.length)).toBe(want);
    expect(done).toEqual([r]);
    expect(r.keepAlive).toBe(true);
    expect(r.state).toBe(ReplyState.Finished);
  });

  it("HTTP/1.1 chunked with no body at all: the head and the last chunk in one write", async () => {
    const p = await pair();
    const r = new Reply(request("GET", 1, true, p.server), owner(p.server).o);
    r.writeHead(200, "OK", []);
    r.end();
    const want = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    expect(await p.read(want.length)).toBe(want);
    expect(p.writes()).toBe(1);
  });

  it("with a Content-Length: the bytes go unframed, and a small head and body in one write", async () => {
    const p = await pair();
    const r = new Reply(request("GET", 1, true, p.server), owner(p.server).o);
    r.send(200, "OK", ["Content-Length", "2"], [Buffer.from("ok")]);
    const want = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    expect(await p.read(want.length)).toBe(want);
    expect(p.writes()).toBe(1);
    expect(r.contentLength).toBe("2");
    expect(r.status).toBe(200);
  });

  it("with a Content-Length, a body in several pieces and a large one: every byte, unframed, in order", async () => {
    const p = await pair();
    const r = new Reply(request("GET", 1, true, p.server), owner(p.server).o);
    const big = Buffer.alloc(100_000, 0x62);
    r.writeHead(200, "OK", ["Content-Length", String(big.length + 3)]);
    r.write(big);
    r.write(Buffer.from("end"));
    r.end();
    const head = "HTTP/1.1 200 OK\r\nContent-Length: 100003\r\n\r\n";
    const out = await p.read(head.length + big.length + 3);
    expect(out.length).toBe(head.length + big.length + 3);
    expect(out.startsWith(head)).toBe(true);
    expect(out.slice(head.length)).toBe(`${"b".repeat(100_000)}end`);
  });

  it("an HTTP/1.0 client without a length: no chunking, Connection: close, the close ends the body", async () => {
    const p = await pair();
    const r = new Reply(request("GET", 0, true, p.server), owner(p.server).o);
    r.writeHead(200, "OK", []);
    r.write(Buffer.from("raw"));
    r.end();
    const want = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nraw";
    expect(await p.read(want.length)).toBe(want);
    expect(r.keepAlive).toBe(false);
  });

  it("an HTTP/1.0 keep-alive client is told the connection stays open", async () => {
    const p = await pair();
    const r = new Reply(request("GET", 0, true, p.server), owner(p.server).o);
    r.writeHead(200, "OK", ["Content-Length", "1"]);
    r.write(Buffer.from("x"));
    r.end();
    const want = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\nx";
    expect(await p.read(want.length)).toBe(want);
    expect(r.keepAlive).toBe(true);
  });

  it("an HTTP/1.1 client that asked for the close is told Connection: close", async () => {
    const p = await pair();
    const r = new Reply(request("GET", 1, false, p.server), owner(p.server).o);
    r.send(200, "OK", ["Content-Length", "1"], [Buffer.from("x")]);
    const want = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx";
    expect(await p.read(want.length)).toBe(want);
    expect(r.keepAlive).toBe(false);
  });

  it.each([
    ["HEAD", 200],
    ["GET", 204],
    ["GET", 304],
  ])("%s answered %d: no body bytes, whatever is written", async (method, status) => {
    const p = await pair();
    const r = new Reply(request(method as string, 1, true, p.server), owner(p.server).o);
    r.writeHead(status as number, "X", ["Content-Length", "5"]);
    expect(r.write(Buffer.from("never"))).toBe(true);
    r.end();
    const want = `HTTP/1.1 ${status} X\r\nContent-Length: 5\r\n\r\n`;
    expect(await p.read(want.length)).toBe(want);
    expect(r.keepAlive).toBe(true);
  });

  it.each([
    ["HEAD", 200, 1],
    ["GET", 204, 1],
    ["GET", 304, 0],
  ])(
    "%s answered %d without a length (HTTP/1.%d): no chunking, the connection kept",
    async (method, status, minor) => {
      const p = await pair();
      const r = new Reply(
        request(method as string, minor as number, true, p.server),
        owner(p.server).o,
      );
      r.writeHead(status as number, "X", ["X-A", "1"]);
      r.write(Buffer.from("never"));
      r.end();
      const want = `HTTP/1.1 ${status} X\r\nX-A: 1\r\n${minor === 0 ? "Connection: keep-alive\r\n" : ""}\r\n`;
      expect(await p.read(want.length)).toBe(want);
      expect(r.keepAlive).toBe(true);
    },
  );

  it("an endpoint's fields (fromPeer): hop-by-hop ones and those Connection names stay behind", async () => {
    const p = await pair();
    const r = new Reply(request("GET", 1, true, p.server), owner(p.server).o);
    r.writeHead(
      200,
      "OK",
      [
        "Connection",
        "keep-alive, X-Private",
        "Keep-Alive",
        "timeout=5",
        "X-Private",
        "s",
        "Transfer-Encoding",
        "chunked",
        "X-App",
        "a",
      ],
      true,
    );
    r.write(Buffer.from("hi"));
    r.end();
    const want =
      "HTTP/1.1 200 OK\r\nX-App: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
    expect(await p.read(want.length)).toBe(want);
  });

  it("100 Continue goes before the head, and not once the head is written", async () => {
    const p = await pair();
    const r = new Reply(request("POST", 1, true, p.server), owner(p.server).o);
    r.writeContinue();
    r.writeHead(201, "Created", ["Content-Length", "0"]);
    r.writeContinue();
    r.end();
    const want = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    expect(await p.read(want.length)).toBe(want);
  });

  it("write is false while the client does not read; onDrain is called once it does", async () => {
    const p = await pair();
    p.client.pause();
    const r = new Reply(request("GET", 1, true, p.server), owner(p.server).o);
    r.writeHead(200, "OK", []);
    // more than the kernel's buffers on both ends hold (tcp_wmem + tcp_rmem maxima: a few MB)
    const piece = Buffer.alloc(48 << 20, 0x63);
    expect(r.write(piece)).toBe(false);
    let drained = 0;
    r.onDrain(() => {
      drained++;
    });
    await sleep(50);
    expect(drained).toBe(0);
    p.client.resume();
    expect(await until(() => drained === 1, 10_000)).toBe(true);
    r.end();
    const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3000000\r\n";
    const total = head.length + piece.length + "\r\n0\r\n\r\n".length;
    expect(await until(() => p.bytes() >= total, 10_000)).toBe(true);
    await sleep(20);
    expect(drained).toBe(1);
    const out = p.received();
    expect(out.length).toBe(total);
    expect(out.startsWith(head)).toBe(true);
    expect(out.endsWith("c\r\n0\r\n\r\n")).toBe(true);
  });

  it("onDone: every listener true, once, on end; the owner told once", async () => {
    const p = await pair();
    const { o, done } = owner(p.server);
    const a = new Reply(request("GET", 1, true, p.server), o);
    const seen: boolean[] = [];
    a.onDone((f) => seen.push(f));
    a.onDone((f) => seen.push(f));
    a.onDone((f) => seen.push(f));
    a.writeHead(200, "OK", ["Content-Length", "0"]);
    expect(seen).toEqual([]);
    a.end();
    a.end();
    a.destroy();
    a.abort();
    expect(seen).toEqual([true, true, true]);
    expect(done).toEqual([a]);
    expect(a.done).toBe(true);
    expect(a.aborted).toBe(false);
    // a listener added after the end is called at once
    a.onDone((f) => seen.push(f));
    expect(seen).toEqual([true, true, true, true]);
    // the connection was not cut
    await sleep(20);
    expect(p.closed()).toBe(false);
  });

  it("onDone: false, once, on destroy mid-response; the client's connection is cut", async () => {
    const p = await pair();
    const { o, done } = owner(p.server);
    const b = new Reply(request("GET", 1, true, p.server), o);
    const seen: boolean[] = [];
    b.onDone((f) => seen.push(f));
    b.writeHead(200, "OK", []);
    b.write(Buffer.from("part"));
    b.destroy();
    b.abort();
    b.end();
    expect(seen).toEqual([false]);
    expect(done).toEqual([b]);
    expect(b.aborted).toBe(true);
    expect(b.keepAlive).toBe(false);
    b.onDone((f) => seen.push(f));
    expect(seen).toEqual([false, false]);
    expect(await until(() => p.closed())).toBe(true);
    // no last chunk went out
    expect(p.received().endsWith("0\r\n\r\n")).toBe(false);
  });

  it("onDone: false, once, on abort before anything was sent; nothing is written", async () => {
    const p = await pair();
    const { o, done } = owner(p.server);
    const c = new Reply(request("GET", 1, true, p.server), o);
    const seen: boolean[] = [];
    c.onDone((f) => seen.push(f));
    c.abort();
    c.abort();
    c.send(200, "OK", ["Content-Length", "1"], [Buffer.from("x")]);
    expect(seen).toEqual([false]);
    expect(done).toEqual([c]);
    expect(c.headersSent).toBe(true);
    await sleep(30);
    expect(p.writes()).toBe(0);
    expect(p.received()).toBe("");
  });
});
