import { ErrorCode } from "@l5d/h2";
import { describe, expect, it } from "vitest";
import { DataplaneError } from "../dataplane/errors.js";
import { startBackoff } from "./backoff.js";
import { grpcClassifierFactories } from "./classifier-grpc.js";
import { h2ClassifierFactories } from "./classifier-h2.js";
import { FailureAccrual } from "./failure-accrual.js";
import {
  ConsecutiveFailuresPolicy,
  SuccessRatePolicy,
  SuccessRateWindowedPolicy,
} from "./failure-accrual-policies.js";
import type { HeaderList } from "./header-list.js";
import { Endpoint } from "./load-balancer.js";
import {
  failureAccrualFactories,
  loadBalancerFactories,
  responseClassifierFactories,
} from "./plugins.js";
import { RetryBudget } from "./retry-budget.js";

const get: HeaderList = [[":method", "GET"]];
const post: HeaderList = [[":method", "POST"]];
const put: HeaderList = [[":method", "PUT"]];

function classifier(kind: string, extra: Record<string, unknown> = {}) {
  const f = [...h2ClassifierFactories, ...grpcClassifierFactories].find((x) => x.kind === kind)!;
  const cfg = f.schema.parse({ kind, ...extra });
  return (f.make as (c: unknown) => import("./response-classifier.js").ResponseClassifier)(cfg);
}

describe("response classifiers", () => {
  it("h2 kinds classify by status, method and error", () => {
    const err = new Error("boom");
    expect(classifier("io.l5d.h2.nonRetryable5XX").classify({ status: 503 }, get)).toBe("failure");
    expect(
      classifier("io.l5d.h2.nonRetryable5XX").classify({ status: 200, grpcStatus: 14 }, post),
    ).toBe("success");
    expect(classifier("io.l5d.h2.retryableRead5XX").classify({ status: 503 }, get)).toBe(
      "retryable",
    );
    expect(classifier("io.l5d.h2.retryableRead5XX").classify({ status: 503 }, put)).toBe("failure");
    expect(classifier("io.l5d.h2.retryableIdempotent5XX").classify({ status: 500 }, put)).toBe(
      "retryable",
    );
    expect(classifier("io.l5d.h2.retryableIdempotent5XX").classify({ error: err }, post)).toBe(
      "failure",
    );
    expect(classifier("io.l5d.h2.retryableAll5XX").classify({ error: err }, post)).toBe(
      "retryable",
    );
    expect(classifier("io.l5d.h2.allSuccessful").classify({ status: 500 }, get)).toBe("success");
  });

  it("gRPC kinds read grpc-status and honour successStatusCodes", () => {
    const d = classifier("io.l5d.h2.grpc.default");
    expect(d.classify({ status: 200, grpcStatus: 0 }, post)).toBe("success");
    expect(d.classify({ status: 200, grpcStatus: 14 }, post)).toBe("retryable");
    expect(d.classify({ status: 200, grpcStatus: 13 }, post)).toBe("failure");
    const refused = new DataplaneError(
      "UPSTREAM_RESET",
      "refused",
      14,
      503,
      ErrorCode.REFUSED_STREAM,
    );
    expect(d.classify({ error: refused }, post)).toBe("failure");
    const c = classifier("io.l5d.h2.grpc.compliant");
    expect(c.classify({ error: refused }, post)).toBe("retryable");
    expect(c.classify({ status: 503 }, post)).toBe("retryable");
    expect(classifier("io.l5d.h2.grpc.alwaysRetryable").classify({ grpcStatus: 2 }, post)).toBe(
      "retryable",
    );
    expect(classifier("io.l5d.h2.grpc.neverRetryable").classify({ grpcStatus: 14 }, post)).toBe(
      "failure",
    );
    const codes = classifier("io.l5d.h2.grpc.retryableStatusCodes", {
      retryableStatusCodes: [4, 8],
      successStatusCodes: [0, 5],
    });
    expect(codes.classify({ grpcStatus: 8 }, post)).toBe("retryable");
    expect(codes.classify({ grpcStatus: 14 }, post)).toBe("failure");
    expect(codes.classify({ grpcStatus: 5 }, post)).toBe("success");
  });

  it("every family lists its Linkerd kinds with strict schemas and defaults", () => {
    expect(responseClassifierFactories.map((f) => f.kind)).toHaveLength(10);
    expect(failureAccrualFactories.map((f) => f.kind).sort()).toEqual(
      [
        "io.l5d.consecutiveFailures",
        "io.l5d.successRate",
        "io.l5d.successRateWindowed",
        "none",
      ].sort(),
    );
    expect(loadBalancerFactories.map((f) => f.kind).sort()).toEqual([
      "aperture",
      "ewma",
      "heap",
      "p2c",
      "roundRobin",
    ]);
    const ewma = loadBalancerFactories.find((f) => f.kind === "ewma")!;
    expect(ewma.schema.parse({ kind: "ewma" })).toEqual({
      kind: "ewma",
      maxEffort: 5,
      decayTimeMs: 10_000,
    });
    const ap = loadBalancerFactories.find((f) => f.kind === "aperture")!;
    expect(ap.schema.parse({ kind: "aperture" })).toMatchObject({
      smoothWindowMs: 5000,
      lowLoad: 0.5,
      highLoad: 2,
      minAperture: 1,
    });
    const cf = failureAccrualFactories.find((f) => f.kind === "io.l5d.consecutiveFailures")!;
    expect(cf.schema.safeParse({ kind: "io.l5d.consecutiveFailures" }).success).toBe(false);
    expect(
      cf.schema.safeParse({ kind: "io.l5d.consecutiveFailures", failures: 3, bogus: 1 }).success,
    ).toBe(false);
  });
});

