import {
  type ClientHttp2Stream,
  constants,
  type Http2Session,
  type IncomingHttpHeaders,
  type IncomingHttpStatusHeader,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import {
  DataplaneError,
  GrpcStatus,
  grpcStatusForRstCode,
  H2Code,
  httpStatusForRstCode,
} from "./errors.js";
import { encodeGrpcTimeout, parseGrpcTimeout } from "./grpc-timeout.js";
import { forwardHeaders, type HeaderEdits, isGrpcContentType } from "./headers.js";
import { resetStream } from "./reset-stream.js";
import { respondError } from "./respond-error.js";
import type { Endpoint, UpstreamEndpoint, UpstreamPool } from "./upstream-pool.js";

/**
 * Request body bytes kept so that a stream the upstream never processed (REFUSED_STREAM,
 * streams above a GOAWAY's last-stream-id, a connection that never came up) can be replayed
 * once. Linkerd's h2 retry buffer is 16,383 bytes (issue #1701: larger buffers pinned flow
 * control windows; ours does not hold window credit, node already granted it).
 */
const REPLAY_LIMIT = 16_383;
const END_STREAM = constants.NGHTTP2_FLAG_END_STREAM;

/** The outcome of one forwarded request, for metrics and response classifiers. */
export interface ForwardResult {
  /** HTTP status sent downstream (200 for gRPC trailers-only errors); 0 if none was sent. */
  readonly status: number;
  /** `grpc-status` sent downstream (from trailers or a trailers-only response), if any. */
  readonly grpcStatus?: number | undefined;
  /** Why the exchange failed, when it failed in the proxy or the upstream connection. */
  readonly error?: Error | undefined;
  /** RST_STREAM code of the downstream stream, when it was reset (by the client or by us). */
  readonly reset?: number | undefined;
  /** Request body bytes received from the client. */
  readonly bytesIn: number;
  /** Response body bytes sent to the client. */
  readonly bytesOut: number;
  /** Wall time from `forward` to the downstream stream's close. */
  readonly durationMs: number;
  /** The endpoint that answered last (after a requeue it differs from the first). */
  readonly endpoint: string;
  /** True when the request was replayed once after the upstream refused it unprocessed. */
  readonly retried: boolean;
}

/** Per-request options of {@link forward}. */
export interface ForwardOptions {
  /** Header edits from the router (`l5d-dst-*`, `l5d-ctx-*`...), applied after hop-by-hop removal. */
  readonly edits?: HeaderEdits | undefined;
  /**
   * A router deadline (Linkerd `totalTimeoutMs`), combined with the request's `grpc-timeout`
   * (the earlier wins). At expiry the upstream stream gets RST_STREAM(CANCEL) and the client
   * DEADLINE_EXCEEDED (gRPC) or 504.
   */
  readonly deadlineMs?: number | undefined;
  /** Whether the request is gRPC; computed from `content-type` when omitted. */
  readonly isGrpc?: boolean | undefined;
  /**
   * Picks the endpoint for the one replay of an unprocessed request (Linkerd's requeues);
   * by default the same endpoint is used.
   */
  readonly requeue?: (() => Endpoint | undefined) | undefined;
  /** Called once with the outcome, when the downstream stream closes. */
  readonly onComplete?: ((r: ForwardResult) => void) | undefined;
}

/**
 * Forwards one incoming stream to `endpoint` through `pool`: headers (hop-by-hop removed,
 * `te: trailers` kept, edits applied), both bodies streamed at once with back-pressure,
 * trailers (also trailers-only responses), resets in both directions and `grpc-timeout`.
 * Resolves when the downstream stream has closed.
 */
export function forward(
  pool: UpstreamPool,
  downstream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  endpoint: Endpoint,
  opts: ForwardOptions = {},
): Promise<ForwardResult> {
  return new Promise((resolve) => {
    new Exchange(pool, downstream, headers, endpoint, opts, resolve).start();
  });
}

class Exchange {
  private readonly startedAt = performance.now();
  private readonly isGrpc: boolean;
  private readonly reqHeaders: OutgoingHttpHeaders;
  private target: UpstreamEndpoint;
  private up: ClientHttp2Stream | undefined;
  private upSession: Http2Session | undefined;
  private upError: Error | undefined;
  private attempts = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private reqEnded = false;
  private reqTrailers: OutgoingHttpHeaders | undefined;
  private replay: Buffer[] | null = [];
  private replayBytes = 0;
  private responded = false;
  private respEnded = false;
  private trailers: OutgoingHttpHeaders | undefined;
  private status = 0;
  private grpcStatus: number | undefined;
  private error: Error | undefined;
  private deadlineAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private deadlineHit = false;
  private finished = false;

  constructor(
    private readonly pool: UpstreamPool,
    private readonly down: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    endpoint: Endpoint,
    private readonly opts: ForwardOptions,
    private readonly resolve: (r: ForwardResult) => void,
  ) {
    this.isGrpc = opts.isGrpc ?? isGrpcContentType(headers["content-type"]);
    this.reqHeaders = forwardHeaders(headers, opts.edits);
    if (this.reqHeaders[":authority"] === undefined && headers.host !== undefined) {
      this.reqHeaders[":authority"] = headers.host;
    }
    this.target = pool.get(endpoint);
    const grpcTimeout = parseGrpcTimeout(headers["grpc-timeout"]);
    const budget =
      grpcTimeout === undefined
        ? opts.deadlineMs
        : opts.deadlineMs === undefined
          ? grpcTimeout
          : Math.min(grpcTimeout, opts.deadlineMs);
    if (budget !== undefined) this.deadlineAt = this.startedAt + budget;
  }

  start(): void {
    // One-shot events ('close', 'end', 'trailers', 'wantTrailers') use `on`: each stream emits
    // them at most once, and `once` would allocate a wrapper per listener per request.
    const down = this.down as Tagged<ServerHttp2Stream>;
    down[EXCHANGE] = this;
    down.on("close", downOnClose);
    if (down.destroyed) {
      this.finish();
      return;
    }
    if (down.endAfterHeaders || down.readableEnded) {
      this.reqEnded = true;
    } else {
      down.on("data", downOnData);
      down.on("end", downOnEnd);
      down.on("trailers", downOnTrailers);
    }
    if (this.deadlineAt !== 0) {
      const remaining = this.deadlineAt - performance.now();
      if (remaining <= 0) {
        this.onDeadline();
        return;
      }
      this.timer = setTimeout(onDeadlineTimer, remaining, this);
    }
    this.attempt();
  }

  private attempt(): void {
    this.attempts++;
    if (this.deadlineAt !== 0 && (this.isGrpc || this.reqHeaders["grpc-timeout"] !== undefined)) {
      this.reqHeaders["grpc-timeout"] = encodeGrpcTimeout(this.deadlineAt - performance.now());
    }
    const endStream = this.reqEnded && this.bytesIn === 0 && this.reqTrailers === undefined;
    let up: ClientHttp2Stream;
    try {
      up = this.target.request(this.reqHeaders, { endStream, waitForTrailers: !endStream });
    } catch (err) {
      this.failLocal(err as Error);
      return;
    }
    (up as Tagged<ClientHttp2Stream>)[EXCHANGE] = this;
    this.up = up;
    this.upSession = up.session;
    this.upError = undefined;
    up.on("error", upOnError);
    up.on("response", upOnResponse);
    up.on("data", upOnData);
    up.on("trailers", upOnTrailers);
    up.on("end", upOnEnd);
    up.on("close", upOnClose);
    if (!endStream) up.on("wantTrailers", upOnWantTrailers);
    if (this.attempts > 1) {
      if (this.replay !== null) for (const chunk of this.replay) up.write(chunk);
      if (this.reqEnded) up.end();
      if (this.down.isPaused()) this.down.resume();
    }
  }

  // ---- request direction: downstream → upstream ----

  onReqData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    if (this.replay !== null) {
      if (this.replayBytes + chunk.length <= REPLAY_LIMIT) {
        this.replay.push(chunk);
        this.replayBytes += chunk.length;
      } else {
        this.replay = null;
      }
    }
    const up = this.up;
    if (up === undefined || up.destroyed) return;
    if (!up.write(chunk)) {
      this.down.pause();
      up.once("drain", upOnDrain);
    }
  }

  onUpDrain(): void {
    if (!this.down.destroyed) this.down.resume();
  }

  onReqEnd(): void {
    this.reqEnded = true;
    const up = this.up;
    if (up !== undefined && !up.destroyed) up.end();
  }

  onReqTrailers(t: IncomingHttpHeaders): void {
    this.reqTrailers = forwardHeaders(t);
  }

  onUpWantTrailers(): void {
    const up = this.up;
    if (up !== undefined && !up.destroyed) up.sendTrailers(this.reqTrailers ?? {});
  }

  // ---- response direction: upstream → downstream ----

  onResponse(headers: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number): void {
    this.replay = null;
    this.status = Number(headers[":status"]);
    const down = this.down;
    if (down.destroyed) return;
    const out = forwardHeaders(headers);
    this.responded = true;
    try {
      if ((flags & END_STREAM) !== 0) {
        const gs = headers["grpc-status"];
        if (gs !== undefined) this.grpcStatus = Number(gs);
        this.respEnded = true;
        down.respond(out, { endStream: true });
      } else {
        down.on("wantTrailers", downOnWantTrailers);
        down.respond(out, { waitForTrailers: true });
      }
    } catch (err) {
      this.error = err as Error;
      resetStream(down, H2Code.INTERNAL_ERROR);
    }
  }

  onRespData(chunk: Buffer): void {
    this.bytesOut += chunk.length;
    const down = this.down;
    if (down.destroyed || !this.responded) return;
    if (!down.write(chunk)) {
      this.up?.pause();
      down.once("drain", downOnDrain);
    }
  }

  onDownDrain(): void {
    const up = this.up;
    if (up !== undefined && !up.destroyed) up.resume();
  }

  onRespTrailers(t: IncomingHttpHeaders): void {
    this.trailers = forwardHeaders(t);
    const gs = t["grpc-status"];
    if (gs !== undefined) this.grpcStatus = Number(gs);
  }

  onRespEnd(): void {
    // Trailers-only responses already ended with the headers. node:http2 also emits 'end'
    // for streams it destroys (RST_STREAM received, connection lost): those were destroyed
    // before 'end', a genuine END_STREAM was not; `onUpClose` handles the former.
    const up = this.up;
    if (this.respEnded || !this.responded || up === undefined || up.destroyed) return;
    this.respEnded = true;
    const down = this.down;
    if (!down.destroyed && this.responded) down.end();
  }

  onDownWantTrailers(): void {
    const down = this.down;
    if (!down.destroyed) down.sendTrailers(this.trailers ?? {});
  }

  // ---- endings ----

  onUpError(err: Error): void {
    this.upError = err;
  }

  onUpClose(): void {
    if (this.finished || this.deadlineHit) return;
    const down = this.down;
    if (this.respEnded) {
      // The upstream finished its response before the client finished its request (or reset
      // it with NO_ERROR): tell the client to stop sending once the response is flushed.
      if (!this.reqEnded && !down.destroyed) down.close(H2Code.NO_ERROR);
      return;
    }
    const up = this.up as ClientHttp2Stream;
    // node:http2 closes the streams of a lost connection with CANCEL or NO_ERROR and no error:
    // tell that apart from a RST_STREAM the upstream sent by looking at the session.
    const lost = this.upSession?.destroyed === true;
    const code = lost ? H2Code.NO_ERROR : (up.rstCode ?? 0);
    const key = this.target.key;
    if (!this.responded) {
      const unprocessed = code === H2Code.REFUSED_STREAM || up.id === undefined;
      if (unprocessed && this.attempts === 1 && this.replay !== null && !down.destroyed) {
        const next = this.opts.requeue?.();
        if (next !== undefined) this.target = this.pool.get(next);
        this.attempt();
        return;
      }
      const cause = this.upError;
      if (!lost && isStreamReset(code, cause)) {
        this.failLocal(
          new DataplaneError(
            "UPSTREAM_RESET",
            `${key} reset the stream (${rstName(code)})`,
            grpcStatusForRstCode(code),
            httpStatusForRstCode(code),
            code,
            { cause },
          ),
        );
      } else {
        this.failLocal(
          new DataplaneError(
            up.id === undefined ? "UPSTREAM_CONNECT_FAILED" : "UPSTREAM_CONNECTION_LOST",
            `${key}: ${cause?.message ?? "connection lost"}`,
            GrpcStatus.UNAVAILABLE,
            502,
            code,
            { cause },
          ),
        );
      }
      return;
    }
    // Headers already went downstream: reset the client's stream too.
    const reset = !lost && isStreamReset(code, this.upError);
    this.error = new DataplaneError(
      reset ? "UPSTREAM_RESET" : "UPSTREAM_CONNECTION_LOST",
      reset
        ? `${key} reset the stream (${rstName(code)})`
        : `${key}: ${this.upError?.message ?? "connection lost"}`,
      grpcStatusForRstCode(code),
      httpStatusForRstCode(code),
      code,
    );
    resetStream(down, code === H2Code.NO_ERROR ? H2Code.INTERNAL_ERROR : code);
  }

  onDeadline(): void {
    if (this.finished) return;
    this.deadlineHit = true;
    this.timer = undefined;
    const budget = Math.round(this.deadlineAt - this.startedAt);
    const message = `deadline exceeded after ${budget} ms waiting for ${this.target.key}`;
    const err = new DataplaneError("DEADLINE_EXCEEDED", message, GrpcStatus.DEADLINE_EXCEEDED, 504);
    const up = this.up;
    if (up !== undefined) resetStream(up, H2Code.CANCEL);
    const down = this.down;
    if (!this.responded) {
      this.failLocal(err);
      return;
    }
    this.error = err;
    if (down.destroyed || this.respEnded) return;
    if (this.isGrpc) {
      this.trailers = {
        "grpc-status": String(GrpcStatus.DEADLINE_EXCEEDED),
        "grpc-message": message,
      };
      this.grpcStatus = GrpcStatus.DEADLINE_EXCEEDED;
      this.respEnded = true;
      down.end();
    } else {
      resetStream(down, H2Code.CANCEL);
    }
  }

  private failLocal(err: Error): void {
    this.replay = null;
    this.error = err;
    const e =
      err instanceof DataplaneError
        ? err
        : new DataplaneError("UPSTREAM_UNAVAILABLE", err.message, GrpcStatus.UNAVAILABLE, 502);
    this.status = this.isGrpc ? 200 : e.httpStatus;
    if (this.isGrpc) this.grpcStatus = e.grpcStatus;
    this.responded = true;
    this.respEnded = true;
    respondError(this.down, this.isGrpc, e);
  }

  onDownClose(): void {
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const up = this.up;
    if (up !== undefined) resetStream(up, H2Code.CANCEL);
    const rst = this.down.rstCode;
    const reset = rst !== undefined && rst !== H2Code.NO_ERROR ? rst : undefined;
    const result: ForwardResult = {
      status: this.status,
      grpcStatus: this.grpcStatus,
      error: this.error,
      reset,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      durationMs: performance.now() - this.startedAt,
      endpoint: this.target.key,
      retried: this.attempts > 1,
    };
    this.opts.onComplete?.(result);
    this.resolve(result);
  }
}

