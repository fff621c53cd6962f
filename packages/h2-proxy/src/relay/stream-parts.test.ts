/**
 * The parts a `RelayStream` is composed of, each on its own: the replay log (what a requeue or
 * retry sends again, and when it stops being kept), the header list sent upstream (hop-by-hop
 * fields removed, the router's edits, the `grpc-timeout` slot, an Upgrade's Host), the held
 * response, the named phases and the errors a request ends with. The streams themselves are
 * tested against real peers (relay-*.test.ts).
 */
import { ErrorCode, type HeaderField } from "@l5d/h2";
import { describe, expect, it } from "vitest";
import { GrpcStatus } from "../dataplane/errors.js";
import { enqueue, Half, type QueueMeter, replaceQueue } from "./flow-half.js";
import { clearHeld, type Held, hold } from "./held-response.js";
import { clientReset, localAnswer, upstreamLost, upstreamReset } from "./relay-errors.js";
import { logSent, replayQueue, startLog } from "./replay-log.js";
import { ReplyPhase, ResponsePhase } from "./stream-phase.js";
import { endpointKey, upstreamHeaders, withoutHopByHop } from "./upstream-request.js";

const b = (s: string): Buffer => Buffer.from(s);

describe("replay log", () => {
  it("keeps what was sent up to its limit, then drops the whole log (not replayable)", () => {
    const h = new Half(65_535);
    startLog(h, 10);
    expect(h.log).toEqual([]);
    logSent(h, b("abcd"));
    logSent(h, b("efgh"));
    expect(h.log?.map(String)).toEqual(["abcd", "efgh"]);
    logSent(h, b("ijk"));
    expect(h.log).toBeUndefined();
    expect(h.logBytes).toBe(11);
  });

  it("a half that sends nothing shares the frozen empty log (no allocation)", () => {
    const a = new Half(1);
    const c = new Half(1);
    startLog(a, 100);
    startLog(c, 100);
    expect(a.log).toBe(c.log);
    expect(Object.isFrozen(a.log)).toBe(true);
    logSent(a, b("x"));
    expect(a.log).not.toBe(c.log);
    expect(c.log).toEqual([]);
  });

  it("a replay sends the log, then what was not sent, then the trailers; the end moves to the last piece", () => {
    const prev = new Half(0);
    startLog(prev, 100);
    logSent(prev, b("sent"));
    enqueue(prev, b("queued"), false, 6);
    prev.ended = true;
    const withTrailers = replayQueue(prev, [["grpc-status", "0"]]);
    expect(withTrailers.queue.map((p) => [String(p.data), p.end, p.flowLen])).toEqual([
      ["sent", false, 0],
      ["queued", false, 6],
    ]);
    expect(withTrailers.tail).toEqual([["grpc-status", "0"]]);
    const noTrailers = replayQueue(prev, undefined);
    expect(noTrailers.queue.at(-1)?.end).toBe(true);
    expect(noTrailers.tail).toBeUndefined();
  });

  it("a request still open replays without an end", () => {
    const prev = new Half(0);
    startLog(prev, 100);
    logSent(prev, b("a"));
    const r = replayQueue(prev, undefined);
    expect(r.queue.map((p) => p.end)).toEqual([false]);
  });
});

describe("queue meter", () => {
  it("counts a connection's queued DATA across halves as it is queued, replaced and dropped", () => {
    const meter: QueueMeter = { queued: 0 };
    const h1 = new Half(0, meter);
    const h2 = new Half(0, meter);
    enqueue(h1, Buffer.alloc(100), false, 100);
    enqueue(h2, Buffer.alloc(50), false, 50);
    expect(meter.queued).toBe(150);
    replaceQueue(h1, [{ data: Buffer.alloc(7), end: true, flowLen: 0 }]);
    expect([h1.bytes, meter.queued]).toEqual([7, 57]);
    replaceQueue(h1);
    replaceQueue(h2);
    expect([h1.bytes, h2.bytes, meter.queued]).toEqual([0, 0, 0]);
  });
});

