/**
 * Router retries on the frame-level relay (the relay's exchange behind `H2Router`'s retry
 * loop), on loopback with real node:http2 clients and backends: retryable gRPC statuses
 * (`io.l5d.h2.grpc.retryableStatusCodes`) are retried with the request body replayed, the held
 * response is committed intact (headers, body, trailers), a response larger than the buffer is
 * streamed through, the total deadline spans attempts, a client reset cancels the attempt, and
 * a refused endpoint is requeued.
 */
import * as http2 from "node:http2";
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  grpcFrame,
  type H2Backend,
  payload,
  SVC_CALL,
  startH2Backend,
  waitFor,
} from "../dataplane/test-support.js";
import type { ServicePolicy } from "../router/service-policy.js";
import {
  type RelayRouterRig,
  RIG_CLIENT_ID,
  retryableStatusCodes,
  startRelayRouterRig,
} from "./relay-router-rig.js";

const CLASSIFIER = retryableStatusCodes([8, 14]);
const CLIENT_ID = RIG_CLIENT_ID;

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c().catch(() => {});
});

async function rig(ports: number[], policy: Partial<ServicePolicy> = {}): Promise<RelayRouterRig> {
  const r = await startRelayRouterRig(ports, { classifier: CLASSIFIER, policy });
  open.push(r.close);
  return r;
}

async function backend(
  handler: (stream: http2.ServerHttp2Stream, n: number, headers: http2.IncomingHttpHeaders) => void,
): Promise<H2Backend & { calls: number }> {
  const state = { calls: 0 };
  const b = await startH2Backend((stream, headers) => {
    state.calls++;
    handler(stream, state.calls, headers);
  });
  open.push(() => b.close());
  return Object.defineProperty(b, "calls", { get: () => state.calls }) as H2Backend & {
    calls: number;
  };
}

/** Reads the whole request body, then `then(body)`. */
function readBody(stream: http2.ServerHttp2Stream, then: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  stream.once("end", () => then(Buffer.concat(chunks)));
}

/** Answers a gRPC response: headers, `body`, then trailers with `grpc-status`. */
function answer(
  stream: http2.ServerHttp2Stream,
  grpcStatus: number,
  body: Buffer,
  extra: http2.OutgoingHttpHeaders = {},
): void {
  if (stream.destroyed) return;
  stream.respond(
    { ":status": 200, "content-type": "application/grpc", "x-backend": "yes", ...extra },
    { waitForTrailers: true },
  );
  stream.once("wantTrailers", () =>
    stream.sendTrailers({ "grpc-status": String(grpcStatus), "x-trailer": "kept" }),
  );
  stream.end(body);
}

interface Answer {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders | undefined;
  body: Buffer;
  rst: number | undefined;
  grpcStatus: number | undefined;
  /** ms from the request to the response headers. */
  headersAtMs: number;
}

function call(
  r: RelayRouterRig,
  body: Buffer,
  extra: http2.OutgoingHttpHeaders = {},
): Promise<Answer> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = r.session.request({
      ...SVC_CALL,
      ...extra,
    });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    let headersAtMs = -1;
    const chunks: Buffer[] = [];
    req.on("response", (h) => {
      headers = h;
      headersAtMs = performance.now() - t0;
    });
    req.on("trailers", (t) => {
      trailers = t;
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => {});
    req.on("close", () => {
      const gs = trailers?.["grpc-status"] ?? headers["grpc-status"];
      resolve({
        headers,
        trailers,
        body: Buffer.concat(chunks),
        rst: req.rstCode,
        grpcStatus: gs === undefined ? undefined : Number(gs),
        headersAtMs,
      });
    });
    req.end(body);
  });
}

const counter = (r: RelayRouterRig, name: string) => r.metrics.counter(name).value;
const RETRIES = "rt/rt/service/svc/svc/retries/total";

