/**
 * The router's per-request loop against the exchange contract (`exchange.ts`): how and when a
 * data plane delivers an attempt's result. The relay's and the HTTP/1.1 router's exchanges are
 * exercised end to end by their own suites (retries, requeues, deadlines on loopback); here an
 * exchange scripted by the test delivers results the ways the contract allows (synchronously
 * for a final result, from a microtask for a held one) and the ways a bug would (twice, or
 * throwing), with the router's real budgets, failure accrual, classifier and metrics.
 */
import { describe, expect, it } from "vitest";
import { MetricsRegistry } from "../metrics/metrics-registry.js";
import type { BoundClient } from "./bound-client.js";
import { retryableAll5XX } from "./classifier-h2.js";
import type { AttemptResult, AttemptSink, Exchange } from "./exchange.js";
import { FailureAccrual } from "./failure-accrual.js";
import { defaultFailureAccrual } from "./failure-accrual-policies.js";
import { type ForwardHost, Forwarding } from "./forward-loop.js";
import { Endpoint } from "./load-balancer.js";
import { RetryBudget } from "./retry-budget.js";
import type { ForwardOutcome, HeaderEdits, RoutableRequest } from "./routable-request.js";
import { type ClientState, ServerScope, type ServiceState, scopeStats } from "./scope-state.js";

type Step = (sink: AttemptSink, endpoint: Endpoint) => void;

const OK: ForwardOutcome = { status: 200 };
const UNAVAILABLE: ForwardOutcome = { status: 503 };
const result = (outcome: ForwardOutcome, held: boolean, unprocessed = false): AttemptResult => ({
  outcome,
  held,
  unprocessed,
  durationMs: 1,
});

/** An exchange whose attempts follow `steps`, one per attempt; it records what the loop asked. */
class ScriptedExchange implements Exchange {
  readonly replayable = true;
  done = false;
  readonly attempts: string[] = [];
  discards = 0;
  commits: Array<Readonly<Record<string, string>> | undefined> = [];
  constructor(readonly steps: Step[]) {}
  remainingMs(): number | undefined {
    return undefined;
  }
  attempt(endpoint: Endpoint, _edits: HeaderEdits, sink: AttemptSink): void {
    this.attempts.push(endpoint.key);
    const step = this.steps[this.attempts.length - 1];
    if (step === undefined) throw new Error("no step left");
    step(sink, endpoint);
  }
  discard(): void {
    this.discards++;
  }
  commit(extra?: Readonly<Record<string, string>>): Promise<void> {
    this.commits.push(extra);
    this.done = true;
    return Promise.resolve();
  }
}

