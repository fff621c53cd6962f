/**
 * The accrual state machine's probe bookkeeping and its admin view (issue #19); the same on real
 * sockets through the relay and the router is `failure-accrual.e2e.test.ts`.
 */
import { describe, expect, it } from "vitest";
import { DataplaneError } from "../dataplane/errors.js";
import { accrualVerdict } from "./accrual-verdict.js";
import { FailureAccrual } from "./failure-accrual.js";
import {
  ConsecutiveFailuresPolicy,
  SuccessRateWindowedPolicy,
} from "./failure-accrual-policies.js";
import { Endpoint } from "./load-balancer.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("FailureAccrual probes", () => {
  it("a probe released without a verdict reopens the probe; only the probe's release does", async () => {
    let probes = 0;
    const acc = new FailureAccrual(
      () => new ConsecutiveFailuresPolicy(1, { kind: "constant", ms: 20 }),
      { removal: () => {}, revival: () => {}, removedFor: () => {}, probe: () => probes++ },
    );
    const e = new Endpoint("127.0.0.1", 1, 1, {});
    acc.record(e, false, false, { status: 503 });
    expect(acc.viewOf(e)).toMatchObject({ state: "dead", backoffMs: 20 });
    expect(acc.viewOf(e).reason).toBe(
      "1 consecutive failure (io.l5d.consecutiveFailures, failures: 1); last: HTTP 503",
    );
    // a request dispatched while dead (every endpoint unavailable) is not a probe
    expect(acc.onDispatch(e)).toBe(false);
    await sleep(40);
    expect(acc.viewOf(e)).toMatchObject({ state: "probing", probeInFlight: false });
    expect(acc.onDispatch(e)).toBe(true);
    expect(probes).toBe(1);
    expect(e.available).toBe(false);
    expect(acc.viewOf(e).probeInFlight).toBe(true);
    acc.release(e, false); // some other request's cancel: the probe is still out
    expect(e.available).toBe(false);
    acc.release(e, true); // the probe's client cancelled it
    expect(e.available).toBe(true);
    expect(acc.viewOf(e)).toMatchObject({ state: "probing", probeInFlight: false });
    // the next request is the probe; its failure marks the endpoint dead again, and says so
    expect(acc.onDispatch(e)).toBe(true);
    expect(probes).toBe(2);
    acc.record(e, false, true, {
      error: new DataplaneError(
        "UPSTREAM_RESET",
        "x reset the stream (INTERNAL_ERROR)",
        13,
        502,
        2,
      ),
    });
    expect(acc.viewOf(e)).toMatchObject({
      state: "dead",
      reason: "the probe failed: x reset the stream (INTERNAL_ERROR)",
    });
    await sleep(40);
    expect(acc.onDispatch(e)).toBe(true);
    acc.record(e, true, true);
    expect(acc.viewOf(e)).toEqual({ state: "alive" });
    expect(e.available).toBe(true);
    expect(acc.count("dead") + acc.count("probing")).toBe(0);
    acc.close();
  });

  it("the windowed policy says its rate when it marks dead", () => {
    const acc = new FailureAccrual(
      () => new SuccessRateWindowedPolicy(0.9, 30, { kind: "constant", ms: 60_000 }),
    );
    const e = new Endpoint("127.0.0.1", 2, 1, {});
    for (let i = 0; i < 4; i++) acc.record(e, true);
    for (let i = 0; i < 3 && acc.stateOf(e) === "alive"; i++)
      acc.record(e, false, false, { grpcStatus: 14 });
    expect(acc.stateOf(e)).toBe("dead");
    expect(acc.viewOf(e).reason).toBe(
      "success rate 0.800 < 0.9 over the last 30 s, 5 responses (io.l5d.successRateWindowed); last: grpc-status 14",
    );
    acc.close();
  });
});

describe("accrualVerdict", () => {
  const err = (code: ConstructorParameters<typeof DataplaneError>[0], rst?: number) => ({
    error: new DataplaneError(code, code, 13, 502, rst),
  });
  it("counts the classifier's verdict, except what the client caused", () => {
    const cases: Array<
      [string, Parameters<typeof accrualVerdict>[0], "success" | "failure", string]
    > = [
      ["a success", { status: 200, grpcStatus: 0 }, "success", "success"],
      ["a 5xx", { status: 503 }, "failure", "failure"],
      ["an upstream INTERNAL_ERROR reset", err("UPSTREAM_RESET", 2), "failure", "failure"],
      ["a malformed response", err("UPSTREAM_PROTOCOL_ERROR", 1), "failure", "failure"],
      ["the router's deadline", err("DEADLINE_EXCEEDED"), "failure", "failure"],
      ["a connect failure", err("UPSTREAM_CONNECT_FAILED"), "failure", "failure"],
      [
        "an upstream PROTOCOL_ERROR reset (malformed request)",
        err("UPSTREAM_RESET", 1),
        "failure",
        "ignored",
      ],
      [
        "a request the data plane refused as malformed",
        err("REQUEST_MALFORMED"),
        "failure",
        "ignored",
      ],
      ["a client reset (relay)", err("CLIENT_RESET", 8), "failure", "ignored"],
      [
        "a client reset (node:http2: reset, no error)",
        { status: 200, reset: 8 },
        "success",
        "ignored",
      ],
    ];
    for (const [what, outcome, cls, verdict] of cases) {
      expect([what, accrualVerdict(outcome, cls)]).toEqual([what, verdict]);
    }
  });
});