describe("router retries on the frame-level relay", () => {
  it("retryable statuses are retried with the body replayed; the held success is committed intact", async () => {
    const seen: Buffer[] = [];
    const b = await backend((stream, n) =>
      readBody(stream, (body) => {
        seen.push(body);
        // a response body, then a retryable status in the trailers (8, then 14), then success
        if (n === 1) answer(stream, 8, grpcFrame(Buffer.from("discarded one")));
        else if (n === 2) answer(stream, 14, grpcFrame(Buffer.from("discarded two")));
        else answer(stream, 0, grpcFrame(body), { "x-attempt": String(n) });
      }),
    );
    const r = await rig([b.port]);
    const body = grpcFrame(payload(12_000, 9));
    const a = await call(r, body);
    expect(a.grpcStatus).toBe(0);
    expect(a.headers["x-attempt"]).toBe("3");
    expect(a.headers["x-backend"]).toBe("yes");
    expect(a.headers["l5d-retryable"]).toBeUndefined();
    expect(a.trailers?.["x-trailer"]).toBe("kept");
    expect(a.body.equals(grpcFrame(body))).toBe(true);
    expect(seen).toHaveLength(3);
    for (const s of seen) expect(s.equals(body)).toBe(true);
    expect(counter(r, RETRIES)).toBe(2);
    await waitFor(() => r.relay.streams === 0, 2000, "relay streams to close");
  });

  it("discarded responses give their window back: 40 discarded 8 KB bodies on one connection", async () => {
    const b = await backend((stream, n) =>
      readBody(stream, (body) => {
        if (n % 2 === 1) answer(stream, 14, grpcFrame(payload(8_000, n)));
        else answer(stream, 0, grpcFrame(body));
      }),
    );
    const r = await rig([b.port]);
    const t0 = performance.now();
    for (let i = 0; i < 40; i++) {
      const a = await call(r, grpcFrame(Buffer.from(`m${i}`)));
      expect(a.grpcStatus).toBe(0);
      expect(a.body.equals(grpcFrame(grpcFrame(Buffer.from(`m${i}`))))).toBe(true);
    }
    // 320 KB discarded: a leaked connection window (65,535) would have stalled by the 9th call
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(b.calls).toBe(80);
    expect(counter(r, RETRIES)).toBe(40);
    await waitFor(() => r.relay.streams === 0, 2000, "relay streams to close");
  });

  it("REFUSED_STREAM on an attempt is requeued (not a retry), the body replayed", async () => {
    const b = await backend((stream, n) => {
      if (n === 1) {
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      readBody(stream, (body) => answer(stream, 0, body));
    });
    const r = await rig([b.port]);
    const body = grpcFrame(payload(3_000, 2));
    const a = await call(r, body);
    expect(a.grpcStatus).toBe(0);
    expect(a.body.equals(body)).toBe(true);
    expect(b.calls).toBe(2);
    expect(counter(r, `rt/rt/client/${CLIENT_ID}/retries/requeues`)).toBe(1);
    expect(counter(r, RETRIES)).toBe(0);
  });

  it("a non-retryable failure is committed at once, with its body and trailers", async () => {
    const b = await backend((stream) =>
      readBody(stream, () => answer(stream, 13, grpcFrame(Buffer.from("internal")))),
    );
    const r = await rig([b.port]);
    const a = await call(r, grpcFrame(Buffer.from("x")));
    expect(a.grpcStatus).toBe(13);
    expect(a.body.equals(grpcFrame(Buffer.from("internal")))).toBe(true);
    expect(a.trailers?.["x-trailer"]).toBe("kept");
    expect(b.calls).toBe(1);
    expect(counter(r, RETRIES)).toBe(0);
  });

  it("when retries run out, the last retryable response is committed with l5d-retryable", async () => {
    const b = await backend((stream) =>
      readBody(stream, () => answer(stream, 14, grpcFrame(Buffer.from("busy")))),
    );
    const r = await rig([b.port], {
      retries: {
        budget: { minRetriesPerSec: 0, percentCanRetry: 0, ttlSecs: 10 },
        backoff: { kind: "constant", ms: 0 },
      },
    });
    const a = await call(r, grpcFrame(Buffer.from("x")));
    expect(a.grpcStatus).toBe(14);
    expect(a.headers["l5d-retryable"]).toBe("true");
    expect(a.body.equals(grpcFrame(Buffer.from("busy")))).toBe(true);
    expect(b.calls).toBe(1);
  });

  it("a response larger than the buffer streams through and is not retried", async () => {
    const big = payload(1_000_000, 3);
    const b = await backend((stream) => readBody(stream, () => answer(stream, 14, grpcFrame(big))));
    const r = await rig([b.port], {
      retryBufferSize: { requestBytes: 16_383, responseBytes: 16_383 },
    });
    const a = await call(r, grpcFrame(Buffer.from("x")));
    expect(a.grpcStatus).toBe(14);
    expect(a.body.equals(grpcFrame(big))).toBe(true);
    expect(a.trailers?.["x-trailer"]).toBe("kept");
    expect(b.calls).toBe(1);
    expect(counter(r, RETRIES)).toBe(0);
    await waitFor(() => r.relay.streams === 0, 2000, "relay streams to close");
  });

  it("a slow response is streamed after classificationTimeoutMs (headers do not wait for the end)", async () => {
    const b = await backend((stream) =>
      readBody(stream, () => {
        stream.respond(
          { ":status": 200, "content-type": "application/grpc" },
          { waitForTrailers: true },
        );
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "14" }));
        stream.write(grpcFrame(Buffer.from("first")));
        setTimeout(() => stream.end(grpcFrame(Buffer.from("second"))), 300);
      }),
    );
    const r = await rig([b.port], { classificationTimeoutMs: 30 });
    const a = await call(r, grpcFrame(Buffer.from("x")));
    expect(a.headersAtMs).toBeLessThan(250);
    expect(a.grpcStatus).toBe(14);
    expect(
      a.body.equals(
        Buffer.concat([grpcFrame(Buffer.from("first")), grpcFrame(Buffer.from("second"))]),
      ),
    ).toBe(true);
    expect(b.calls).toBe(1);
  });

  it("a request body larger than the request buffer is not replayed", async () => {
    const b = await backend((stream) =>
      readBody(stream, () => answer(stream, 14, grpcFrame(Buffer.from("busy")))),
    );
    const r = await rig([b.port], {
      retryBufferSize: { requestBytes: 1000, responseBytes: 16_383 },
    });
    const a = await call(r, grpcFrame(payload(5000)));
    expect(a.grpcStatus).toBe(14);
    expect(b.calls).toBe(1);
    expect(counter(r, RETRIES)).toBe(0);
  });

  it("the total deadline spans attempts: DEADLINE_EXCEEDED after several slow retryable answers", async () => {
    const b = await backend((stream) =>
      readBody(stream, () => setTimeout(() => answer(stream, 14, Buffer.alloc(0)), 60)),
    );
    const r = await rig([b.port], { totalTimeoutMs: 250 });
    const t0 = performance.now();
    const a = await call(r, grpcFrame(Buffer.from("x")));
    const ms = performance.now() - t0;
    expect(a.grpcStatus).toBe(4);
    expect(decodeURIComponent(String(a.headers["l5d-err"]))).toContain("deadline");
    expect(ms).toBeGreaterThanOrEqual(240);
    expect(ms).toBeLessThan(1000);
    expect(b.calls).toBeGreaterThanOrEqual(3);
    expect(b.calls).toBeLessThanOrEqual(5);
    await waitFor(() => r.relay.streams === 0, 2000, "relay streams to close");
  });

  it("a refused endpoint is requeued to the other one; a client reset cancels the attempt in flight", async () => {
    const dead = createServer();
    await new Promise<void>((res) => dead.listen(0, "127.0.0.1", () => res()));
    const deadPort = (dead.address() as { port: number }).port;
    await new Promise<void>((res) => dead.close(() => res()));
    let cancelled = 0;
    const b = await backend((stream, _n, headers) => {
      if (headers["x-hang"] !== undefined) {
        stream.once("close", () => {
          if (stream.rstCode === http2.constants.NGHTTP2_CANCEL) cancelled++;
        });
        return;
      }
      readBody(stream, (body) => answer(stream, 0, body));
    });
    const r = await rig([deadPort, b.port]);
    for (let i = 0; i < 6; i++) {
      const a = await call(r, grpcFrame(Buffer.from(`m${i}`)));
      expect(a.grpcStatus).toBe(0);
      expect(a.body.equals(grpcFrame(Buffer.from(`m${i}`)))).toBe(true);
    }
    expect(counter(r, `rt/rt/client/${CLIENT_ID}/retries/requeues`)).toBeGreaterThan(0);
    // the client gives up while the attempt is held: the upstream stream gets CANCEL
    const req = r.session.request({
      ":method": "POST",
      ":path": "/test.Svc/Call",
      ":authority": "svc",
      "content-type": "application/grpc",
      "x-hang": "1",
    });
    req.on("error", () => {});
    req.end(grpcFrame(Buffer.from("hang")));
    await waitFor(() => r.relay.streams === 1 && b.calls >= 7, 2000, "the hanging call upstream");
    req.close(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => cancelled === 1, 2000, "the upstream cancel");
    await waitFor(() => r.relay.streams === 0, 2000, "relay streams to close");
  });
});

