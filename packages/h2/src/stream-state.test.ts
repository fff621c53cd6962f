import { describe, expect, it } from "vitest";
import {
  afterRecv,
  afterReset,
  afterSend,
  isClosed,
  isConnectionError,
  PeerStreams,
  RECENT_CLOSED,
  StreamState,
  streamStateName,
  Verdict,
  verdict,
  verdictCode,
} from "./stream-state.js";
import { ErrorCode } from "./wire.js";

const S = StreamState;

describe("RFC 9113 §5.1 transitions", () => {
  it("a request stream on the server: idle -> open -> half-closed (remote) -> closed", () => {
    let s: StreamState = S.Idle;
    s = afterRecv(s, false);
    expect(s).toBe(S.Open);
    s = afterRecv(s, false); // DATA
    expect(s).toBe(S.Open);
    s = afterRecv(s, true);
    expect(s).toBe(S.HalfClosedRemote);
    s = afterSend(s, false); // response HEADERS
    expect(s).toBe(S.HalfClosedRemote);
    s = afterSend(s, true);
    expect(s).toBe(S.ClosedEndStream);
  });

  it("HEADERS with END_STREAM opens half-closed; our END_STREAM first is half-closed (local)", () => {
    expect(afterRecv(S.Idle, true)).toBe(S.HalfClosedRemote);
    expect(afterSend(S.Idle, true)).toBe(S.HalfClosedLocal);
    expect(afterSend(S.Idle, false)).toBe(S.Open);
    expect(afterSend(S.Open, true)).toBe(S.HalfClosedLocal);
    expect(afterRecv(S.HalfClosedLocal, false)).toBe(S.HalfClosedLocal);
    expect(afterRecv(S.HalfClosedLocal, true)).toBe(S.ClosedEndStream);
  });

  it("RST_STREAM either way closes any open state, and names who reset", () => {
    for (const s of [S.Idle, S.Open, S.HalfClosedLocal, S.HalfClosedRemote]) {
      expect(afterReset(s, true)).toBe(S.ClosedResetByUs);
      expect(afterReset(s, false)).toBe(S.ClosedResetByPeer);
    }
    // a closed stream keeps its first cause
    expect(afterReset(S.ClosedEndStream, true)).toBe(S.ClosedEndStream);
    expect(afterReset(S.ClosedResetByPeer, true)).toBe(S.ClosedResetByPeer);
    expect(isClosed(S.ClosedResetByUs)).toBe(true);
    expect(isClosed(S.HalfClosedRemote)).toBe(false);
    expect(streamStateName(S.HalfClosedRemote)).toBe("HalfClosedRemote");
  });
});

describe("RFC 9113 §5.1 frames received per state (verdict)", () => {
  const table: Array<[StreamState, Verdict, Verdict]> = [
    // state, DATA, HEADERS
    [S.Idle, Verdict.ConnectionProtocolError, Verdict.Accept],
    [S.Open, Verdict.Accept, Verdict.Accept],
    [S.HalfClosedLocal, Verdict.Accept, Verdict.Accept],
    [S.HalfClosedRemote, Verdict.StreamClosed, Verdict.StreamClosed],
    [S.ClosedEndStream, Verdict.ConnectionStreamClosed, Verdict.ConnectionStreamClosed],
    [S.ClosedResetByPeer, Verdict.StreamClosed, Verdict.StreamClosed],
    [S.ClosedResetByUs, Verdict.Ignore, Verdict.Ignore],
    [S.ClosedSkipped, Verdict.ConnectionProtocolError, Verdict.ConnectionProtocolError],
    [S.ClosedForgotten, Verdict.Ignore, Verdict.Ignore],
  ];
  for (const [state, data, headers] of table) {
    it(`${streamStateName(state)}: DATA ${data}, HEADERS ${headers}`, () => {
      expect(verdict(state, false)).toBe(data);
      expect(verdict(state, true)).toBe(headers);
    });
  }

  it("maps verdicts to their error code and kind", () => {
    expect(verdictCode(Verdict.StreamClosed)).toBe(ErrorCode.STREAM_CLOSED);
    expect(verdictCode(Verdict.ConnectionStreamClosed)).toBe(ErrorCode.STREAM_CLOSED);
    expect(verdictCode(Verdict.ConnectionProtocolError)).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(isConnectionError(Verdict.StreamClosed)).toBe(false);
    expect(isConnectionError(Verdict.ConnectionStreamClosed)).toBe(true);
    expect(isConnectionError(Verdict.ConnectionProtocolError)).toBe(true);
    expect(isConnectionError(Verdict.Ignore)).toBe(false);
  });
});

describe("PeerStreams: idle vs closed once a stream is gone", () => {
  it("opens increasing ids; above the highest is idle", () => {
    const p = new PeerStreams();
    expect(p.stateOf(1)).toBe(S.Idle);
    expect(p.open(1)).toBeUndefined();
    expect(p.open(3)).toBeUndefined();
    expect(p.highest).toBe(3);
    expect(p.stateOf(5)).toBe(S.Idle);
  });

  it("5.1.1: ids skipped by a higher one are closed, never opened (an unexpected identifier)", () => {
    const p = new PeerStreams();
    expect(p.open(5)).toBeUndefined();
    expect(p.open(3)).toBe(S.ClosedSkipped);
    expect(p.stateOf(1)).toBe(S.ClosedSkipped);
    expect(p.open(7)).toBeUndefined();
    expect(p.open(13)).toBeUndefined();
    expect(p.stateOf(9)).toBe(S.ClosedSkipped);
    expect(p.stateOf(11)).toBe(S.ClosedSkipped);
  });

  it("records how streams closed; our reset wins over other records of the same id", () => {
    const p = new PeerStreams();
    for (let id = 1; id <= 7; id += 2) p.open(id);
    p.closed(1, S.ClosedEndStream);
    p.closed(3, S.ClosedResetByPeer);
    p.closed(3, S.ClosedEndStream);
    p.closed(5, S.ClosedResetByUs);
    p.closed(5, S.ClosedEndStream);
    expect(p.stateOf(1)).toBe(S.ClosedEndStream);
    expect(p.stateOf(3)).toBe(S.ClosedResetByPeer);
    expect(p.stateOf(5)).toBe(S.ClosedResetByUs);
    // opened, closed with no record (or forgotten): frames on it are ignored
    expect(p.stateOf(7)).toBe(S.ClosedForgotten);
    expect(p.open(5)).toBe(S.ClosedResetByUs);
  });

  it(`keeps the last ${RECENT_CLOSED} closures, then forgets`, () => {
    const p = new PeerStreams();
    const n = RECENT_CLOSED + 10;
    for (let i = 0; i < n; i++) {
      const id = 2 * i + 1;
      p.open(id);
      p.closed(id, S.ClosedEndStream);
    }
    expect(p.stateOf(1)).toBe(S.ClosedForgotten);
    expect(p.stateOf(2 * 9 + 1)).toBe(S.ClosedForgotten);
    expect(p.stateOf(2 * 10 + 1)).toBe(S.ClosedEndStream);
    expect(p.stateOf(2 * (n - 1) + 1)).toBe(S.ClosedEndStream);
  });
});
