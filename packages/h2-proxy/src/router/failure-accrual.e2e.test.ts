/**
 * Failure accrual on real sockets (issue #19), through the frame-level relay and the router, on
 * both of the router's paths (the default `nonRetryable5XX` streams through `forward`; a gRPC
 * classifier that may retry drives a held exchange):
 * - a probe its client cancelled reopens the probe: the next request is the probe, and the
 *   endpoint comes back once healthy (it used to stay probing, out of rotation, for good);
 * - requests the client reset or cancelled, requests the endpoint reset with PROTOCOL_ERROR
 *   (malformed) and requests the relay found malformed after routing (content-length not
 *   matching the DATA), never mark a healthy endpoint dead, while its own failures still do;
 * - the endpoint's state and why are in `H2Router.clients()` and the accrual metrics.
 */
import * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { grpcFrame, SVC_CALL, startH2Backend, waitFor } from "../dataplane/test-support.js";
import { type AccrualRig, CLIENT_SCOPE, SERVER_SCOPE, startAccrualRig } from "./accrual-rig.js";
import { grpcDefault } from "./classifier-grpc.js";
import type { ResponseClassifier } from "./response-classifier.js";

/** How a backend answers; a request header `x-answer` overrides it per request. */
type Answer = "ok" | "fail" | "hang" | "partial" | "protocol-error" | "internal-error";

interface Backend {
  readonly port: number;
  answer: Answer;
  calls: number;
  close(): Promise<void>;
}

async function backend(answer: Answer = "ok"): Promise<Backend> {
  const b = { answer, calls: 0 } as Backend;
  const h2 = await startH2Backend((stream, headers) => {
    b.calls++;
    stream.resume();
    const a = (headers["x-answer"] as Answer | undefined) ?? b.answer;
    switch (a) {
      case "hang":
        return; // never answers (closed with the backend)
      case "fail":
        stream.respond({ ":status": 500 }, { endStream: true });
        return;
      case "protocol-error":
        stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
        return;
      case "internal-error":
        stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        return;
      case "partial":
        stream.respond({ ":status": 200, "content-type": "application/grpc" });
        stream.write(grpcFrame(Buffer.from("part")));
        return; // the rest never comes
      default:
        stream.respond(
          { ":status": 200, "content-type": "application/grpc" },
          { waitForTrailers: true },
        );
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(grpcFrame(Buffer.from(`hello ${b.port}`)));
    }
  });
  Object.assign(b, { port: h2.port, close: () => h2.close() });
  return b;
}

interface Call {
  status: number | undefined;
  grpcStatus: number | undefined;
  /** The client cancelled it (RST_STREAM CANCEL). */
  cancelled: boolean;
}

/**
 * One gRPC-style call through the rig. `cancel`: the client resets the stream (CANCEL) after
 * `afterMs` without a complete response, or as soon as the first response DATA arrives.
 */
function call(
  r: AccrualRig,
  extra: http2.OutgoingHttpHeaders = {},
  cancel?: { afterMs: number } | "on-data",
): Promise<Call> {
  return new Promise((resolve) => {
    const req = r.session.request({ ...SVC_CALL, ...extra });
    let status: number | undefined;
    let grpcStatus: number | undefined;
    let cancelled = false;
    const doCancel = () => {
      if (req.closed || req.destroyed) return;
      cancelled = true;
      req.close(http2.constants.NGHTTP2_CANCEL);
    };
    const timer =
      cancel !== undefined && cancel !== "on-data"
        ? setTimeout(doCancel, cancel.afterMs)
        : undefined;
    req.on("response", (h) => {
      status = Number(h[":status"]);
      if (h["grpc-status"] !== undefined) grpcStatus = Number(h["grpc-status"]);
    });
    req.on("trailers", (t) => {
      if (t["grpc-status"] !== undefined) grpcStatus = Number(t["grpc-status"]);
    });
    req.on("data", () => {
      if (cancel === "on-data") doCancel();
    });
    req.on("error", () => {});
    req.on("close", () => {
      clearTimeout(timer);
      resolve({ status, grpcStatus, cancelled });
    });
    req.end(grpcFrame(Buffer.from("hi")));
  });
}

/**
 * A request whose `content-length` (100) its DATA (a 7-byte gRPC frame) does not match, the DATA
 * sent only once the request reached a backend (which holds it unanswered): resolves with the
 * RST_STREAM code the client got.
 */
async function lyingCall(r: AccrualRig, backends: Backend[]): Promise<number> {
  const calls = (): number => backends.reduce((n, b) => n + b.calls, 0);
  const before = calls();
  const req = r.session.request({ ...SVC_CALL, "x-answer": "hang", "content-length": "100" });
  req.on("error", () => {});
  const closed = new Promise<number>((resolve) => req.on("close", () => resolve(req.rstCode ?? 0)));
  await waitFor(() => calls() > before, 2_000, "the request to reach a backend");
  req.end(grpcFrame(Buffer.from("hi")));
  return closed;
}

