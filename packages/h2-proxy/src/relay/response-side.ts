/**
 * The response side of a relayed stream: what the current attempt's upstream stream sends and
 * how it can end early. Its header blocks and DATA are checked (`response-check.ts`: nothing
 * malformed goes downstream) and then either held for the router (`ReplyPhase.Holding`,
 * `exchange-attempt.ts`) or relayed to the client through the downstream `Half`
 * (`flow-half.ts`): straight through when nothing is queued ahead and the client's windows take
 * it, else queued. Response DATA past the stream window we advertised, or before the HEADERS, is
 * a stream error of the upstream's (its stream reset, the request failed as an upstream error);
 * so is a malformed response (PROTOCOL_ERROR). An upstream reset or a lost connection fails the
 * attempt (`RelayStream.upFailed`: requeued when unprocessed) unless its response was complete.
 *
 * The response's fields live in the stream (`status`, `grpcStatus`, `bytesOut`, and
 * `ResponseLength` for the `content-length` check).
 */
import { ErrorCode, type HeaderField } from "@l5d/h2";
import { headerValue } from "../router/header-list.js";
import { heldData, holdResponse, settleHeld } from "./exchange-attempt.js";
import { enqueue, outstanding, sendNow } from "./flow-half.js";
import { upstreamLost, upstreamReset } from "./relay-errors.js";
import type { RelayStream } from "./relay-stream.js";
import { dataProblem, responseHeadersProblem, trailersProblem } from "./response-check.js";
import { releaseResponseWindow } from "./response-window.js";
import { ReplyPhase, ResponsePhase } from "./stream-phase.js";
import type { UpConn } from "./upstream.js";
import { withoutHopByHop } from "./upstream-request.js";

/** The upstream's response is complete: it sends no more DATA, so its window is released. */
function responseComplete(s: RelayStream): void {
  s.response = ResponsePhase.Complete;
  releaseResponseWindow(s);
}

/** Response headers or trailers; `charsProblem`: the decoder found invalid characters in them. */
export function onRespHeaders(
  s: RelayStream,
  fields: HeaderField[],
  end: boolean,
  charsProblem: string | undefined,
): void {
  if (s.done) return;
  const first = s.response === ResponsePhase.AwaitingHeaders;
  // RFC 9113 §8.1.1: a malformed response never goes downstream
  const why =
    charsProblem ??
    (first
      ? responseHeadersProblem(fields, end, headerValue(s.headers, ":method"), s)
      : trailersProblem(fields, end, s));
  if (why !== undefined) {
    upMalformed(s, `malformed response: ${why}`);
    return;
  }
  const out = withoutHopByHop(fields);
  if (!first) {
    // trailers
    readGrpcStatus(s, fields);
    responseComplete(s);
    s.toDown.tail = out;
    if (s.reply === ReplyPhase.Holding) settleHeld(s, undefined, false);
    else s.flushDown();
    return;
  }
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    if (f[0] === ":status") s.status = Number(f[1]);
  }
  const holding = s.reply === ReplyPhase.Holding;
  if (s.status >= 100 && s.status < 200) {
    if (!holding) s.down.conn.headers(s.id, out, false);
    return;
  }
  if (end) {
    responseComplete(s);
    readGrpcStatus(s, fields);
  } else s.response = ResponsePhase.Receiving;
  if (holding) {
    holdResponse(s, out, end);
    return;
  }
  // not held: the response is committed as it starts; no other attempt needs the replay log
  s.reply = ReplyPhase.Answered;
  if (s.toUp !== undefined) s.toUp.log = undefined;
  if (end) s.toDown.ended = true;
  s.down.conn.headers(s.id, out, end);
  if (end) s.maybeDone();
}

function readGrpcStatus(s: RelayStream, fields: HeaderField[]): void {
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    if (f[0] === "grpc-status") s.grpcStatus = Number(f[1]);
  }
}