describe("relay retries: a held response's upstream window (response-window.ts)", () => {
  /** One gRPC call on a session of its own (`settings`: the client's), its grpc-status and ms. */
  async function callWith(
    r: RelayRouterRig,
    settings: http2.Settings,
  ): Promise<{ grpcStatus: string | undefined; body: number }> {
    const session = http2.connect(`http://127.0.0.1:${r.relay.port}`, { settings });
    open.push(
      () => new Promise<void>((res) => (session.destroyed ? res() : session.close(() => res()))),
    );
    return new Promise((resolve) => {
      const req = session.request({ ...SVC_CALL });
      let status: string | undefined;
      let body = 0;
      req.on("trailers", (t) => {
        status = String(t["grpc-status"]);
      });
      req.on("data", (c: Buffer) => {
        body += c.length;
      });
      req.on("close", () => resolve({ grpcStatus: status, body }));
      req.end(grpcFrame(Buffer.from("x")));
    });
  }

  it("a client whose stream window (1,000 bytes) is under the retry buffer still gets its retry: the held response is given the buffer's window, not the client's", async () => {
    const b = await backend((stream, n) =>
      readBody(stream, () => answer(stream, n === 1 ? 14 : 0, grpcFrame(payload(5_000, n)))),
    );
    const r = await rig([b.port]);
    const res = await callWith(r, { initialWindowSize: 1_000 });
    expect(res.grpcStatus).toBe("0");
    expect(res.body).toBe(5_005);
    expect(b.calls).toBe(2);
  });

  it("a narrowed stream (no room left on its client's connection) still gets its retry when the retry buffer is larger than 16 KiB", async () => {
    // the first call's 64 KiB takes the connection's room (node:http2's 65,535 connection
    // window); the second is narrowed, and its held response needs 20 KB + 5 bytes of window
    const b = await backend((stream, n, headers) =>
      readBody(stream, () => {
        if (headers["x-call"] === "first") {
          // held open until the second call is answered
          setTimeout(() => answer(stream, 0, grpcFrame(payload(100, 1))), 300);
          return;
        }
        answer(stream, n === 2 ? 14 : 0, grpcFrame(payload(20_000, n)));
      }),
    );
    const r = await rig([b.port], {
      retryBufferSize: { requestBytes: 16_383, responseBytes: 65_000 },
    });
    const first = call(r, grpcFrame(Buffer.from("x")), { "x-call": "first" });
    await waitFor(() => b.calls === 1, 5_000, "the first call at the backend");
    const second = await call(r, grpcFrame(Buffer.from("y")), { "x-call": "second" });
    expect(second.grpcStatus).toBe(0);
    expect(second.body.length).toBe(20_005);
    expect(b.calls).toBe(3);
    expect((await first).grpcStatus).toBe(0);
  });
});
