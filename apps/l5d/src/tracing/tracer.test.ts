/**
 * The tracer's wrapping of an exchange's attempts against the exchange contract (`Exchange` in
 * @l5d/h2-proxy): an exchange scripted by the test delivers a result synchronously and then
 * misbehaves (delivers again, or throws), as a buggy data plane could; each attempt must still
 * be one client span. The spans of real requests are checked end to end by the daemon's tests.
 */
import type {
  AttemptResult,
  AttemptSink,
  Exchange,
  ExchangeOptions,
  HeaderEdits,
  Address as UpstreamAddress,
} from "@l5d/h2-proxy";
import { describe, expect, it } from "vitest";
import type { Span } from "./span.js";
import { type TraceableRequest, Tracer } from "./tracer.js";

const FINAL: AttemptResult = {
  outcome: { status: 200 },
  held: false,
  unprocessed: false,
  durationMs: 1,
};
const OPTS: ExchangeOptions = {
  holdResponses: false,
  requestBufferBytes: 16_383,
  responseBufferBytes: 16_383,
  classificationTimeoutMs: 100,
};

/** An exchange whose one attempt runs `step` with the sink it was given. */
function scripted(step: (sink: AttemptSink) => void): Exchange {
  return {
    replayable: true,
    done: false,
    remainingMs: () => undefined,
    attempt: (_e: UpstreamAddress, _edits: HeaderEdits, sink: AttemptSink) => step(sink),
    discard: () => {},
    commit: () => Promise.resolve(),
  };
}

function traced(step: (sink: AttemptSink) => void) {
  const spans: Span[] = [];
  const tracer = new Tracer({ sinks: [{ sampleRate: 1, recordSpan: (s) => spans.push(s) }] });
  const req: TraceableRequest = {
    headers: [
      [":method", "GET"],
      [":path", "/"],
    ],
    isGrpc: false,
    exchange: () => scripted(step),
    respondError: () => {},
  };
  const ex = tracer.wrap(req, { router: "r", ip: "127.0.0.1", port: 4140 }).exchange(OPTS);
  const results: AttemptResult[] = [];
  const sink: AttemptSink = { attempted: (r) => results.push(r) };
  const clients = () => spans.filter((s) => s.kind === "CLIENT");
  return { ex, sink, results, spans, clients };
}

const EP = { host: "127.0.0.1", port: 1 };

describe("the tracer's attempts (tracer.ts)", () => {
  it("an attempt delivered twice is one client span and one result", () => {
    const t = traced((sink) => {
      sink.attempted(FINAL);
      sink.attempted(FINAL);
    });
    t.ex.attempt(EP, {}, t.sink);
    expect(t.results).toHaveLength(1);
    expect(t.clients()).toHaveLength(1);
    expect(t.spans.filter((s) => s.kind === "SERVER")).toHaveLength(1);
  });

  it("an attempt that throws after its result came is one client span; the throw goes on", () => {
    const t = traced((sink) => {
      sink.attempted(FINAL);
      throw new Error("late");
    });
    expect(() => t.ex.attempt(EP, {}, t.sink)).toThrow("late");
    expect(t.results).toHaveLength(1);
    expect(t.clients()).toHaveLength(1);
  });

  it("an attempt that throws before any result is one client span, without an outcome", () => {
    const t = traced(() => {
      throw new Error("early");
    });
    expect(() => t.ex.attempt(EP, {}, t.sink)).toThrow("early");
    expect(t.results).toEqual([]);
    expect(t.clients()).toHaveLength(1);
  });
});