describe("upstream request headers", () => {
  const req: HeaderField[] = [
    [":method", "POST"],
    [":scheme", "http"],
    [":path", "/svc.S/M"],
    [":authority", "svc"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ["connection", "keep-alive"],
    ["l5d-dtab", "/svc=>/x"],
    ["grpc-timeout", "5S"],
    ["x-keep", "1"],
  ];

  it("drops hop-by-hop fields and the router's removals, sets its edits, keeps te: trailers", () => {
    const out = upstreamHeaders(req, { remove: ["l5d-dtab"], set: { "l5d-ctx-x": "y" } }, false);
    expect(out.map((f) => f[0])).toEqual([
      ":method",
      ":scheme",
      ":path",
      ":authority",
      "content-type",
      "te",
      "grpc-timeout",
      "x-keep",
      "l5d-ctx-x",
    ]);
    expect(out.find((f) => f[0] === "l5d-ctx-x")?.[1]).toBe("y");
  });

  it("a set edit replaces every field of its name", () => {
    const out = upstreamHeaders(req, { set: { "x-keep": "2" } }, false);
    expect(out.filter((f) => f[0] === "x-keep")).toEqual([["x-keep", "2"]]);
  });

  it("with a deadline the client's grpc-timeout gives way to the last field, written per attempt", () => {
    const out = upstreamHeaders(req, undefined, true);
    expect(out.filter((f) => f[0] === "grpc-timeout")).toEqual([["grpc-timeout", ""]]);
    expect(out.at(-1)?.[0]).toBe("grpc-timeout");
  });

  it("an HTTP/1.1 Upgrade's Host becomes :authority, first (RFC 9113 §8.3)", () => {
    const out = upstreamHeaders(
      [
        [":method", "GET"],
        [":scheme", "http"],
        [":path", "/"],
        ["host", "web:8080"],
      ],
      undefined,
      false,
    );
    expect(out[0]).toEqual([":authority", "web:8080"]);
  });

  it("a block without hop-by-hop fields is returned as is (no copy)", () => {
    const clean: HeaderField[] = [[":status", "200"]];
    expect(withoutHopByHop(clean)).toBe(clean);
    expect(
      withoutHopByHop([
        [":status", "200"],
        ["connection", "close"],
      ]),
    ).toEqual([[":status", "200"]]);
  });

  it("an endpoint's key is made once per endpoint object", () => {
    const ep = { host: "127.0.0.1", port: 8080 };
    const k = endpointKey(ep);
    expect(k).toBe("127.0.0.1:8080");
    expect(endpointKey(ep)).toBe(k);
  });
});

describe("held response", () => {
  it("holds headers and bytes; clearHeld forgets them and stops the classification timer", () => {
    const h: Held = {
      heldHeaders: undefined,
      heldTrailersOnly: false,
      heldBytes: 0,
      classTimer: undefined,
    };
    hold(h, [[":status", "200"]], true);
    expect([h.heldHeaders, h.heldTrailersOnly]).toEqual([[[":status", "200"]], true]);
    h.heldBytes = 10;
    let fired = false;
    h.classTimer = setTimeout(() => {
      fired = true;
    }, 1);
    clearHeld(h);
    expect(h).toEqual({
      heldHeaders: undefined,
      heldTrailersOnly: false,
      heldBytes: 0,
      classTimer: undefined,
    });
    return new Promise<void>((res) =>
      setTimeout(() => {
        expect(fired).toBe(false);
        res();
      }, 10),
    );
  });
});

describe("stream phases and errors", () => {
  it("phases are ordered (RelayStream compares them: >= Answered means no more attempts)", () => {
    expect(ReplyPhase.Routing < ReplyPhase.Holding).toBe(true);
    expect(ReplyPhase.Holding < ReplyPhase.Answered).toBe(true);
    expect(ReplyPhase.Answered < ReplyPhase.Done).toBe(true);
    expect(ResponsePhase.AwaitingHeaders < ResponsePhase.Receiving).toBe(true);
    expect(ResponsePhase.Receiving < ResponsePhase.Complete).toBe(true);
  });

  it("an upstream's reset maps to the gRPC and HTTP status a client sees", () => {
    const refused = upstreamReset("10.0.0.1:80", ErrorCode.REFUSED_STREAM);
    expect([refused.grpcStatus, refused.httpStatus, refused.message]).toEqual([
      GrpcStatus.UNAVAILABLE,
      503,
      "10.0.0.1:80 reset the stream (REFUSED_STREAM)",
    ]);
    const internal = upstreamReset("e", ErrorCode.INTERNAL_ERROR);
    expect([internal.grpcStatus, internal.httpStatus]).toEqual([GrpcStatus.INTERNAL, 502]);
    expect(clientReset(ErrorCode.CANCEL).code).toBe("CLIENT_RESET");
  });

  it("a lost connection and a failed connect say which, and why when known", () => {
    expect(upstreamLost("e", true, "GOAWAY PROTOCOL_ERROR, last stream 1").message).toBe(
      "e: connection lost (GOAWAY PROTOCOL_ERROR, last stream 1)",
    );
    const failed = upstreamLost("e", false, undefined);
    expect([failed.code, failed.message]).toEqual(["UPSTREAM_CONNECT_FAILED", "e: connect failed"]);
  });

  it("a local answer is trailers-only for gRPC, a status with l5d-err otherwise", () => {
    const g = localAnswer(true, GrpcStatus.UNAVAILABLE, 503, "no endpoint: a b");
    expect(g).toContainEqual(["grpc-status", "14"]);
    expect(g).toContainEqual([":status", "200"]);
    const h = localAnswer(false, GrpcStatus.UNAVAILABLE, 503, "no endpoint");
    expect(h[0]).toEqual([":status", "503"]);
    expect(h).toContainEqual(["l5d-err", "no%20endpoint"]);
  });
});