let open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close().catch(() => {});
  open = [];
});

async function setup(
  backends: Backend[],
  o: {
    classifier?: ResponseClassifier | undefined;
    failures: number;
    backoffMs: number;
    bindDelayMs?: number;
  },
): Promise<AccrualRig> {
  for (const b of backends) open.push(b);
  const r = await startAccrualRig(
    backends.map((b) => b.port),
    o,
  );
  open.push(r);
  return r;
}

const PATHS = [
  ["forward path (io.l5d.h2.nonRetryable5XX)", undefined],
  ["exchange path (io.l5d.h2.grpc.default)", grpcDefault],
] as const;

for (const [pathName, classifier] of PATHS)
  describe(`failure accrual through the relay: ${pathName}`, () => {
    it("a probe cancelled by its client reopens the probe: the next request probes, the endpoint comes back", async () => {
      const good = await backend("ok");
      const flaky = await backend("fail");
      const r = await setup([good, flaky], { classifier, failures: 2, backoffMs: 150 });
      // eject it: round robin gives it every other request, 2 failures in a row mark it dead
      for (let i = 0; i < 20 && r.accrual(flaky.port).state !== "dead"; i++) await call(r);
      expect(r.accrual(flaky.port).state).toBe("dead");
      expect(r.accrual(flaky.port).reason).toContain("2 consecutive failures");
      expect(r.accrual(flaky.port).reason).toContain("HTTP 500");
      expect(r.metric(`${CLIENT_SCOPE}/failure_accrual/removals`)).toBe(1);
      expect(r.metric(`${CLIENT_SCOPE}/failure_accrual/dead`)).toBe(1);

      // the probe hangs and its client gives up on it (a gRPC deadline on the client side)
      flaky.answer = "hang";
      await waitFor(() => r.accrual(flaky.port).state === "probing", 2_000, "the probe to open");
      expect(r.metric(`${CLIENT_SCOPE}/failure_accrual/probing`)).toBe(1);
      const before = flaky.calls;
      for (let i = 0; i < 10 && flaky.calls === before; i++) {
        await call(r, {}, { afterMs: 150 });
      }
      expect(flaky.calls).toBe(before + 1); // exactly one probe went out
      expect(r.metric(`${CLIENT_SCOPE}/failure_accrual/probes`)).toBe(1);
      // the cancel is no verdict: the endpoint is probing again, available for the next probe
      await waitFor(
        () => r.available(flaky.port) && r.accrual(flaky.port).probeInFlight === false,
        2_000,
        "the cancelled probe to reopen",
      );
      expect(r.accrual(flaky.port).state).toBe("probing");

      // healed: the next request to it is the probe, it succeeds, the endpoint is back
      flaky.answer = "ok";
      const served = flaky.calls;
      const calls = [];
      for (let i = 0; i < 10; i++) calls.push(await call(r));
      expect(calls.every((c) => c.grpcStatus === 0)).toBe(true);
      expect(r.accrual(flaky.port).state).toBe("alive");
      expect(flaky.calls - served).toBeGreaterThanOrEqual(4); // back in the rotation
      expect(r.metric(`${CLIENT_SCOPE}/failure_accrual/probes`)).toBe(2);
      expect(r.metric(`${CLIENT_SCOPE}/failure_accrual/revivals`)).toBe(1);
      expect(r.metric(`${CLIENT_SCOPE}/failure_accrual/removed`)).toBe(0);
      // logged as they happened, with the endpoint and why
      const key = `127.0.0.1:${flaky.port}`;
      expect(r.logs.map((l) => [l.msg, l.fields.endpoint])).toEqual([
        ["failure accrual marked the endpoint dead", key],
        ["failure accrual revived the endpoint (its probe succeeded)", key],
      ]);
      expect(r.logs[0]!.fields.reason).toContain("2 consecutive failures");
      console.log(
        `[accrual ${pathName}] cancelled probe reopened; healed endpoint served ${flaky.calls - served} of 10`,
      );
    });

    it("client-cancelled and malformed (RST_STREAM PROTOCOL_ERROR) requests never mark a healthy endpoint dead", async () => {
      const a = await backend("ok");
      const b = await backend("ok");
      const r = await setup([a, b], { classifier, failures: 5, backoffMs: 60_000 });
      const N = 12;
      const t0 = Date.now();
      // the endpoint resets them with PROTOCOL_ERROR: the requests were malformed
      const malformed = [];
      for (let i = 0; i < N; i++) malformed.push(await call(r, { "x-answer": "protocol-error" }));
      expect(malformed.every((c) => c.grpcStatus === 13)).toBe(true);
      // a content-length the DATA does not match, its DATA sent once the request reached an
      // endpoint: found malformed by the relay at its END_STREAM, after routing
      // (RST_STREAM(PROTOCOL_ERROR) to the client, the upstream stream cancelled)
      const lying = [];
      for (let i = 0; i < N; i++) lying.push(await lyingCall(r, [a, b]));
      expect(lying.every((code) => code === http2.constants.NGHTTP2_PROTOCOL_ERROR)).toBe(true);
      // the client gives up before any response, then mid-response
      const early = [];
      for (let i = 0; i < N; i++)
        early.push(await call(r, { "x-answer": "hang" }, { afterMs: 20 }));
      const mid = [];
      for (let i = 0; i < N; i++) mid.push(await call(r, { "x-answer": "partial" }, "on-data"));
      expect([...early, ...mid].every((c) => c.cancelled)).toBe(true);
      expect(Date.now() - t0).toBeLessThan(10_000);

      for (const x of [a, b]) {
        expect(r.accrual(x.port).state).toBe("alive");
        expect(r.available(x.port)).toBe(true);
      }
      expect(r.metric(`${CLIENT_SCOPE}/failure_accrual/removals`)).toBe(0);
      // still failed requests in the stats; the cancels under Finagle's CancelledRequestException
      const cancelledName = "failures/com.twitter.finagle.CancelledRequestException";
      await waitFor(
        () => r.metric(`${SERVER_SCOPE}/failures`) === 4 * N,
        2_000,
        "every request to be counted",
      );
      expect(r.metric(`${SERVER_SCOPE}/${cancelledName}`)).toBe(2 * N);
      expect(r.metric(`${CLIENT_SCOPE}/${cancelledName}`)).toBe(2 * N);
      expect(r.metric(`${SERVER_SCOPE}/success`)).toBe(0);
      // both still serve
      const after = [];
      for (let i = 0; i < 4; i++) after.push(await call(r));
      expect(after.every((c) => c.grpcStatus === 0)).toBe(true);

      // the control: the endpoint's own failures (RST_STREAM INTERNAL_ERROR) still eject it
      a.answer = "internal-error";
      for (let i = 0; i < 20 && r.accrual(a.port).state === "alive"; i++) await call(r);
      expect(r.accrual(a.port).state).toBe("dead");
      expect(r.accrual(a.port).reason).toContain("INTERNAL_ERROR");
      expect(r.accrual(b.port).state).toBe("alive");
      console.log(
        `[accrual ${pathName}] ${2 * N} malformed + ${2 * N} cancelled requests: 0 removals; 5 INTERNAL_ERROR resets: 1`,
      );
    });

    it("a client swept after its idle TTL and made again keeps accruing failures; per-endpoint gauges follow", async () => {
      const only = await backend("ok");
      const r = await setup([only], { classifier, failures: 2, backoffMs: 60_000 });
      expect((await call(r)).grpcStatus).toBe(0);
      const gauge = `${CLIENT_SCOPE}/endpoint/127.0.0.1:${only.port}/failure_accrual/dead`;
      expect(r.metric(gauge)).toBe(0);
      expect(r.metrics.toFlatJson()[gauge]).toBe(0); // registered once the endpoint had a verdict
      r.router.sweepClients(Date.now() + 3_600_000); // idle past the 600 s TTL
      expect(r.router.clients()).toEqual([]);
      expect(r.metrics.toFlatJson()[gauge]).toBeUndefined(); // its endpoint left: gauge removed
      only.answer = "fail";
      for (let i = 0; i < 2; i++) await call(r);
      expect(r.accrual(only.port).state).toBe("dead");
      expect(r.metric(gauge)).toBe(1);
    });

    it("a request its client reset while it was being routed (a slow first binding) is never sent nor counted", async () => {
      const only = await backend("ok");
      // one counted failure would mark the only endpoint dead
      const r = await setup([only], {
        classifier,
        failures: 1,
        backoffMs: 60_000,
        bindDelayMs: 150,
      });
      const gaveUp = await call(r, {}, { afterMs: 30 });
      expect(gaveUp.cancelled).toBe(true);
      await waitFor(() => r.records.length === 1, 2_000, "the cancelled request to finish");
      expect(only.calls).toBe(0);
      expect(r.records[0]!.error).toContain("client reset");
      expect(r.accrual(only.port).state).toBe("alive");
      expect(r.metric(`${CLIENT_SCOPE}/failure_accrual/removals`)).toBe(0);
      expect(
        r.metric(`${SERVER_SCOPE}/failures/com.twitter.finagle.CancelledRequestException`),
      ).toBe(1);
      const next = await call(r);
      expect(next.grpcStatus).toBe(0);
      expect(only.calls).toBe(1);
    });
  });
