/**
 * `UpStreams`, the client-side stream states of an upstream connection (RFC 9113 §5.1): the
 * transitions by frames sent and received, the verdicts on frames the upstream sends in each
 * state, and the bounded memory of closed streams. (The same rules on real sockets, through the
 * relay: `conformance-client.test.ts`.)
 */
import { ConnectionError, ErrorCode, StreamState, Verdict } from "@l5d/h2";
import { describe, expect, it } from "vitest";
import { CLOSED_KEPT, UpStreams } from "./up-streams.js";

/** The code of the connection error `f` throws (undefined when it throws none). */
function connectionError(f: () => unknown): number | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof ConnectionError) return e.code;
    throw e;
  }
  return undefined;
}

describe("UpStreams (RFC 9113 §5.1, client side)", () => {
  it("moves a stream through open, half-closed (local) and closed by END_STREAM both ways", () => {
    const t = new UpStreams();
    t.opened(1);
    expect(t.stateOf(1)).toBe(StreamState.Open);
    t.sentEnd(1);
    expect(t.stateOf(1)).toBe(StreamState.HalfClosedLocal);
    expect(t.onMessageFrame(1, "HEADERS", false)).toBe(Verdict.Accept);
    expect(t.onMessageFrame(1, "DATA", true)).toBe(Verdict.Accept);
    expect(t.stateOf(1)).toBe(StreamState.ClosedEndStream);
    expect(t.openCount).toBe(0);
    // closed after END_STREAM both ways: DATA / HEADERS are connection errors STREAM_CLOSED,
    // WINDOW_UPDATE and RST_STREAM are ignored
    expect(connectionError(() => t.onMessageFrame(1, "DATA", false))).toBe(ErrorCode.STREAM_CLOSED);
    expect(connectionError(() => t.onMessageFrame(1, "HEADERS", true))).toBe(
      ErrorCode.STREAM_CLOSED,
    );
    expect(t.onWindowUpdate(1)).toBe(Verdict.Ignore);
    expect(t.onReset(1)).toBe(Verdict.Ignore);
  });

  it("half-closed (remote): DATA and HEADERS are stream errors STREAM_CLOSED, WINDOW_UPDATE and RST_STREAM delivered", () => {
    const t = new UpStreams();
    t.opened(1);
    expect(t.onMessageFrame(1, "HEADERS", true)).toBe(Verdict.Accept);
    expect(t.stateOf(1)).toBe(StreamState.HalfClosedRemote);
    expect(t.receiving(1)).toBe(false);
    expect(t.onMessageFrame(1, "DATA", false)).toBe(Verdict.StreamClosed);
    expect(t.onMessageFrame(1, "HEADERS", false)).toBe(Verdict.StreamClosed);
    expect(t.onWindowUpdate(1)).toBe(Verdict.Accept);
    t.sentEnd(1);
    expect(t.stateOf(1)).toBe(StreamState.ClosedEndStream);
  });

  it("idle streams (even ids, odd ids not opened yet): connection errors PROTOCOL_ERROR but for PRIORITY", () => {
    const t = new UpStreams();
    t.opened(1);
    for (const id of [2, 3, 101]) {
      expect(t.stateOf(id)).toBe(StreamState.Idle);
      expect(connectionError(() => t.onMessageFrame(id, "HEADERS", true))).toBe(
        ErrorCode.PROTOCOL_ERROR,
      );
      expect(connectionError(() => t.onMessageFrame(id, "DATA", true))).toBe(
        ErrorCode.PROTOCOL_ERROR,
      );
      expect(connectionError(() => t.onReset(id))).toBe(ErrorCode.PROTOCOL_ERROR);
      expect(connectionError(() => t.onWindowUpdate(id))).toBe(ErrorCode.PROTOCOL_ERROR);
    }
    // a stream error on an idle stream (a PRIORITY) is sent, the stream stays idle
    expect(t.sendingReset(3)).toBe(true);
    expect(t.stateOf(3)).toBe(StreamState.Idle);
  });

  it("reset by the upstream: frames but RST_STREAM are stream errors STREAM_CLOSED; after our reset, ignored", () => {
    const t = new UpStreams();
    t.opened(1);
    expect(t.onReset(1)).toBe(Verdict.Accept);
    expect(t.stateOf(1)).toBe(StreamState.ClosedResetByPeer);
    expect(t.onReset(1)).toBe(Verdict.Ignore);
    expect(t.onMessageFrame(1, "DATA", false)).toBe(Verdict.StreamClosed);
    expect(t.onWindowUpdate(1)).toBe(Verdict.StreamClosed);
    // our RST_STREAM(STREAM_CLOSED) for it: one, then everything is ignored
    expect(t.sendingReset(1)).toBe(true);
    expect(t.stateOf(1)).toBe(StreamState.ClosedResetByUs);
    expect(t.sendingReset(1)).toBe(false);
    expect(t.onMessageFrame(1, "DATA", true)).toBe(Verdict.Ignore);
    expect(t.onMessageFrame(1, "HEADERS", true)).toBe(Verdict.Ignore);
    expect(t.onWindowUpdate(1)).toBe(Verdict.Ignore);
  });

  it("keeps how the last CLOSED_KEPT streams closed; older ones are forgotten (ignored)", () => {
    const t = new UpStreams();
    const n = CLOSED_KEPT + 10;
    for (let i = 0; i < n; i++) {
      const id = 2 * i + 1;
      t.opened(id);
      t.sentEnd(id);
      t.onMessageFrame(id, "HEADERS", true);
    }
    expect(t.openCount).toBe(0);
    const last = 2 * (n - 1) + 1;
    expect(t.stateOf(last)).toBe(StreamState.ClosedEndStream);
    expect(t.stateOf(last - 2 * (CLOSED_KEPT - 1))).toBe(StreamState.ClosedEndStream);
    expect(t.stateOf(1)).toBe(StreamState.ClosedForgotten);
    expect(t.onMessageFrame(1, "DATA", false)).toBe(Verdict.Ignore);
    expect(t.stateOf(last + 2)).toBe(StreamState.Idle);
  });
});
