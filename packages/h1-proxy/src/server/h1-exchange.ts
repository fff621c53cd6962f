/**
 * One HTTP/1.1 request's exchange (the router's `Exchange` contract, `@l5d/h2-proxy`
 * `exchange.ts`): each attempt is an upstream request on the endpoint's keep-alive pool, the
 * request body replayed from its `BodyLog`; a response is either streamed through as it arrives
 * (`holdResponses: false`) or held, up to the buffer and the classification timeout, until the
 * router commits or discards it.
 *
 * States of the client's response (`Reply`): Open (nothing sent) → Streaming (head sent, body
 * flowing) → Done; or Open → Done by a local answer. Only an Open reply may take another attempt.
 */
import { type IncomingMessage, request, type ServerResponse } from "node:http";
import { request as tlsRequest } from "node:https";
import {
  type Address,
  type AttemptResult,
  DataplaneError,
  deadlineExceededOutcome,
  type Exchange,
  type ExchangeOptions,
  type ForwardOutcome,
  GrpcStatus,
  type HeaderEdits,
} from "@l5d/h2-proxy";
import { noteResponseLength } from "./access-log.js";
import type { BodyLog } from "./body-log.js";
import { connectionListed, HOP_BY_HOP } from "./hop-by-hop.js";
import { localAnswer } from "./local-answer.js";
import { joinTunnel, type UpgradeParts } from "./tunnel.js";
import type { UpstreamPools } from "./upstream-pool.js";

/** Where the client's response is. */
enum Reply {
  /** Nothing sent yet: an attempt may still be retried or requeued. */
  Open,
  /** The head is sent; the body is flowing from one attempt's response. */
  Streaming,
  /** Complete, answered locally, or the client is gone. */
  Done,
}

