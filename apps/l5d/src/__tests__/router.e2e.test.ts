import { connect } from "node:http2";
/**
 * The router end to end on loopback: real l5d daemons (in-process), real gRPC servers and
 * clients, real HTTP/2 sockets.
 */
import { callGreeting, formatRpcError, startHelloWorldServer } from "@l5d/helloworld";
import { afterEach, describe, expect, it } from "vitest";
import { EMPTY_GRPC_FRAME, freePort, h2request, recorder, startTestDaemon } from "./support.js";

const cleanup: Array<() => PromiseLike<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function world(text = "world", podIp?: string) {
  const s = await startHelloWorldServer({ addr: "127.0.0.1:0", text, ...(podIp ? { podIp } : {}) });
  cleanup.push(() => s.close());
  return s;
}

async function daemon(dtab: string, extra = "") {
  const [adminPort, port] = [await freePort(), await freePort()];
  const d = await startTestDaemon(`
admin: {port: ${adminPort}}
routers:
- protocol: h2
  label: outgoing
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: |
    ${dtab.split("\n").join("\n    ")}
  servers: [{port: ${port}}]
${extra}`);
  cleanup.push(() => d[Symbol.asyncDispose]());
  return d;
}

describe("h2 router", () => {
  it("routes a gRPC call through the dtab and counts it under Linkerd's metric names", async () => {
    const w = await world();
    const d = await daemon(`/svc => /$/inet/127.0.0.1/${w.port};`);
    const msg = await callGreeting(d.addr("outgoing"), { service: "World" });
    expect(msg).toBe("world!");
    const m = await d.metrics();
    const port = d.addr("outgoing").split(":")[1];
    expect(m[`rt/outgoing/server/127.0.0.1/${port}/requests`]).toBe(1);
    expect(m[`rt/outgoing/server/127.0.0.1/${port}/success`]).toBe(1);
    expect(m["rt/outgoing/service/svc/helloworld.World/requests"]).toBe(1);
    expect(m[`rt/outgoing/client/$/inet/127.0.0.1/${w.port}/requests`]).toBe(1);
    expect(m[`rt/outgoing/client/$/inet/127.0.0.1/${w.port}/request_latency_ms.count`]).toBe(1);
  });

  it("sets l5d-dst-service, l5d-dst-client, l5d-dst-residual, l5d-reqid and forwards l5d-ctx-dtab, not l5d-dtab", async () => {
    const r = await recorder(cleanup);
    const d = await daemon(`/svc => /$/inet/127.0.0.1/${r.port}/extra;`);
    const res = await h2request(
      d.addr("outgoing"),
      {
        ":method": "POST",
        ":path": "/helloworld.World/Greeting",
        "content-type": "application/grpc",
        te: "trailers",
        "l5d-dtab": "/unused => /nowhere",
        "l5d-ctx-foo": "abc",
      },
      EMPTY_GRPC_FRAME,
    );
    expect(res.trailers["grpc-status"]).toBe("0");
    const h = r.seen[0]!;
    expect(h["l5d-dst-service"]).toBe("/svc/helloworld.World");
    expect(h["l5d-dst-client"]).toBe(`/$/inet/127.0.0.1/${r.port}`);
    expect(h["l5d-dst-residual"]).toBe("/extra/helloworld.World");
    expect(h["l5d-reqid"]).toMatch(/^[0-9a-f]{16}$/);
    expect(h["l5d-ctx-dtab"]).toBe("/unused=>/nowhere");
    expect(h["l5d-ctx-foo"]).toBe("abc");
    expect(h["l5d-dtab"]).toBeUndefined();
    expect(h.te).toBe("trailers");
  });

  it("honours a per-request l5d-dtab override (later entries win) for that request only", async () => {
    const v1 = await world("world");
    const v2 = await world("earth");
    const d = await daemon(`/svc => /$/inet/127.0.0.1/${v1.port};`);
    const addr = d.addr("outgoing");
    expect(await callGreeting(addr, { service: "World" })).toBe("world!");
    expect(
      await callGreeting(addr, {
        service: "World",
        metadata: { "l5d-dtab": `/svc => /$/inet/127.0.0.1/${v2.port}` },
      }),
    ).toBe("earth!");
    expect(await callGreeting(addr, { service: "World" })).toBe("world!");
  });

  it("answers an unroutable gRPC call with UNAVAILABLE naming the router, the name and why", async () => {
    const d = await daemon("/other => /$/inet/127.0.0.1/1;");
    const err = await callGreeting(d.addr("outgoing"), { service: "World" }).catch(
      (e: unknown) => e,
    );
    expect(formatRpcError(err)).toBe(
      "rpc error: code = Unavailable desc = [outgoing] no route: /svc/helloworld.World delegated to ~ (no dentry matched)",
    );
  });

  it("answers a bad l5d-dtab header with INVALID_ARGUMENT and the parse error, and keeps serving", async () => {
    const w = await world();
    const d = await daemon(`/svc => /$/inet/127.0.0.1/${w.port};`);
    const addr = d.addr("outgoing");
    const err = await callGreeting(addr, {
      service: "World",
      metadata: { "l5d-dtab": "i am not a dtab" },
    }).catch((e: unknown) => e);
    expect(formatRpcError(err)).toBe(
      "rpc error: code = InvalidArgument desc = [outgoing] invalid l5d-dtab header: '/' expected but 'i' found at '[i] am not a dtab'",
    );
    expect(await callGreeting(addr, { service: "World" })).toBe("world!");
  });

  it("refuses override bombs cheaply (INVALID_ARGUMENT) while another client keeps a p99 under 50 ms", async () => {
    const w = await world();
    const d = await daemon(`/svc => /$/inet/127.0.0.1/${w.port};`);
    const addr = d.addr("outgoing");
    const bombs = [
      // a union doubles at every level: 2^100 lookups without a budget (one 19-byte header held
      // the event loop and grew the process past 12 GB)
      "/svc => /svc & /svc",
      "/svc => /svc/a & /svc/b & /svc/c; /svc/a => /svc; /svc/b => /svc; /svc/c => /svc",
      // alternatives fan out the same way
      "/svc => /svc | /svc",
      // no fan-out, a chain past the depth limit: the binding fails it (by depth)
      "/svc => /svc/x",
      // more dentries than an override may carry
      Array.from({ length: 101 }, (_, i) => `/x${i} => /svc`).join(";"),
    ];
    const expected = [
      /the l5d-dtab override cannot be bound: \/svc\/helloworld.World: its delegation takes more than 250 lookups/,
      /the l5d-dtab override cannot be bound: .*more than 250 lookups/,
      /the l5d-dtab override cannot be bound: .*more than 250 lookups/,
      /the l5d-dtab override cannot be bound: \/svc\/helloworld.World: Max recursion level: 100 reached in Namer lookup/,
      /invalid l5d-dtab header: 102 dentries, more than the 100 an override may carry/,
    ];
    // the well-behaved client: one gRPC call at a time on one connection (warmed up) for as
    // long as the bombs last
    const session = connect(`http://${addr}`);
    cleanup.push(async () => session.close());
    /** One gRPC call on `session`; its grpc-status and grpc-message (trailers-only or not). */
    const grpc = (
      session: ReturnType<typeof connect>,
      extra: Record<string, string> = {},
    ): Promise<{ status: string | undefined; message: string }> =>
      new Promise((resolve, reject) => {
        const req = session.request({
          ":method": "POST",
          ":path": "/helloworld.World/Greeting",
          "content-type": "application/grpc",
          te: "trailers",
          ...extra,
        });
        let status: string | undefined;
        let message = "";
        const read = (h: Record<string, unknown>) => {
          if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
          if (h["grpc-message"] !== undefined)
            message = decodeURIComponent(String(h["grpc-message"]));
        };
        req.on("response", read);
        req.on("trailers", read);
        req.on("error", reject);
        req.on("close", () => resolve({ status, message }));
        req.resume();
        req.end(EMPTY_GRPC_FRAME);
      });
    const call = async (): Promise<string | undefined> => (await grpc(session)).status;
    const attacker = connect(`http://${addr}`);
    cleanup.push(async () => attacker.close());
    expect(await call()).toBe("0");
    let bombing = true;
    const latencies: number[] = [];
    const probe = (async () => {
      while (bombing && latencies.length < 5_000) {
        const t0 = performance.now();
        expect(await call()).toBe("0");
        latencies.push(performance.now() - t0);
      }
    })();
    // at least 5 rounds, and on until the probe has 300 samples (bounded: 60 rounds), so that
    // its p99 is a percentile and not the single slowest call of a short run
    let rounds = 0;
    try {
      for (let round = 0; round < 60 && (round < 5 || latencies.length < 300); round++) {
        rounds++;
        for (const [i, bomb] of bombs.entries()) {
          // a new bomb each round: no cached binding answers it
          const r = await grpc(attacker, { "l5d-dtab": `${bomb}; /round${round} => /nowhere` });
          expect(r.status).toBe("3"); // INVALID_ARGUMENT
          expect(r.message).toMatch(/^\[outgoing\] /);
          expect(r.message).toMatch(expected[i] as RegExp);
        }
      }
    } finally {
      bombing = false;
      await probe;
    }
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)];
    console.log(`probe during override bombs: n=${latencies.length} p99=${p99?.toFixed(1)} ms`);
    expect(latencies.length).toBeGreaterThanOrEqual(5);
    expect(p99).toBeLessThan(50);
    const m = await d.metrics();
    expect(m["rt/outgoing/server/127.0.0.1/" + addr.split(":")[1] + "/requests"]).toBeGreaterThan(
      20,
    );
    // every request that carried an override is counted (the 102-dentry ones fail before: 4 a round)
    expect(m["rt/outgoing/dtab_overrides"]).toBe(4 * rounds);
  });

  it("answers a non-gRPC unroutable request with 502 and an l5d-err header", async () => {
    const d = await daemon("/other => /$/inet/127.0.0.1/1;");
    const res = await h2request(d.addr("outgoing"), { ":method": "GET", ":path": "/hello/there" });
    expect(res.headers[":status"]).toBe(502);
    expect(decodeURIComponent(String(res.headers["l5d-err"]))).toContain("no route: /svc/hello");
    expect(res.body.toString()).toContain("no route: /svc/hello");
  });

  it("explains an empty endpoint set and a dead endpoint without dying", async () => {
    const dead = await freePort();
    const d = await daemon(`/svc => /$/inet/127.0.0.1/${dead};`);
    const err = await callGreeting(d.addr("outgoing"), { service: "World" }).catch(
      (e: unknown) => e,
    );
    expect(formatRpcError(err)).toMatch(/^rpc error: code = Unavailable desc = /);
    const w = await world();
    // the daemon is still up and routes other names
    const ok = await callGreeting(d.addr("outgoing"), {
      service: "World",
      metadata: { "l5d-dtab": `/svc => /$/inet/127.0.0.1/${w.port}` },
    });
    expect(ok).toBe("world!");
  });

  it("serves /delegator.json that agrees with routing", async () => {
    const w = await world();
    const d = await daemon(`/srv => /$/inet/127.0.0.1/${w.port};\n/svc => /srv;`);
    const res = await fetch(
      `${d.adminUrl}/delegator.json?namespace=outgoing&path=/svc/helloworld.World`,
    );
    expect(res.status).toBe(200);
    const j = (await res.json()) as Record<string, unknown>;
    expect(JSON.stringify(j)).toContain(`"id":"/$/inet/127.0.0.1/${w.port}"`);
    const bad = await fetch(`${d.adminUrl}/delegator.json?namespace=outgoing&path=nope`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("Invalid path: '/' expected but 'n' found at '[n]ope'");
  });
});

describe("h2 loop protection (maxCallDepth and Via)", () => {
  it("a dtab that routes the router to itself is refused after maxCallDepth hops, not looped forever", async () => {
    const admin = await freePort();
    const port = await freePort();
    await using d = await startTestDaemon(
      `admin:\n  port: ${admin}\nrouters:\n- protocol: h2\n  maxCallDepth: 3\n  dtab: /svc => /$/inet/127.0.0.1/${port}\n  servers:\n  - port: ${port}\n`,
    );
    const r = await h2request(`127.0.0.1:${port}`, {
      ":method": "GET",
      ":path": "/",
      ":authority": "loop",
    });
    expect(r.headers[":status"]).toBe(400);
    expect(decodeURIComponent(String(r.headers["l5d-err"]).replace(/\+/g, " "))).toContain(
      "Maximum number of calls (3) has been exceeded",
    );
    expect((await d.metrics())[`rt/h2/server/127.0.0.1/${port}/requests`]).toBe(5);
  });
});