describe("RetryBudget", () => {
  it("allows the reserve plus percentCanRetry of the traffic, and refills after ttl", () => {
    let now = 0;
    const b = new RetryBudget(
      { minRetriesPerSec: 1, percentCanRetry: 0.2, ttlSecs: 10 },
      () => now,
    );
    let n = 0;
    while (b.tryWithdraw() && n < 1000) n++;
    expect(n).toBe(10); // the reserve: 1/s × 10 s
    for (let i = 0; i < 100; i++) b.deposit();
    n = 0;
    while (b.tryWithdraw() && n < 1000) n++;
    expect(n).toBe(20); // 20% of 100 requests
    now += 11_000;
    expect(b.balance).toBe(10);
  });

  it("is empty with minRetriesPerSec 0 and percentCanRetry 0", () => {
    const b = new RetryBudget({ minRetriesPerSec: 0, percentCanRetry: 0, ttlSecs: 10 });
    b.deposit();
    expect(b.tryWithdraw()).toBe(false);
  });
});

describe("backoff", () => {
  it("constant and decorrelated jittered within bounds", () => {
    const c = startBackoff({ kind: "constant", ms: 7 });
    expect([c.next(), c.next()]).toEqual([7, 7]);
    const j = startBackoff({ kind: "jittered", minMs: 5000, maxMs: 300_000 });
    expect(j.next()).toBe(5000);
    for (let i = 0; i < 50; i++) {
      const d = j.next();
      expect(d).toBeGreaterThanOrEqual(5000);
      expect(d).toBeLessThanOrEqual(300_000);
    }
  });
});

describe("failure accrual", () => {
  it("consecutiveFailures ejects after N failures, probes once after the backoff, revives on success", async () => {
    const stats = { removals: 0, revivals: 0, ms: 0 };
    const acc = new FailureAccrual(
      () => new ConsecutiveFailuresPolicy(3, { kind: "constant", ms: 30 }),
      {
        removal: () => stats.removals++,
        revival: () => stats.revivals++,
        removedFor: (ms) => {
          stats.ms += ms;
        },
      },
    );
    const e = new Endpoint("127.0.0.1", 1, 1, {});
    acc.record(e, false);
    acc.record(e, true);
    acc.record(e, false);
    acc.record(e, false);
    expect(e.available).toBe(true);
    acc.record(e, false);
    expect(e.available).toBe(false);
    expect(stats.removals).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(acc.stateOf(e)).toBe("probing");
    expect(e.available).toBe(true);
    acc.onDispatch(e);
    expect(e.available).toBe(false); // one probe at a time
    acc.record(e, false); // probe fails: dead again
    expect(acc.stateOf(e)).toBe("dead");
    await new Promise((r) => setTimeout(r, 60));
    acc.onDispatch(e);
    acc.record(e, true);
    expect(acc.stateOf(e)).toBe("alive");
    expect(e.available).toBe(true);
    expect(stats.revivals).toBe(1);
    expect(stats.ms).toBeGreaterThanOrEqual(50);
    acc.close();
  });

  it("successRate and successRateWindowed mark dead below the threshold", () => {
    const sr = new SuccessRatePolicy(0.8, 10, { kind: "constant", ms: 1 });
    for (let i = 0; i < 20; i++) sr.recordSuccess();
    let dead: number | undefined;
    for (let i = 0; i < 20 && dead === undefined; i++) dead = sr.markDeadOnFailure();
    expect(dead).toBe(1);
    const w = new SuccessRateWindowedPolicy(0.5, 30, { kind: "constant", ms: 2 });
    for (let i = 0; i < 4; i++) w.recordSuccess();
    expect(w.markDeadOnFailure()).toBeUndefined();
    for (let i = 0; i < 3; i++) w.markDeadOnFailure();
    expect(w.markDeadOnFailure()).toBe(2);
  });
});
