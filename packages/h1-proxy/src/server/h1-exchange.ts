/**
 * One HTTP/1.1 request's exchange (the router's `Exchange` contract, `@l5d/h2-proxy`
 * `exchange.ts`): each attempt is an upstream request on the endpoint's keep-alive pool, the
 * request body replayed from its `BodyLog`; a response is either streamed through as it arrives
 * (`holdResponses: false`) or held, up to the buffer and the classification timeout, until the
 * router commits or discards it.
 *
 * States of the client's response (`Answer`): Open (nothing sent) → Streaming (head sent, body
 * flowing) → Done; or Open → Done by a local answer. Only an Open reply may take another attempt.
 */

import type { Socket } from "node:net";
import {
  type Address,
  type AttemptSink,
  DataplaneError,
  deadlineExceededOutcome,
  deliverLater,
  type Exchange,
  type ExchangeOptions,
  type ForwardOutcome,
  GrpcStatus,
  type HeaderEdits,
} from "@l5d/h2-proxy";
import {
  FailPhase,
  type ResponseHandler,
  type UpstreamConnection,
} from "../client/upstream-connection.js";
import type { UpstreamPool, UpstreamPools } from "../client/upstream-pools.js";
import { fieldValue, fieldValues } from "../wire/fields.js";
import type { ParsedHead } from "../wire/llhttp.js";
import type { BodyLog } from "./body-log.js";
import { connectionListed, HOP_BY_HOP, isHopByHop } from "./hop-by-hop.js";
import type { IncomingRequest } from "./incoming-request.js";
import { localAnswer } from "./local-answer.js";
import type { Reply } from "./reply.js";
import { joinTunnel, type UpgradeParts } from "./tunnel.js";

/** Where the client's response is. */
enum Answer {
  /** Nothing sent yet: an attempt may still be retried or requeued. */
  Open,
  /** The head is sent; the body is flowing from one attempt's response. */
  Streaming,
  /** Complete, answered locally, or the client is gone. */
  Done,
}

/** What the exchange needs from its request (the server's parse of it). */
export interface H1Source {
  readonly req: IncomingRequest;
  readonly res: Reply;
  readonly body: BodyLog;
  /** The request body is chunked (the server checked its `Transfer-Encoding`): sent on chunked. */
  readonly chunked: boolean;
  /** The request-target sent upstream (origin-form). */
  readonly target: string;
  /** Header fields added to every attempt (e.g. `Forwarded`), raw name/value pairs. */
  readonly extra: readonly string[];
  /** Largest response head an endpoint may send (bytes). */
  readonly maxResponseHeadBytes: number;
  /** Largest response body with a Content-Length (bytes). */
  readonly maxResponseBytes: number;
  /** Connect timeout for a new upstream connection (ms). */
  readonly connectTimeoutMs: number;
  /** Set for a request that asks to switch protocols (`Upgrade`): the client's socket. */
  readonly upgrade?: UpgradeParts | undefined;
}

/** RFC 9110 §9.2.2: methods whose request can be repeated without changing the outcome. */
const IDEMPOTENT: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "OPTIONS",
  "TRACE",
  "PUT",
  "DELETE",
]);

/** A response held for the router's decision. */
interface Held {
  readonly status: number;
  readonly reason: string;
  readonly headers: string[];
  readonly chunks: Buffer[];
}

