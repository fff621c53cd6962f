/**
 * Mux sessions on loopback: our client against our server (handshake with Tinit, dispatches,
 * discards, drains, pings), raw sockets speaking Mux by hand (a client that skips Tinit, one
 * that sends the legacy Treq), and peers sending oversized frames or garbage, which are
 * disconnected without the server buffering what they send.
 */
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MuxClientSession, MuxNackError } from "./mux-client-session.js";
import { MAX_MUX_FRAME_BYTES } from "./mux-framer.js";
import { decodeMessage, encodeMessage, headerValue, type MuxMessage } from "./mux-message.js";
import { type MuxHandler, MuxServerSession } from "./mux-server-session.js";

/** Every server session the test server accepted, newest last. */
const sessions: MuxServerSession[] = [];
const aborted: string[] = [];
/** Requests whose body is "hold" wait until released here (or discarded). */
const held = new Map<string, () => void>();

const handler: MuxHandler = (req, signal) => {
  const text = req.body.toString();
  if (text.startsWith("hold")) {
    return new Promise<Buffer>((resolve, reject) => {
      held.set(text, () => resolve(Buffer.from(`released ${text}`)));
      signal.addEventListener("abort", () => {
        aborted.push(text);
        reject(new Error("aborted"));
      });
    });
  }
  if (text === "throw") return Promise.reject(new Error("handler failed"));
  return Promise.resolve(Buffer.from(`echo ${text}`));
};

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((s) => {
    sessions.push(new MuxServerSession(s, handler));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  for (const s of sessions) s.close();
  await new Promise((r) => server.close(r));
});

async function dial(): Promise<Socket> {
  const s = connect(port, "127.0.0.1");
  await once(s, "connect");
  return s;
}

async function client(opts: ConstructorParameters<typeof MuxClientSession>[1] = {}) {
  const c = new MuxClientSession(await dial(), { pingIntervalMs: 0, ...opts });
  await c.handshake();
  return c;
}

/** A raw socket that collects decoded messages. */
async function raw() {
  const s = await dial();
  // writes after the server hung up fail; that is what these tests provoke
  s.on("error", () => {});
  const got: MuxMessage[] = [];
  let buf = Buffer.alloc(0);
  s.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const n = buf.readUInt32BE(0);
      got.push(decodeMessage(buf.subarray(4, 4 + n)));
      buf = buf.subarray(4 + n);
    }
  });
  const closed = once(s, "close");
  return { s, got, closed };
}

