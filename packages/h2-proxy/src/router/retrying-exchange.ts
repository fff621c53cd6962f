/**
 * A retryable exchange (Linkerd's h2 ClassifiedRetryFilter, on node:http2): the request body is
 * kept up to `requestBufferBytes` so it can be replayed, and each attempt's response is held
 * (headers, up to `responseBufferBytes` of body, trailers) until it is complete, so it can be
 * classified — `grpc-status` lives in the trailers — before anything reaches the client. Only
 * then does the router choose: `commit()` the held response (or the local error) or `discard()`
 * it and start another attempt. A response larger than the buffer, or not complete within
 * `classificationTimeoutMs`, is streamed through at once and is no longer retryable; a request
 * body larger than its buffer makes the exchange non-replayable (nothing is ever retried after
 * streaming past the buffer). The total deadline (Linkerd `totalTimeoutMs`, combined with
 * `grpc-timeout`) spans every attempt and backoff; when it expires the client gets
 * DEADLINE_EXCEEDED (gRPC) or 504.
 *
 * The data plane's `forward()` commits response headers as soon as they arrive, so retries
 * after a response (5xx, grpc-status UNAVAILABLE) need this router-side exchange; it uses the
 * request's server stream and the router's upstream pool.
 */
import {
  type ClientHttp2Stream,
  constants,
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
} from "../dataplane/errors.js";
import { encodeGrpcTimeout, parseGrpcTimeout } from "../dataplane/grpc-timeout.js";
import { forwardHeaders, type HeaderEdits } from "../dataplane/headers.js";
import { respondError } from "../dataplane/respond-error.js";
import type { Endpoint as UpstreamAddress, UpstreamPool } from "../dataplane/upstream-pool.js";
import type { AttemptResult, Exchange, ExchangeOptions } from "./exchange.js";
import type { ForwardOutcome } from "./routable-request.js";

const END_STREAM = constants.NGHTTP2_FLAG_END_STREAM;

/** The options of a retrying exchange (shared with the relay's exchange). */
export type RetryingExchangeOptions = ExchangeOptions;

export type { AttemptResult };

interface Attempt {
  readonly up: ClientHttp2Stream | undefined;
  readonly key: string;
  readonly startedAt: number;
  written: number;
  endSent: boolean;
  status?: number;
  headers?: IncomingHttpHeaders;
  trailersOnly: boolean;
  chunks: Buffer[];
  bytes: number;
  trailers?: IncomingHttpHeaders;
  grpcStatus?: number;
  complete: boolean;
  streaming: boolean;
  error?: Error | undefined;
  timer?: NodeJS.Timeout;
  settled: boolean;
  resolve(r: AttemptResult): void;
}

export class RetryingExchange implements Exchange {
  readonly #down: ServerHttp2Stream;
  readonly #reqHeaders: OutgoingHttpHeaders;
  readonly #opts: RetryingExchangeOptions;
  readonly #startedAt = performance.now();
  #deadlineAt = 0;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #log: Buffer[] = [];
  #bytesIn = 0;
  #replayable = true;
  #reqEnded = false;
  #reqTrailers: OutgoingHttpHeaders | undefined;
  #cur: Attempt | undefined;
  #held: Attempt | undefined;
  #done = false;
  #committed = false;
  #closed: Promise<void>;
  #edits: HeaderEdits | undefined;