function failure(
  code: ConstructorParameters<typeof DataplaneError>[0],
  message: string,
  http: number,
  cause?: unknown,
): DataplaneError {
  const grpc =
    code === "DEADLINE_EXCEEDED"
      ? GrpcStatus.DEADLINE_EXCEEDED
      : code === "CLIENT_RESET"
        ? GrpcStatus.CANCELLED
        : GrpcStatus.UNAVAILABLE;
  return new DataplaneError(
    code,
    message,
    grpc,
    http,
    undefined,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * The exchange is also its attempt's `ResponseHandler`: attempts are sequential, so one
 * attempt's state lives in the exchange's `#at…` fields, reset by each `attempt` (no closure or
 * handler object per attempt).
 */
export class H1Exchange implements Exchange, ResponseHandler {
  readonly #src: H1Source;
  readonly #opts: ExchangeOptions;
  readonly #pools: UpstreamPools;
  readonly #deadlineAt: number | undefined;
  #answer = Answer.Open;
  #held: Held | undefined;
  /** The answer a held failure commits to (a local error). */
  #heldError: DataplaneError | undefined;
  #timer: NodeJS.Timeout | undefined;
  // the attempt in flight (undefined #atSink: none)
  #atSink: AttemptSink | undefined;
  #atT0 = 0;
  #atEndpoint: Address | undefined;
  #atPool: UpstreamPool | undefined;
  #atConn: UpstreamConnection | undefined;
  /** The response is held for the router's decision (vs streamed to the client). */
  #atHolding = false;
  #atChunks: Buffer[] = [];
  #atBytes = 0;
  #atHead: ParsedHead | undefined;
  #atHoldTimer: NodeJS.Timeout | undefined;
  readonly #release = () => this.#releaseHeld();
  /** Waiting for the client's socket to drain (the endpoint's reading paused). */
  #atDrainWait = false;
  readonly #resumeUpstream = () => {
    this.#atDrainWait = false;
    this.#atConn?.resumeReading();
  };

  constructor(src: H1Source, opts: ExchangeOptions, pools: UpstreamPools) {
    this.#src = src;
    this.#opts = opts;
    this.#pools = pools;
    this.#deadlineAt =
      opts.deadlineMs === undefined ? undefined : performance.now() + opts.deadlineMs;
    if (src.res.done) {
      // the client left while the request was being routed: nothing will be sent
      this.#answer = Answer.Done;
      return;
    }
    if (opts.deadlineMs !== undefined) {
      this.#timer = setTimeout(() => this.#expire(), opts.deadlineMs);
      this.#timer.unref();
    }
    src.res.onDone(() => {
      if (this.#answer === Answer.Done) return;
      // the client went away before its response was complete
      this.#answer = Answer.Done;
      this.#clearTimer();
      this.#abortAttempt({
        error: failure("CLIENT_RESET", "the client closed its connection", 499),
        reset: 8,
      });
    });
  }

  get replayable(): boolean {
    return this.#src.body.replayable;
  }

  get done(): boolean {
    return (
      this.#answer === Answer.Done ||
      (this.#deadlineAt !== undefined && performance.now() >= this.#deadlineAt)
    );
  }

  remainingMs(): number | undefined {
    return this.#deadlineAt === undefined
      ? undefined
      : Math.max(0, this.#deadlineAt - performance.now());
  }

  attempt(endpoint: Address, edits: HeaderEdits, sink: AttemptSink): void {
    if (this.done) {
      const outcome =
        this.#answer === Answer.Done
          ? { error: failure("CLIENT_RESET", "the client is gone", 499), reset: 8 }
          : deadlineExceededOutcome(false);
      deliverLater(sink, { outcome, held: true, unprocessed: false, durationMs: 0 });
      return;
    }
    const src = this.#src;
    const pool = this.#pools.acquire(endpoint);
    const conn = pool.connection(
      endpoint.connectTimeoutMs ?? src.connectTimeoutMs,
      src.maxResponseHeadBytes,
    );
    this.#atSink = sink;
    this.#atT0 = performance.now();
    this.#atEndpoint = endpoint;
    this.#atPool = pool;
    this.#atConn = conn;
    this.#atHolding = false;
    this.#atBytes = 0;
    this.#atHead = undefined;
    conn.send(requestHead(src, edits, endpoint), src.chunked, src.req.method === "HEAD", this);
    src.body.attach(conn);
  }

  /** ResponseHandler: the endpoint's response head. */
  head(h: ParsedHead): void {
    if (this.#atSink === undefined) return;
    const src = this.#src;
    const conn = this.#atConn as UpstreamConnection;
    this.#atHead = h;
    // a response to HEAD, a 204 or a 304 has no body, whatever its Content-Length says
    const bodyless = src.req.method === "HEAD" || h.status === 204 || h.status === 304;
    const length = bodyless ? 0 : Number(fieldValue(h.rawHeaders, "content-length") ?? 0);
    if (length > src.maxResponseBytes) {
      conn.close();
      this.#finish(
        {
          error: failure(
            "UPSTREAM_PROTOCOL_ERROR",
            `response of ${length} bytes is over maxResponseKB (${src.maxResponseBytes / 1024})`,
            502,
          ),
        },
        true,
      );
      return;
    }
    if (this.#answer !== Answer.Open) {
      conn.close();
      return;
    }
    if (!this.#opts.holdResponses) {
      this.#startStream(h, conn);
      return;
    }
    // held: up to the response buffer, within the classification timeout
    this.#atHolding = true;
    this.#atChunks = [];
    this.#atHoldTimer = setTimeout(this.#release, this.#opts.classificationTimeoutMs);
  }

  /** ResponseHandler: a piece of the response body. */
  body(c: Buffer): void {
    if (this.#atSink === undefined) return;
    if (this.#atHolding) {
      this.#atBytes += c.length;
      this.#atChunks.push(c);
      if (this.#atBytes > this.#opts.responseBufferBytes) this.#releaseHeld();
      return;
    }
    const out = this.#src.res;
    if (!out.write(c) && !this.#atDrainWait) {
      // one wait per backed-up spell, however many pieces the read being parsed still holds
      this.#atDrainWait = true;
      this.#atConn?.pauseReading();
      out.onDrain(this.#resumeUpstream);
    }
  }

  /** ResponseHandler: the response is complete. */
  end(): void {
    const head = this.#atHead;
    if (this.#atSink === undefined || head === undefined) return;
    const status = head.status;
    if (this.#atHolding) {
      this.#held = {
        status,
        reason: head.reason,
        headers: endToEnd(head.rawHeaders, []),
        chunks: this.#atChunks,
      };
      this.#finish({ status }, true);
      return;
    }
    this.#answer = Answer.Done;
    this.#clearTimer();
    this.#src.res.end();
    this.#finish({ status }, false);
  }

  /** ResponseHandler: the endpoint's connection failed. */
  error(e: NodeJS.ErrnoException, phase: FailPhase, unprocessed: boolean, tcpUp: boolean): void {
    if (this.#atSink === undefined) return;
    const endpoint = this.#atEndpoint as Address;
    const where = `${endpoint.host}:${endpoint.port}`;
    if (phase === FailPhase.Connect) {
      // connected over TCP but the TLS handshake failed (a wrong name, an untrusted CA)
      if (endpoint.tls !== undefined && tcpUp) this.#pools.onTlsError?.(e.message, where);
      this.#finish(
        {
          error: failure(
            "UPSTREAM_CONNECT_FAILED",
            `cannot connect to ${where}: ${e.message}`,
            502,
            e,
          ),
        },
        true,
        true,
      );
      return;
    }
    if (phase === FailPhase.BeforeResponse) {
      // a reused connection reset before any response byte usually never carried the request
      // (the endpoint had closed it while idle), but the endpoint may also have taken it and
      // failed: only a request that is safe to repeat is sent elsewhere on that guess
      if (unprocessed && !IDEMPOTENT.has(this.#src.req.method)) unprocessed = false;
      this.#finish(
        {
          error: failure(
            "UPSTREAM_CONNECTION_LOST",
            `connection to ${where} lost before its response: ${e.message}`,
            502,
            e,
          ),
        },
        true,
        unprocessed,
      );
      return;
    }
    this.#lostMidResponse(e);
  }

  /** ResponseHandler: the endpoint switched protocols: from now on a tunnel, the exchange is over. */
  upgrade(h: ParsedHead, socket: Socket, rest: Buffer): void {
    if (this.#atSink === undefined) {
      socket.destroy();
      return;
    }
    const client = this.#src.upgrade;
    if (client === undefined || this.#answer !== Answer.Open) {
      socket.destroy();
      this.#lostMidResponse(new Error("unexpected 101 Switching Protocols"));
      return;
    }
    this.#answer = Answer.Done;
    this.#clearTimer();
    this.#src.body.detach();
    // the attempt is over when the tunnel is
    const sink = this.#atSink;
    const t0 = this.#atT0;
    this.#endAttempt();
    joinTunnel(client, h, socket, rest, () =>
      deliverLater(sink, {
        outcome: { status: 101 },
        held: false,
        unprocessed: false,
        durationMs: performance.now() - t0,
      }),
    );
  }

  /** The attempt's result; the attempt is over. */
  #finish(outcome: ForwardOutcome, held: boolean, unprocessed = false): void {
    const sink = this.#atSink;
    if (sink === undefined) return;
    const t0 = this.#atT0;
    this.#endAttempt();
    if (held && outcome.error instanceof DataplaneError) this.#heldError = outcome.error;
    deliverLater(sink, { outcome, held, unprocessed, durationMs: performance.now() - t0 });
  }

  #endAttempt(): void {
    this.#atSink = undefined;
    // a late drain of the client's socket must not resume a connection back in its pool
    this.#atConn = undefined;
    if (this.#atHoldTimer !== undefined) clearTimeout(this.#atHoldTimer);
    this.#atHoldTimer = undefined;
    this.#src.body.detach();
    const pool = this.#atPool;
    this.#atPool = undefined;
    if (pool !== undefined) this.#pools.release(pool);
  }

  /**
   * The endpoint's connection failed once its response had begun: held (and answerable locally)
   * only if nothing was sent yet; a streaming reply can only be cut.
   */
  #lostMidResponse(e: Error): void {
    if (this.#answer === Answer.Streaming) this.#src.res.destroy();
    const endpoint = this.#atEndpoint as Address;
    const message = `connection to ${endpoint.host}:${endpoint.port} lost mid-response: ${e.message}`;
    this.#finish(
      { error: failure("UPSTREAM_CONNECTION_LOST", message, 502, e) },
      this.#answer === Answer.Open,
    );
  }

  /** The client went away or the deadline passed: the attempt in flight is abandoned. */
  #abortAttempt(o: ForwardOutcome): void {
    if (this.#atSink === undefined) return;
    this.#atConn?.close();
    const responded = this.#atHead !== undefined;
    if (responded && this.#answer === Answer.Streaming) this.#src.res.destroy();
    this.#finish(o, !responded || this.#answer === Answer.Open);
  }

  /** From holding to streaming: the head and what was held go out, the rest follows. */
  #releaseHeld(): void {
    const head = this.#atHead;
    if (!this.#atHolding || this.#atSink === undefined || head === undefined) return;
    this.#atHolding = false;
    if (this.#atHoldTimer !== undefined) clearTimeout(this.#atHoldTimer);
    this.#atHoldTimer = undefined;
    this.#startStream(head, this.#atConn as UpstreamConnection);
    const out = this.#src.res;
    for (const c of this.#atChunks) out.write(c);
    this.#atChunks = [];
  }

  discard(): void {
    this.#held = undefined;
    this.#heldError = undefined;
  }

  commit(extra?: Readonly<Record<string, string>>): Promise<void> {
    const res = this.#src.res;
    const held = this.#held;
    const err = this.#heldError;
    this.#held = undefined;
    this.#heldError = undefined;
    if (this.#answer !== Answer.Open) return Promise.resolve();
    this.#answer = Answer.Done;
    this.#clearTimer();
    if (held === undefined) {
      const e = err ?? failure("DEADLINE_EXCEEDED", "deadline exceeded", 504);
      localAnswer(res, e.httpStatus, e.message, extra);
      return closed(res);
    }
    const headers = held.headers;
    if (extra) for (const k in extra) headers.push(k, extra[k] as string);
    res.send(held.status, held.reason, headers, held.chunks);
    return closed(res);
  }

  /** Sends the response head to the client: the body follows as it comes. */
  #startStream(h: ParsedHead, conn: UpstreamConnection): void {
    this.#answer = Answer.Streaming;
    const out = this.#src.res;
    out.writeHead(h.status, h.reason, h.rawHeaders, true);
    if (out.done) conn.close();
  }

  #expire(): void {
    this.#timer = undefined;
    if (this.#answer === Answer.Done) return;
    this.#abortAttempt(deadlineExceededOutcome(false));
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Resolves when the client's response is over (sent or its connection gone). */
function closed(res: Reply): Promise<void> {
  if (res.done) return Promise.resolve();
  return new Promise((r) => res.onDone(() => r()));
}

/** The end-to-end fields of `raw` as name/value pairs: hop-by-hop ones, and those `Connection` lists, left out. */
function endToEnd(raw: readonly string[], out: string[]): string[] {
  const listed = connectionListed(fieldValues(raw, "connection"));
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (isHopByHop(lower, listed)) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}

/**
 * The request head an attempt sends, built in one pass: the request line (the router may have
 * rewritten the path), the end-to-end fields less the router's removals and replacements, the
 * router's fields, the server's extra fields, and what HTTP/1.1 to the endpoint needs.
 */
function requestHead(src: H1Source, edits: HeaderEdits, endpoint: Address): string {
  const set = edits.set;
  const remove = edits.remove;
  const req = src.req;
  const extra = src.extra;
  const hostReplaced = extra.includes("Host");
  const raw = req.rawHeaders;
  const listed = connectionListed(req.headerAll("connection"));
  let head = `${req.method} ${set?.[":path"] ?? src.target} HTTP/1.1\r\n`;
  let host = false;
  let upgrade: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === "host") {
      host = true;
      // an absolute-form target's authority replaces it (in `extra`)
      if (hostReplaced) continue;
    } else if (HOP_BY_HOP.has(lower)) {
      if (lower === "upgrade") upgrade = value;
      continue;
    }
    if (listed?.has(lower)) continue;
    if (set !== undefined && lower in set) continue;
    if (remove?.includes(lower)) continue;
    // read as l5d-dtab
    if (lower === "dtab-local") continue;
    // the server answered `Expect: 100-continue` itself
    if (lower === "expect" && value.toLowerCase() === "100-continue") continue;
    head += `${name}: ${value}\r\n`;
  }
  if (set !== undefined)
    for (const k in set) if (k.charCodeAt(0) !== 58) head += `${k}: ${set[k] as string}\r\n`;
  for (let i = 0; i < extra.length; i += 2) head += `${extra[i]}: ${extra[i + 1]}\r\n`;
  // HTTP/1.1 upstream needs a Host: an HTTP/1.0 request without one gets the endpoint's
  if (!host && !hostReplaced) head += `Host: ${endpoint.host}:${endpoint.port}\r\n`;
  // an upgrade request keeps the fields that ask for it (hop-by-hop otherwise)
  if (src.upgrade !== undefined && upgrade !== undefined)
    head += `Connection: Upgrade\r\nUpgrade: ${upgrade}\r\n`;
  // a chunked request goes on chunked
  if (src.chunked) head += "Transfer-Encoding: chunked\r\n";
  return `${head}\r\n`;
}