// ---- shared listeners ----
// One set of module-level listeners for every exchange (the stream points at its exchange),
// instead of a dozen bound closures allocated per request.

const EXCHANGE = Symbol("l5d.exchange");
type Tagged<S> = S & { [EXCHANGE]?: Exchange };
type Ev = { [EXCHANGE]?: Exchange };

function downOnClose(this: Ev): void {
  this[EXCHANGE]?.onDownClose();
}
function downOnData(this: Ev, chunk: Buffer): void {
  this[EXCHANGE]?.onReqData(chunk);
}
function downOnEnd(this: Ev): void {
  this[EXCHANGE]?.onReqEnd();
}
function downOnTrailers(this: Ev, t: IncomingHttpHeaders): void {
  this[EXCHANGE]?.onReqTrailers(t);
}
function downOnWantTrailers(this: Ev): void {
  this[EXCHANGE]?.onDownWantTrailers();
}
function downOnDrain(this: Ev): void {
  this[EXCHANGE]?.onDownDrain();
}
function upOnError(this: Ev, err: Error): void {
  this[EXCHANGE]?.onUpError(err);
}
function upOnResponse(
  this: Ev,
  headers: IncomingHttpHeaders & IncomingHttpStatusHeader,
  flags: number,
): void {
  this[EXCHANGE]?.onResponse(headers, flags);
}
function upOnData(this: Ev, chunk: Buffer): void {
  this[EXCHANGE]?.onRespData(chunk);
}
function upOnTrailers(this: Ev, t: IncomingHttpHeaders): void {
  this[EXCHANGE]?.onRespTrailers(t);
}
function upOnEnd(this: Ev): void {
  this[EXCHANGE]?.onRespEnd();
}
function upOnClose(this: Ev): void {
  this[EXCHANGE]?.onUpClose();
}
function upOnWantTrailers(this: Ev): void {
  this[EXCHANGE]?.onUpWantTrailers();
}
function upOnDrain(this: Ev): void {
  this[EXCHANGE]?.onUpDrain();
}
function onDeadlineTimer(ex: Exchange): void {
  ex.onDeadline();
}

const RST_NAMES: Readonly<Record<number, string>> = {
  0: "NO_ERROR",
  1: "PROTOCOL_ERROR",
  2: "INTERNAL_ERROR",
  3: "FLOW_CONTROL_ERROR",
  4: "SETTINGS_TIMEOUT",
  5: "STREAM_CLOSED",
  6: "FRAME_SIZE_ERROR",
  7: "REFUSED_STREAM",
  8: "CANCEL",
  9: "COMPRESSION_ERROR",
  10: "CONNECT_ERROR",
  11: "ENHANCE_YOUR_CALM",
  12: "INADEQUATE_SECURITY",
  13: "HTTP_1_1_REQUIRED",
};

/** True when the upstream itself reset the stream (rather than the connection failing). */
function isStreamReset(code: number, cause: Error | undefined): boolean {
  if (code === H2Code.NO_ERROR) return false;
  return cause === undefined || (cause as { code?: string }).code === "ERR_HTTP2_STREAM_ERROR";
}

function rstName(code: number): string {
  return RST_NAMES[code] ?? `code ${code}`;
}