async function until(cond: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("our client and server", () => {
  it("negotiate with the Rerr probe and Tinit, then dispatch", async () => {
    const c = await client();
    const srv = sessions.at(-1)!;
    // both sides saw the other's headers
    expect(headerValue(c.peerHeaders!, "mux-framer")?.readUInt32BE(0)).toBe(MAX_MUX_FRAME_BYTES);
    expect(headerValue(c.peerHeaders!, "tls")?.toString()).toBe("off");
    expect(headerValue(srv.peerHeaders!, "tls")?.toString()).toBe("off");
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => c.dispatch(Buffer.from(`m${i}`))),
    );
    expect(answers.map(String)).toEqual(Array.from({ length: 50 }, (_, i) => `echo m${i}`));
    await expect(c.dispatch(Buffer.from("throw"))).rejects.toThrow("handler failed");
    c.close();
  });

  it("a discarded dispatch aborts the handler, and its tag is reused after Rdiscarded", async () => {
    const c = await client();
    const ac = new AbortController();
    const p = c.dispatch(Buffer.from("hold-d1"), ac.signal);
    await until(() => held.has("hold-d1"));
    ac.abort(new Error("released"));
    await expect(p).rejects.toThrow("released");
    await until(() => aborted.includes("hold-d1"));
    // the server's late answer is dropped; the session goes on
    held.get("hold-d1")!();
    await until(() => c.outstanding === 0);
    expect(String(await c.dispatch(Buffer.from("after")))).toBe("echo after");
    c.close();
  });

  it("a drain stops new dispatches and ends the session once the outstanding one answers", async () => {
    let drained = false;
    const c = await client({ onDrain: () => (drained = true) });
    const srv = sessions.at(-1)!;
    const p = c.dispatch(Buffer.from("hold-drain"));
    await until(() => held.has("hold-drain"));
    srv.drain();
    await until(() => drained);
    expect(c.draining).toBe(true);
    await expect(c.dispatch(Buffer.from("new"))).rejects.toThrow(MuxNackError);
    held.get("hold-drain")!();
    expect(String(await p)).toBe("released hold-drain");
    await until(() => c.closed);
  });

  it("pings are answered; an unanswered ping closes the client's session", async () => {
    const c = await client({ pingIntervalMs: 20, pingTimeoutMs: 500 });
    await new Promise((r) => setTimeout(r, 150));
    expect(c.closed).toBe(false);
    c.close();

    // a server that negotiates but never answers pings
    let mute: Socket | undefined;
    const silent = createServer((s) => {
      mute = s;
      s.once("data", () => s.write(encodeMessage({ type: "Rerr", tag: 1, why: "no such thing" })));
    });
    silent.listen(0, "127.0.0.1");
    await once(silent, "listening");
    try {
      const sock = connect((silent.address() as { port: number }).port, "127.0.0.1");
      await once(sock, "connect");
      let cause: Error | undefined;
      const c2 = new MuxClientSession(sock, {
        pingIntervalMs: 20,
        pingTimeoutMs: 100,
        onClose: (e) => (cause = e),
      });
      // a server that does not echo the probe: a session without headers
      await c2.handshake();
      expect(c2.peerHeaders).toBeUndefined();
      await until(() => c2.closed);
      expect(cause?.message).toMatch(/no answer to a Mux ping within 100 ms/);
    } finally {
      mute?.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});

describe("raw peers", () => {
  it("a client that skips Tinit is served at version 1", async () => {
    const r = await raw();
    r.s.write(
      encodeMessage({
        type: "Tdispatch",
        tag: 2,
        contexts: [[Buffer.from("ctx"), Buffer.from("v")]],
        dst: "/s",
        dtab: [["/a", "/b"]],
        body: Buffer.from("first"),
      }),
    );
    r.s.write(encodeMessage({ type: "Tping", tag: 1 }));
    await until(() => r.got.length >= 2);
    // the ping is answered at once, the dispatch when its handler settles
    expect(r.got).toHaveLength(2);
    expect(r.got).toContainEqual({
      type: "Rdispatch",
      tag: 2,
      status: 0,
      contexts: [],
      body: Buffer.from("echo first"),
    });
    expect(r.got).toContainEqual({ type: "Rping", tag: 1 });
    r.s.destroy();
  });

  it("the legacy Treq is answered with Rreq; a refused Tinit version with Rerr", async () => {
    const r = await raw();
    r.s.write(encodeMessage({ type: "Treq", tag: 3, body: Buffer.from("old") }));
    await until(() => r.got.length === 1);
    expect(r.got[0]).toEqual({ type: "Rreq", tag: 3, status: 0, body: Buffer.from("echo old") });
    r.s.destroy();

    const v = await raw();
    v.s.write(encodeMessage({ type: "Rerr", tag: 1, why: "tinit check" }));
    v.s.write(encodeMessage({ type: "Tinit", tag: 1, version: 2, headers: [] }));
    await v.closed;
    expect(v.got).toEqual([
      { type: "Rerr", tag: 1, why: "tinit check" },
      { type: "Rerr", tag: 1, why: "Unsupported Mux version: 2" },
    ]);
  });

  it("a frame over 16 MiB is refused from its size prefix: the peer is disconnected", async () => {
    const r = await raw();
    const before = sessions.length;
    r.s.write(Buffer.from([0x01, 0x00, 0x00, 0x01, 0x02, 0, 0, 2]));
    await until(() => sessions.length > before || r.s.destroyed);
    // keep sending: the server must not be buffering any of it
    const srv = sessions.at(-1)!;
    for (let i = 0; i < 16 && !r.s.destroyed; i++) r.s.write(Buffer.alloc(64 * 1024));
    await r.closed;
    expect(srv.closed).toBe(true);
    expect(srv.bufferedBytes).toBeLessThan(64);
  });

  it("garbage is disconnected: an HTTP request, an unknown type, a short frame", async () => {
    for (const junk of [
      Buffer.from("GET / HTTP/1.1\r\nHost: namerd\r\n\r\n"),
      encodeMessage({ type: "Tping", tag: 1 }).fill(0x33, 4, 5),
      Buffer.from([0, 0, 0, 1, 0]),
    ]) {
      const r = await raw();
      r.s.write(junk);
      await r.closed;
      expect(sessions.at(-1)!.closed).toBe(true);
      expect(sessions.at(-1)!.bufferedBytes).toBeLessThan(64);
    }
  });

  it("a dispatch reusing a tag still in use ends the session", async () => {
    const r = await raw();
    const d = (tag: number) =>
      encodeMessage({
        type: "Tdispatch",
        tag,
        contexts: [],
        dst: "",
        dtab: [],
        body: Buffer.from("hold-dup"),
      });
    r.s.write(d(5));
    await until(() => held.has("hold-dup"));
    r.s.write(d(5));
    await r.closed;
    await until(() => aborted.includes("hold-dup"));
  });
});