/** What the exchange needs from its request (the server's parse of it). */
export interface H1Source {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly body: BodyLog;
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

/** A response held for the router's decision. */
interface Held {
  readonly status: number;
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

/** The error codes of a connection that never carried the request (safe to send elsewhere). */
const CONNECT_ERRORS = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

export class H1Exchange implements Exchange {
  readonly #src: H1Source;
  readonly #opts: ExchangeOptions;
  readonly #pools: UpstreamPools;
  readonly #deadlineAt: number | undefined;
  #reply = Reply.Open;
  #held: Held | undefined;
  /** The answer a held failure commits to (a local error). */
  #heldError: DataplaneError | undefined;
  /** Aborts the attempt in flight (the client went away, the deadline passed). */
  #abort: ((o: ForwardOutcome) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(src: H1Source, opts: ExchangeOptions, pools: UpstreamPools) {
    this.#src = src;
    this.#opts = opts;
    this.#pools = pools;
    this.#deadlineAt =
      opts.deadlineMs === undefined ? undefined : performance.now() + opts.deadlineMs;
    if (src.res.destroyed) {
      // the client left while the request was being routed: nothing will be sent
      this.#reply = Reply.Done;
      return;
    }
    if (opts.deadlineMs !== undefined) {
      this.#timer = setTimeout(() => this.#expire(), opts.deadlineMs);
      this.#timer.unref();
    }
    src.res.once("close", () => {
      if (this.#reply === Reply.Done) return;
      // the client went away before its response was complete
      this.#reply = Reply.Done;
      this.#clearTimer();
      this.#abort?.({
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
      this.#reply === Reply.Done ||
      (this.#deadlineAt !== undefined && performance.now() >= this.#deadlineAt)
    );
  }

  remainingMs(): number | undefined {
    return this.#deadlineAt === undefined
      ? undefined
      : Math.max(0, this.#deadlineAt - performance.now());
  }

  attempt(endpoint: Address, edits: HeaderEdits): Promise<AttemptResult> {
    const t0 = performance.now();
    if (this.done) {
      const outcome =
        this.#reply === Reply.Done
          ? { error: failure("CLIENT_RESET", "the client is gone", 499), reset: 8 }
          : deadlineExceededOutcome(false);
      return Promise.resolve({ outcome, held: true, unprocessed: false, durationMs: 0 });
    }
    return new Promise<AttemptResult>((resolve) => {
      const src = this.#src;
      const pool = this.#pools.acquire(endpoint);
      let settled = false;
      let responded = false;
      let connected = false;
      let tcpUp = false;
      let connectTimer: NodeJS.Timeout | undefined;
      const finish = (outcome: ForwardOutcome, held: boolean, unprocessed = false) => {
        if (settled) return;
        settled = true;
        if (connectTimer !== undefined) clearTimeout(connectTimer);
        this.#abort = undefined;
        src.body.detach();
        this.#pools.release(pool);
        if (held && outcome.error instanceof DataplaneError) this.#heldError = outcome.error;
        resolve({ outcome, held, unprocessed, durationMs: performance.now() - t0 });
      };
      // the endpoint's connection failed once its response had begun: held (and answerable
      // locally) only if nothing was sent yet; a streaming reply can only be cut
      const lostMidResponse = (e: Error) => {
        if (this.#reply === Reply.Streaming) src.res.destroy();
        const message = `connection to ${endpoint.host}:${endpoint.port} lost mid-response: ${e.message}`;
        finish(
          { error: failure("UPSTREAM_CONNECTION_LOST", message, 502, e) },
          this.#reply === Reply.Open,
        );
      };
      const up = (endpoint.tls === undefined ? request : tlsRequest)({
        agent: pool.agent,
        host: endpoint.host,
        port: endpoint.port,
        method: src.req.method,
        path: edits.set?.[":path"] ?? src.target,
        headers: outgoingHeaders(src, edits, endpoint),
        setHost: false,
        maxHeaderSize: src.maxResponseHeadBytes,
      });
      this.#abort = (o) => {
        up.destroy();
        if (responded && this.#reply === Reply.Streaming) src.res.destroy();
        finish(o, !responded || this.#reply === Reply.Open);
      };
      up.on("socket", (sock) => {
        if (!sock.connecting) {
          connected = true;
          return;
        }
        connectTimer = setTimeout(() => {
          up.destroy(
            Object.assign(new Error(`connect timed out after ${src.connectTimeoutMs} ms`), {
              code: "ECONNTIMEOUT",
            }),
          );
        }, src.connectTimeoutMs);
        sock.once("connect", () => {
          tcpUp = true;
        });
        // a TLS connection is up once its handshake is (a failed handshake is a failed connect)
        sock.once(endpoint.tls === undefined ? "connect" : "secureConnect", () => {
          connected = true;
          if (connectTimer !== undefined) clearTimeout(connectTimer);
          connectTimer = undefined;
        });
      });
      up.on("error", (e: NodeJS.ErrnoException) => {
        if (settled) return;
        const where = `${endpoint.host}:${endpoint.port}`;
        if (!connected || CONNECT_ERRORS.has(e.code ?? "")) {
          // connected over TCP but the TLS handshake failed (a wrong name, an untrusted CA)
          if (endpoint.tls !== undefined && tcpUp) this.#pools.onTlsError?.(e.message, where);
          finish(
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
        if (!responded) {
          // a pooled connection the endpoint had closed: the request never reached it
          const unprocessed =
            up.reusedSocket && (e.code === "ECONNRESET" || e.message === "socket hang up");
          finish(
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
        lostMidResponse(e);
      });
      up.on("upgrade", (res, socket, head) => {
        // the endpoint switched protocols: from now on a tunnel, the exchange is over
        responded = true;
        const client = src.upgrade;
        if (client === undefined || this.#reply !== Reply.Open) {
          socket.destroy();
          lostMidResponse(new Error("unexpected 101 Switching Protocols"));
          return;
        }
        this.#reply = Reply.Done;
        this.#clearTimer();
        src.body.detach();
        joinTunnel(client, res, socket, head, () => finish({ status: 101 }, false));
      });
      up.on("response", (res) => {
        responded = true;
        res.on("error", (e: Error) => {
          if (!settled) lostMidResponse(e);
        });
        const status = res.statusCode ?? 502;
        const length = Number(res.headers["content-length"] ?? 0);
        if (length > src.maxResponseBytes) {
          res.destroy();
          up.destroy();
          finish(
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
        if (this.#reply !== Reply.Open) {
          res.destroy();
          return;
        }
        if (!this.#opts.holdResponses) {
          this.#stream(status, res, [], (o) => finish(o, false));
          return;
        }
        // held: up to the response buffer, within the classification timeout
        const chunks: Buffer[] = [];
        let bytes = 0;
        let streaming = false;
        const release = () => {
          if (streaming || settled) return;
          streaming = true;
          clearTimeout(timer);
          res.off("data", onData);
          res.off("end", onEnd);
          this.#stream(status, res, chunks, (o) => finish(o, false));
        };
        const timer = setTimeout(release, this.#opts.classificationTimeoutMs);
        const onData = (c: Buffer) => {
          bytes += c.length;
          chunks.push(c);
          if (bytes > this.#opts.responseBufferBytes) release();
        };
        const onEnd = () => {
          clearTimeout(timer);
          this.#held = { status, headers: responseHeaders(res), chunks };
          finish({ status }, true);
        };
        res.on("data", onData);
        res.once("end", onEnd);
      });
      src.body.attach(up);
    });
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
    if (this.#reply !== Reply.Open) return Promise.resolve();
    this.#reply = Reply.Done;
    this.#clearTimer();
    if (held === undefined) {
      const e = err ?? failure("DEADLINE_EXCEEDED", "deadline exceeded", 504);
      localAnswer(res, e.httpStatus, e.message, extra);
      return closed(res);
    }
    const headers = held.headers;
    if (extra) for (const k in extra) headers.push(k, extra[k] as string);
    noteResponseLength(res, headers);
    res.writeHead(held.status, headers);
    for (const c of held.chunks) res.write(c);
    res.end();
    return closed(res);
  }

  /** Sends the response head and `buffered`, then pipes the rest; `done` when it is over. */
  #stream(
    status: number,
    res: IncomingMessage,
    buffered: Buffer[],
    done: (o: ForwardOutcome) => void,
  ): void {
    const out = this.#src.res;
    this.#reply = Reply.Streaming;
    const headers = responseHeaders(res);
    noteResponseLength(out, headers);
    out.writeHead(status, headers);
    for (const c of buffered) out.write(c);
    res.pipe(out);
    res.once("end", () => {
      out.once("finish", () => {
        this.#reply = Reply.Done;
        this.#clearTimer();
        done({ status });
      });
    });
  }

  #expire(): void {
    this.#timer = undefined;
    if (this.#reply === Reply.Done) return;
    const o = deadlineExceededOutcome(false);
    if (this.#abort !== undefined) this.#abort(o);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Resolves when the client's response is over (sent or its connection gone). */
function closed(res: ServerResponse): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise((r) => {
    res.once("finish", () => r());
    res.once("close", () => r());
  });
}

/**
 * Copies the end-to-end fields of `raw` (node's `rawHeaders`) into `out` as name/value pairs,
 * skipping the hop-by-hop ones and those `skip` refuses (given the lower-case name and value).
 */
function endToEnd(
  raw: readonly string[],
  connection: string | string[] | undefined,
  out: string[],
  skip?: (lower: string, value: string) => boolean,
): string[] {
  const listed = connectionListed(connection);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed?.has(lower)) continue;
    if (skip?.(lower, value)) continue;
    out.push(name, value);
  }
  return out;
}

/** The request's end-to-end fields with the router's edits and the server's extra fields. */
function outgoingHeaders(src: H1Source, edits: HeaderEdits, endpoint: Address): string[] {
  const set = edits.set;
  const remove = edits.remove;
  const hostReplaced = src.extra.includes("Host");
  const out = endToEnd(
    src.req.rawHeaders,
    src.req.headers.connection,
    [],
    (lower, value) =>
      (set !== undefined && lower in set) ||
      remove?.includes(lower) === true ||
      // read as l5d-dtab
      lower === "dtab-local" ||
      // an absolute-form target's authority replaces it (in `extra`)
      (lower === "host" && hostReplaced) ||
      // the server answered `Expect: 100-continue` itself
      (lower === "expect" && value.toLowerCase() === "100-continue"),
  );
  if (set !== undefined)
    for (const k in set) if (k.charCodeAt(0) !== 58) out.push(k, set[k] as string);
  for (const x of src.extra) out.push(x);
  // HTTP/1.1 upstream needs a Host: an HTTP/1.0 request without one gets the endpoint's
  if (src.req.headers.host === undefined && !src.extra.includes("Host"))
    out.push("Host", `${endpoint.host}:${endpoint.port}`);
  // an upgrade request keeps the fields that ask for it (hop-by-hop otherwise)
  if (src.upgrade !== undefined && src.req.headers.upgrade !== undefined)
    out.push("Connection", "Upgrade", "Upgrade", src.req.headers.upgrade);
  // a chunked request goes on chunked (whatever the method: node would not chunk a GET's body)
  if (src.req.headers["transfer-encoding"] !== undefined) out.push("Transfer-Encoding", "chunked");
  return out;
}

/** A response's end-to-end fields, raw name/value pairs. */
function responseHeaders(res: IncomingMessage): string[] {
  return endToEnd(res.rawHeaders, res.headers.connection, []);
}