function rig(steps: Step[]) {
  const m = new MetricsRegistry();
  const first = new Endpoint("127.0.0.1", 1001, 1, {});
  const second = new Endpoint("127.0.0.1", 1002, 1, {});
  const client = {
    inflight: 0,
    balancer: { update() {}, pick: () => second },
  } as unknown as BoundClient;
  const service: ServiceState = {
    ...scopeStats(m, "svc"),
    policy: {
      retries: {
        budget: { minRetriesPerSec: 10, percentCanRetry: 0.2, ttlSecs: 10 },
        backoff: { kind: "constant", ms: 0 },
      },
    },
    exchange: {
      holdResponses: true,
      requestBufferBytes: 16_383,
      responseBufferBytes: 16_383,
      classificationTimeoutMs: 100,
    },
    classifier: retryableAll5XX,
    budget: new RetryBudget({ minRetriesPerSec: 10, percentCanRetry: 0.2, ttlSecs: 10 }),
    retries: m.counter("svc/retries/total"),
    budgetExhausted: m.counter("svc/retries/budget_exhausted"),
    perRequest: m.histogram("svc/retries/per_request"),
  };
  const cstats: ClientState = {
    ...scopeStats(m, "client"),
    accrual: new FailureAccrual(defaultFailureAccrual),
    requeueBudget: new RetryBudget({ minRetriesPerSec: 10, percentCanRetry: 0.2, ttlSecs: 10 }),
    requeues: m.counter("client/requeues"),
    requeueBudgetExhausted: m.counter("client/requeue_budget_exhausted"),
  };
  const finished: Array<{ outcome: ForwardOutcome; cls: string; endpoint: string }> = [];
  const failed: unknown[] = [];
  const host: ForwardHost = {
    finish: (_req, _server, _t0, outcome, cls, _service, _client, endpoint) => {
      finished.push({ outcome, cls, endpoint: endpoint.key });
    },
    failed: (_req, _server, _t0, e) => {
      failed.push(e);
    },
  };
  const req = { headers: [[":method", "GET"]], isGrpc: false } as unknown as RoutableRequest;
  const ex = new ScriptedExchange(steps);
  const f = new Forwarding(
    host,
    req,
    new ServerScope(m, "r", "127.0.0.1", 4140),
    0,
    ex,
    { set: {} },
    service,
    client,
    cstats,
    first,
  );
  return { f, ex, finished, failed, first, second, client, service, cstats };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe("the router's forward loop (forward-loop.ts)", () => {
  it("a final result delivered from inside attempt() ends the request once, nothing left in flight", () => {
    const r = rig([(sink) => sink.attempted(result(OK, false))]);
    r.f.start();
    // synchronous: finished before start() returns
    expect(r.finished).toEqual([{ outcome: OK, cls: "success", endpoint: "127.0.0.1:1001" }]);
    expect([r.first.inflight, r.first.requests, r.client.inflight]).toEqual([0, 1, 0]);
    expect(r.ex.commits).toEqual([]);
    expect(r.failed).toEqual([]);
  });

  it("a result delivered twice is recorded once", async () => {
    let kept: AttemptSink | undefined;
    const r = rig([
      (sink) => {
        kept = sink;
        queueMicrotask(() => sink.attempted(result(OK, false)));
      },
    ]);
    r.f.start();
    await tick();
    kept?.attempted(result(UNAVAILABLE, false));
    await tick();
    expect(r.finished.map((x) => x.outcome)).toEqual([OK]);
    expect([r.first.inflight, r.client.inflight]).toEqual([0, 0]);
  });

  it("attempt() throwing fails the request and gives the endpoint's in-flight slot back", () => {
    const r = rig([
      () => {
        throw new Error("boom");
      },
    ]);
    r.f.start();
    expect(r.failed.map(String)).toEqual(["Error: boom"]);
    expect(r.finished).toEqual([]);
    expect([r.first.inflight, r.client.inflight]).toEqual([0, 0]);
  });

  it("a throw after the attempt already ended changes nothing", () => {
    const r = rig([
      (sink) => {
        sink.attempted(result(OK, false));
        throw new Error("late");
      },
    ]);
    r.f.start();
    expect(r.finished).toHaveLength(1);
    expect(r.failed).toEqual([]);
    expect([r.first.inflight, r.client.inflight]).toEqual([0, 0]);
  });

  it("an unprocessed held attempt is requeued on the balancer's next pick, then committed", async () => {
    const r = rig([
      (sink) => queueMicrotask(() => sink.attempted(result(UNAVAILABLE, true, true))),
      (sink) => queueMicrotask(() => sink.attempted(result(OK, true))),
    ]);
    r.f.start();
    await tick();
    await tick();
    expect(r.ex.attempts).toEqual(["127.0.0.1:1001", "127.0.0.1:1002"]);
    expect(r.ex.discards).toBe(1);
    expect(r.cstats.requeues.value).toBe(1);
    expect(r.ex.commits).toEqual([{}]);
    expect(r.finished).toEqual([{ outcome: OK, cls: "success", endpoint: "127.0.0.1:1002" }]);
    expect([r.first.inflight, r.second.inflight, r.client.inflight]).toEqual([0, 0, 0]);
  });

  it("a retryable held response is retried, and the last one committed with l5d-retryable", async () => {
    const r = rig([
      (sink) => queueMicrotask(() => sink.attempted(result(UNAVAILABLE, true))),
      (sink) => queueMicrotask(() => sink.attempted(result(UNAVAILABLE, true))),
      (sink) => queueMicrotask(() => sink.attempted(result(UNAVAILABLE, true))),
    ]);
    // two retries allowed: then the budget is spent
    r.service.budget = new RetryBudget({ minRetriesPerSec: 0, percentCanRetry: 1, ttlSecs: 10 });
    r.service.budget.deposit();
    r.service.budget.deposit();
    r.f.start();
    for (let i = 0; i < 10 && r.finished.length === 0; i++) await tick();
    expect(r.ex.attempts).toHaveLength(3);
    expect(r.service.retries.value).toBe(2);
    expect(r.service.budgetExhausted.value).toBe(1);
    expect(r.ex.commits).toEqual([{ "l5d-retryable": "true" }]);
    expect(r.finished.map((x) => x.cls)).toEqual(["retryable"]);
    expect(r.client.inflight).toBe(0);
  });
});
