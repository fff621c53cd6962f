/**
 * Upstream connections follow the replica set (`RelayUpstreams.retain`, driven by the router's
 * endpoint changes), on loopback with real node:http2 backends and clients: the connection to
 * an endpoint that left every replica set is closed gracefully (no new streams, the in-flight
 * ones finish, then GOAWAY and close), at once when nothing is in flight; the endpoints still
 * in the set keep theirs; an endpoint that comes back gets a new connection. Also: a plain
 * forward (a classifier that never retries) streams the response through without holding it.
 */
import type * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import {
  type H2Backend,
  h2Client,
  type SimpleResponse,
  simpleRequest,
  startH2Backend,
  startStaticProxy,
  waitFor,
} from "../dataplane/test-support.js";
import { nonRetryable5XX } from "../router/response-classifier.js";
import { loopbackAddr, type RelayRouterRig, startRelayRouterRig } from "./relay-router-rig.js";
import { RelayUpstreams } from "./upstream.js";

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c().catch(() => {});
});

/** A backend answering `ok <port>`, except `/hold`: "part1 " at once, "part2" on `release()`. */
interface HoldingBackend extends H2Backend {
  calls: number;
  held: number;
  release(): void;
}

async function holdingBackend(): Promise<HoldingBackend> {
  const waiting: http2.ServerHttp2Stream[] = [];
  const state = { calls: 0 };
  const b = await startH2Backend((stream, headers) => {
    state.calls++;
    stream.respond({ ":status": 200 });
    if (headers[":path"] === "/hold") {
      stream.write("part1 ");
      waiting.push(stream);
      return;
    }
    stream.end(`ok ${b.port}`);
  });
  open.push(() => b.close());
  return Object.defineProperties(b, {
    calls: { get: () => state.calls },
    held: { get: () => waiting.length },
    release: {
      value: () => {
        for (const s of waiting.splice(0)) s.end("part2");
      },
    },
  }) as HoldingBackend;
}

async function rig(ports: number[]): Promise<RelayRouterRig> {
  const r = await startRelayRouterRig(ports, { classifier: nonRetryable5XX });
  open.push(r.close);
  return r;
}

const get = (path: string) => ({ ":method": "GET", ":path": path, ":authority": "svc" });