/** A response DATA frame (`flowLen`: the flow-controlled length, padding included). */
export function onRespData(s: RelayStream, data: Buffer, end: boolean, flowLen: number): void {
  const up = s.up as UpConn;
  // the upstream's connection window goes back at once (held or queued bytes must not pin the
  // shared connection); its stream window only once the bytes are written downstream
  if (flowLen > 0) up.conn.consumed(flowLen);
  if (s.response === ResponsePhase.AwaitingHeaders) {
    upStreamError(s, ErrorCode.PROTOCOL_ERROR, "response DATA before its HEADERS");
    return;
  }
  const half = s.toDown;
  if (outstanding(half) + flowLen > s.upWindow) {
    upStreamError(s, ErrorCode.FLOW_CONTROL_ERROR, "response DATA past the stream window");
    return;
  }
  const why = dataProblem(data.length, end, s);
  if (why !== undefined) {
    // dropped (its connection window went back above)
    upMalformed(s, `malformed response: ${why}`);
    return;
  }
  s.bytesOut += data.length;
  if (end) responseComplete(s);
  const holding = s.reply === ReplyPhase.Holding;
  if (!holding && !half.ended) {
    // straight through when nothing is queued ahead and the client's windows allow it
    if (sendNow(half, data, end, flowLen, s.down.conn, s.id, up.conn, s.upId)) {
      if (half.ended) s.maybeDone();
      return;
    }
  }
  enqueue(half, data, end, flowLen);
  const down = s.down;
  if (down.queued.queued > down.limits.h2.maxQueuedDataBytes) down.overQueued();
  if (holding) {
    heldData(s, data.length, end);
    return;
  }
  s.flushDown();
}

/**
 * A stream error of the upstream's found here: DATA before the response's HEADERS (a malformed
 * response, RFC 9113 §8.1) or past the stream window we advertised (§6.9). The upstream stream
 * is reset with `code` and the request fails as an upstream error (`RelayStream.onUpStreamError`)
 * instead of passing the bytes on.
 */
function upStreamError(s: RelayStream, code: number, what: string): void {
  if (!s.upClosed) s.up?.conn.rstStream(s.upId, code);
  s.onUpStreamError(code, what);
}

/**
 * A malformed response (RFC 9113 §8.1.1): a stream error PROTOCOL_ERROR. The upstream stream
 * is reset with it and the request fails (502 / gRPC INTERNAL, `l5d-err` naming the upstream
 * and `why`; the client's stream is reset if the response had started): nothing malformed
 * goes downstream.
 */
function upMalformed(s: RelayStream, why: string): void {
  upStreamError(s, ErrorCode.PROTOCOL_ERROR, why);
}

/** The upstream reset its stream (REFUSED_STREAM before the response: unprocessed). */
export function onUpReset(s: RelayStream, code: number): void {
  if (s.done) return;
  s.closeUp();
  const complete = s.response === ResponsePhase.Complete;
  if (complete && code === 0) {
    // the response is complete: the upstream stops the request (NO_ERROR); so does the client
    s.dropRequest = true;
    s.maybeDone();
    return;
  }
  if (s.responded && s.toDown.ended) {
    if (!s.toUpDone()) s.down.conn.rstStream(s.id, code);
    s.finish();
    return;
  }
  s.upFailed(
    upstreamReset(s.endpoint, code),
    code === ErrorCode.REFUSED_STREAM && s.response === ResponsePhase.AwaitingHeaders,
    code === ErrorCode.NO_ERROR ? ErrorCode.INTERNAL_ERROR : code,
  );
}

/** The upstream connection is gone (before its handshake completed: unprocessed). */
export function onUpLost(s: RelayStream): void {
  if (s.done) return;
  s.closeUp();
  if (s.response === ResponsePhase.Complete) {
    s.dropRequest = true;
    s.maybeDone();
    return;
  }
  const up = s.up as UpConn;
  const connected = up.connected;
  const cause = (connected ? up.goawayError : undefined) || up.lastError?.message;
  s.upFailed(
    upstreamLost(s.endpoint, connected, cause),
    !connected && s.response === ResponsePhase.AwaitingHeaders,
    ErrorCode.INTERNAL_ERROR,
  );
}