  constructor(
    private readonly pool: UpstreamPool,
    down: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    opts: RetryingExchangeOptions,
  ) {
    this.#down = down;
    this.#opts = opts;
    this.#reqHeaders = forwardHeaders(headers);
    if (this.#reqHeaders[":authority"] === undefined && headers.host !== undefined) {
      this.#reqHeaders[":authority"] = headers.host;
    }
    const grpcTimeout = parseGrpcTimeout(headers["grpc-timeout"]);
    const budget =
      grpcTimeout === undefined
        ? opts.deadlineMs
        : opts.deadlineMs === undefined
          ? grpcTimeout
          : Math.min(grpcTimeout, opts.deadlineMs);
    this.#closed = new Promise((resolve) => down.once("close", () => resolve()));
    down.once("close", this.#onDownClose);
    if (down.destroyed) {
      this.#done = true;
      return;
    }
    if (down.endAfterHeaders || down.readableEnded) {
      this.#reqEnded = true;
    } else {
      down.pause();
      down.on("data", this.#onReqData);
      down.once("end", this.#onReqEnd);
      down.once("trailers", (t: IncomingHttpHeaders) => {
        this.#reqTrailers = forwardHeaders(t);
      });
    }
    if (budget !== undefined) {
      this.#deadlineAt = this.#startedAt + budget;
      this.#deadlineTimer = setTimeout(this.#onDeadline, Math.max(0, budget));
    }
  }

  /** The request body still fits the buffer: another attempt can replay it. */
  get replayable(): boolean {
    return this.#replayable;
  }

  /** The client went away, the deadline expired, or a response was committed. */
  get done(): boolean {
    return this.#done || this.#committed;
  }

  /** Time left before the total deadline (ms), or undefined without one. */
  remainingMs(): number | undefined {
    return this.#deadlineAt === 0 ? undefined : this.#deadlineAt - performance.now();
  }

  /** Sends one attempt to `endpoint`. Resolves when its response is complete (held) or final. */
  attempt(endpoint: UpstreamAddress, edits: HeaderEdits): Promise<AttemptResult> {
    return new Promise<AttemptResult>((resolve) => {
      if (this.done) {
        resolve({
          outcome: { error: new Error("the exchange is over") },
          held: false,
          unprocessed: false,
          durationMs: 0,
        });
        return;
      }
      this.#edits = edits;
      const headers = { ...this.#reqHeaders };
      if (edits.remove) for (const n of edits.remove) delete headers[n];
      if (edits.set) Object.assign(headers, edits.set);
      const remaining = this.remainingMs();
      if (remaining !== undefined && (this.#opts.isGrpc || headers["grpc-timeout"] !== undefined)) {
        headers["grpc-timeout"] = encodeGrpcTimeout(remaining);
      }
      const endStream = this.#reqEnded && this.#bytesIn === 0 && this.#reqTrailers === undefined;
      const target = this.pool.get(endpoint);
      let up: ClientHttp2Stream | undefined;
      let syncError: Error | undefined;
      try {
        up = target.request(headers, { endStream, waitForTrailers: !endStream });
      } catch (err) {
        syncError = err as Error;
      }
      const a: Attempt = {
        up,
        key: target.key,
        startedAt: performance.now(),
        written: 0,
        endSent: endStream,
        trailersOnly: false,
        chunks: [],
        bytes: 0,
        complete: false,
        streaming: false,
        settled: false,
        resolve,
      };
      if (up === undefined) {
        a.error = syncError;
        this.#settleHeld(a, true);
        return;
      }
      this.#cur = a;
      up.on("error", (err: Error) => {
        a.error ??= err;
      });
      up.on("response", (h, flags) => this.#onResponse(a, h, flags));
      up.on("data", (c: Buffer) => this.#onRespData(a, c));
      up.once("trailers", (t: IncomingHttpHeaders) => {
        a.trailers = t;
        const gs = t["grpc-status"];
        if (gs !== undefined) a.grpcStatus = Number(gs);
      });
      up.once("end", () => this.#onRespEnd(a));
      up.once("close", () => this.#onUpClose(a));
      if (!endStream) {
        up.once("wantTrailers", () => {
          if (!up.destroyed) up.sendTrailers(this.#reqTrailers ?? {});
        });
      }
      this.#flush();
    });
  }

  // ---- request direction ----

  readonly #onReqData = (chunk: Buffer): void => {
    this.#bytesIn += chunk.length;
    this.#log.push(chunk);
    if (this.#bytesIn > this.#opts.requestBufferBytes) this.#replayable = false;
    this.#flush();
  };

  readonly #onReqEnd = (): void => {
    this.#reqEnded = true;
    this.#flush();
  };

  #flush(): void {
    const a = this.#cur;
    const down = this.#down;
    if (a === undefined || a.up === undefined || a.up.destroyed || a.complete) {
      if (!down.destroyed && !this.#reqEnded && !this.#committed) down.pause();
      return;
    }
    const up = a.up;
    let blocked = false;
    while (a.written < this.#log.length) {
      if (!up.write(this.#log[a.written++])) {
        blocked = true;
        break;
      }
    }
    if (!this.#replayable) {
      this.#log.splice(0, a.written);
      a.written = 0;
    }
    if (blocked) {
      down.pause();
      up.once("drain", () => this.#flush());
      return;
    }
    if (this.#reqEnded && a.written >= this.#log.length && !a.endSent) {
      a.endSent = true;
      up.end();
    }
    if (!this.#reqEnded && !down.destroyed && down.isPaused()) down.resume();
  }

  // ---- response direction ----

  #onResponse(a: Attempt, h: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number): void {
    if (a !== this.#cur) return;
    a.status = Number(h[":status"]);
    a.headers = h;
    if ((flags & END_STREAM) !== 0) {
      a.trailersOnly = true;
      const gs = h["grpc-status"];
      if (gs !== undefined) a.grpcStatus = Number(gs);
      a.complete = true;
      if (this.#replayable) this.#settleHeld(a, false);
      else this.#stream(a);
      return;
    }
    if (!this.#replayable) {
      this.#stream(a);
      return;
    }
    a.timer = setTimeout(() => {
      if (!a.complete && !a.settled) this.#stream(a);
    }, this.#opts.classificationTimeoutMs);
  }

  #onRespData(a: Attempt, chunk: Buffer): void {
    if (a !== this.#cur) return;
    if (a.streaming) {
      this.#writeDown(a, chunk);
      return;
    }
    a.chunks.push(chunk);
    a.bytes += chunk.length;
    if (a.bytes > this.#opts.responseBufferBytes) this.#stream(a);
  }

  #writeDown(a: Attempt, chunk: Buffer): void {
    const down = this.#down;
    if (down.destroyed) return;
    if (!down.write(chunk)) {
      a.up?.pause();
      down.once("drain", () => {
        if (a.up && !a.up.destroyed) a.up.resume();
      });
    }
  }

  #onRespEnd(a: Attempt): void {
    if (a !== this.#cur || a.trailersOnly) return;
    a.complete = true;
    if (a.timer) clearTimeout(a.timer);
    if (a.streaming) {
      const down = this.#down;
      if (!down.destroyed) down.end();
      return;
    }
    this.#settleHeld(a, false);
  }

  #onUpClose(a: Attempt): void {
    if (a.timer) clearTimeout(a.timer);
    if (a !== this.#cur || a.complete || this.#done) {
      if (a.streaming && a.complete && !this.#reqEnded && !this.#down.destroyed)
        this.#down.close(H2Code.NO_ERROR);
      return;
    }
    const up = a.up as ClientHttp2Stream;
    const code = up.rstCode ?? 0;
    const reset =
      code !== H2Code.NO_ERROR &&
      (a.error === undefined || (a.error as { code?: string }).code === "ERR_HTTP2_STREAM_ERROR");
    const unprocessed =
      a.status === undefined && (code === H2Code.REFUSED_STREAM || up.id === undefined);
    a.error = reset
      ? new DataplaneError(
          "UPSTREAM_RESET",
          `${a.key} reset the stream (code ${code})`,
          grpcStatusForRstCode(code),
          httpStatusForRstCode(code),
          code,
          { cause: a.error },
        )
      : new DataplaneError(
          up.id === undefined ? "UPSTREAM_CONNECT_FAILED" : "UPSTREAM_CONNECTION_LOST",
          `${a.key}: ${a.error?.message ?? "stream closed without a complete response"}`,
          GrpcStatus.UNAVAILABLE,
          502,
          code,
          { cause: a.error },
        );
    if (a.streaming) {
      // headers already went downstream: reset the client's stream too
      const down = this.#down;
      if (!down.destroyed) down.close(code === H2Code.NO_ERROR ? H2Code.INTERNAL_ERROR : code);
      return;
    }
    this.#settleHeld(a, unprocessed);
  }

  #outcome(a: Attempt): ForwardOutcome {
    return {
      ...(a.status !== undefined ? { status: a.status } : {}),
      ...(a.grpcStatus !== undefined ? { grpcStatus: a.grpcStatus } : {}),
      ...(a.error !== undefined ? { error: a.error } : {}),
    };
  }

  #settleHeld(a: Attempt, unprocessed: boolean): void {
    if (a.settled) return;
    a.settled = true;
    if (a.timer) clearTimeout(a.timer);
    this.#held = a;
    if (this.#cur === a) this.#cur = undefined;
    if (!this.#down.destroyed && !this.#reqEnded) this.#down.pause();
    a.resolve({
      outcome: this.#outcome(a),
      held: true,
      unprocessed,
      durationMs: performance.now() - a.startedAt,
    });
  }

  /** Commits the attempt now and streams the rest of it (no retry possible any more). */
  #stream(a: Attempt): void {
    if (a.streaming || a.settled) return;
    a.streaming = true;
    if (a.timer) clearTimeout(a.timer);
    this.#committed = true;
    const down = this.#down;
    if (!down.destroyed) {
      try {
        if (a.trailersOnly) {
          down.respond(forwardHeaders(a.headers ?? {}), { endStream: true });
        } else {
          down.once("wantTrailers", () => {
            if (!down.destroyed) down.sendTrailers(forwardHeaders(a.trailers ?? {}));
          });
          down.respond(forwardHeaders(a.headers ?? {}), { waitForTrailers: true });
          for (const c of a.chunks) this.#writeDown(a, c);
          if (a.complete) down.end();
        }
      } catch (err) {
        a.error ??= err as Error;
        if (!down.destroyed) down.close(H2Code.INTERNAL_ERROR);
      }
    }
    a.chunks = [];
    void this.#closed.then(() => {
      if (a.settled) return;
      a.settled = true;
      a.resolve({
        outcome: this.#outcome(a),
        held: false,
        unprocessed: false,
        durationMs: performance.now() - a.startedAt,
      });
    });
  }

  /** Drops the held response (before another attempt). */
  discard(): void {
    const a = this.#held;
    this.#held = undefined;
    if (a?.up && !a.up.destroyed && !a.up.closed) a.up.close(H2Code.CANCEL);
  }

  /**
   * Sends the held response (or its error, answered locally) to the client, with extra
   * response headers (e.g. `l5d-retryable`). Resolves when the client's stream has closed.
   */
  commit(extra: Readonly<Record<string, string>> = {}): Promise<void> {
    const a = this.#held;
    this.#held = undefined;
    const down = this.#down;
    if (a === undefined || this.done || down.destroyed) return this.#closed;
    this.#committed = true;
    if (!this.#reqEnded) {
      // the client is still sending: drop the rest
      down.removeListener("data", this.#onReqData);
      down.on("data", () => {});
      down.resume();
    }
    if (a.headers === undefined) {
      const e = a.error;
      const local =
        e instanceof DataplaneError
          ? { grpcStatus: e.grpcStatus, httpStatus: e.httpStatus, message: e.message }
          : {
              grpcStatus: GrpcStatus.UNAVAILABLE,
              httpStatus: 502,
              message: e?.message ?? "no response",
            };
      respondError(down, this.#opts.isGrpc, local);
      return this.#closed;
    }
    if (a.error !== undefined) {
      // the upstream failed after its headers: the client gets the error, not half a response
      respondError(down, this.#opts.isGrpc, {
        grpcStatus: a.error instanceof DataplaneError ? a.error.grpcStatus : GrpcStatus.UNAVAILABLE,
        httpStatus: 502,
        message: a.error.message,
      });
      return this.#closed;
    }
    const out = { ...forwardHeaders(a.headers), ...extra };
    try {
      if (a.trailersOnly) {
        down.respond(out, { endStream: true });
      } else {
        down.once("wantTrailers", () => {
          if (!down.destroyed) down.sendTrailers(forwardHeaders(a.trailers ?? {}));
        });
        down.respond(out, { waitForTrailers: true });
        for (const c of a.chunks) down.write(c);
        down.end();
      }
    } catch {
      if (!down.destroyed) down.close(H2Code.INTERNAL_ERROR);
    }
    if (a.up && !a.up.destroyed && !a.up.closed) a.up.close(H2Code.CANCEL);
    return this.#closed;
  }

  readonly #onDeadline = (): void => {
    this.#deadlineTimer = undefined;
    if (this.#done) return;
    const budget = Math.round(this.#deadlineAt - this.#startedAt);
    const a = this.#cur ?? this.#held;
    const message = `deadline exceeded after ${budget} ms${a ? ` waiting for ${a.key}` : ""}`;
    const err = new DataplaneError("DEADLINE_EXCEEDED", message, GrpcStatus.DEADLINE_EXCEEDED, 504);
    const down = this.#down;
    if (a?.up && !a.up.destroyed) a.up.close(H2Code.CANCEL);
    if (this.#committed && a?.streaming) {
      a.error = err;
      if (!down.destroyed && !a.complete) {
        if (this.#opts.isGrpc) {
          down.removeAllListeners("wantTrailers");
          down.once("wantTrailers", () => {
            if (!down.destroyed)
              down.sendTrailers({
                "grpc-status": String(GrpcStatus.DEADLINE_EXCEEDED),
                "grpc-message": message,
              });
          });
          a.grpcStatus = GrpcStatus.DEADLINE_EXCEEDED;
          a.complete = true;
          down.end();
        } else {
          down.close(H2Code.CANCEL);
        }
      }
      return;
    }
    this.#done = true;
    if (!this.#committed) {
      this.#committed = true;
      this.#held = undefined;
      respondError(down, this.#opts.isGrpc, {
        grpcStatus: err.grpcStatus,
        httpStatus: err.httpStatus,
        message,
      });
    }
    if (a && !a.settled) {
      a.settled = true;
      a.resolve({
        outcome: {
          error: err,
          grpcStatus: GrpcStatus.DEADLINE_EXCEEDED,
          status: this.#opts.isGrpc ? 200 : 504,
        },
        held: false,
        unprocessed: false,
        durationMs: performance.now() - a.startedAt,
      });
    }
  };

  readonly #onDownClose = (): void => {
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    const wasDone = this.#done;
    this.#done = true;
    const a = this.#cur;
    if (a?.up && !a.up.destroyed && !a.up.closed) a.up.close(H2Code.CANCEL);
    const held = this.#held;
    if (held?.up && !held.up.destroyed && !held.up.closed) held.up.close(H2Code.CANCEL);
    if (a && !a.settled && !a.streaming && !wasDone) {
      a.settled = true;
      const rst = this.#down.rstCode;
      a.resolve({
        outcome: {
          error: new DataplaneError(
            "UPSTREAM_RESET",
            `the client reset the stream (code ${rst ?? 0})`,
            GrpcStatus.CANCELLED,
            499,
            rst,
          ),
        },
        held: false,
        unprocessed: false,
        durationMs: performance.now() - a.startedAt,
      });
    }
  };

  /** The header edits of the last attempt (for logs). */
  get edits(): HeaderEdits | undefined {
    return this.#edits;
  }
}