describe("relay: upstream connections follow the replica set", () => {
  it("endpoints A,B → B: A's connection closes after its in-flight request completes, B's stays", async () => {
    const a = await holdingBackend();
    const b = await holdingBackend();
    const r = await rig([a.port, b.port]);
    // one held request on each endpoint (round robin)
    const pending: Promise<SimpleResponse>[] = [
      simpleRequest(r.session, get("/hold")),
      simpleRequest(r.session, get("/hold")),
    ];
    await waitFor(() => a.held === 1 && b.held === 1, 3000, "a request held on each endpoint");
    expect(a.sessions.size).toBe(1);
    expect(b.sessions.size).toBe(1);

    r.addrs.update(loopbackAddr([b.port]));
    expect(r.upstreams.ups.has(`127.0.0.1:${a.port}`)).toBe(false);
    expect(r.upstreams.draining.size).toBe(1);
    // A's connection is draining, not gone: its request is still in flight
    await new Promise((res) => setTimeout(res, 100));
    expect(a.sessions.size).toBe(1);
    // new requests go to B only (on B's connection)
    for (let i = 0; i < 4; i++) {
      const res = await simpleRequest(r.session, get("/x"));
      expect(res.body.toString()).toBe(`ok ${b.port}`);
    }
    expect(a.calls).toBe(1);

    a.release();
    b.release();
    const done = await Promise.all(pending);
    for (const res of done) {
      expect(res.headers[":status"]).toBe(200);
      expect(res.body.toString()).toBe("part1 part2");
    }
    // the in-flight request is over: A's connection is closed (by the relay), B's stays
    await waitFor(() => a.sessions.size === 0, 3000, "A's upstream connection to close");
    expect(r.upstreams.draining.size).toBe(0);
    expect(b.sessions.size).toBe(1);
    const again = await simpleRequest(r.session, get("/x"));
    expect(again.body.toString()).toBe(`ok ${b.port}`);
    expect(b.sessions.size).toBe(1);
  });

  it("an endpoint that leaves with nothing in flight is closed at once; back in the set, a new connection", async () => {
    const a = await holdingBackend();
    const b = await holdingBackend();
    const r = await rig([a.port, b.port]);
    for (let i = 0; i < 4; i++) {
      const res = await simpleRequest(r.session, get("/x"));
      expect(res.headers[":status"]).toBe(200);
    }
    expect(a.sessions.size).toBe(1);
    expect(b.sessions.size).toBe(1);
    r.addrs.update(loopbackAddr([b.port]));
    await waitFor(() => a.sessions.size === 0, 3000, "A's idle connection to close");
    expect(b.sessions.size).toBe(1);
    r.addrs.update(loopbackAddr([a.port, b.port]));
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++)
      seen.add((await simpleRequest(r.session, get("/x"))).body.toString());
    expect(seen).toEqual(new Set([`ok ${a.port}`, `ok ${b.port}`]));
    expect(a.sessions.size).toBe(1);
    expect(b.sessions.size).toBe(1);
  });

  it("50 rounds of churn under load: every request answered, departed endpoints' connections closed", async () => {
    const backends = [await holdingBackend(), await holdingBackend(), await holdingBackend()];
    const ports = backends.map((x) => x.port);
    const r = await rig(ports);
    const deadline = Date.now() + 20_000;
    let failures = 0;
    for (let round = 0; round < 50 && Date.now() < deadline; round++) {
      // a different pair each round (0,1 / 1,2 / 2,0)
      const inSet = [ports[round % 3] as number, ports[(round + 1) % 3] as number];
      r.addrs.update(loopbackAddr(inSet));
      const res = await Promise.all(
        Array.from({ length: 6 }, () => simpleRequest(r.session, get("/x"))),
      );
      for (const x of res) if (Number(x.headers[":status"]) !== 200) failures++;
      for (const x of res) expect(inSet.map((p) => `ok ${p}`)).toContain(x.body.toString());
    }
    expect(failures).toBe(0);
    // the endpoint left out of the last pair has no connection
    const out = backends.find((x) => !r.upstreams.ups.has(`127.0.0.1:${x.port}`));
    expect(out).toBeDefined();
    await waitFor(() => out?.sessions.size === 0, 3000, "the departed endpoint's connection");
    expect(r.upstreams.draining.size).toBe(0);
  });
});

describe("relay: RelayUpstreams without a router", () => {
  it("an attempt to an endpoint no longer retained is served on a connection closed after it", async () => {
    const a = await holdingBackend();
    const upstreams = new RelayUpstreams();
    await using proxy = await startStaticProxy(a.endpoint, { upstreams });
    upstreams.retain([]);
    await using client = h2Client(proxy.port);
    for (let i = 0; i < 3; i++) {
      const res = await simpleRequest(client, get("/x"));
      expect(res.body.toString()).toBe(`ok ${a.port}`);
      await waitFor(() => a.sessions.size === 0, 3000, "the one-off connection to close");
    }
    expect(upstreams.ups.size).toBe(0);
    expect(upstreams.draining.size).toBe(0);
  });
});

describe("relay: a plain forward streams through", () => {
  it("without retries the response is not held: its first bytes arrive while the upstream holds the rest", async () => {
    const a = await holdingBackend();
    // a classification timeout the test would notice, were the response held
    const r = await startRelayRouterRig([a.port], {
      classifier: nonRetryable5XX,
      policy: { classificationTimeoutMs: 10_000 },
    });
    open.push(r.close);
    const req = r.session.request(get("/hold"), { endStream: true });
    req.on("error", () => {});
    const first = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no response bytes within 2 s")), 2000);
      req.once("data", (c: Buffer) => {
        clearTimeout(t);
        resolve(c.toString());
      });
    });
    expect(first).toBe("part1 ");
    expect(a.held).toBe(1);
    a.release();
    const rest = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.once("end", () => resolve(Buffer.concat(chunks).toString()));
    });
    expect(rest).toBe("part2");
  });
});
