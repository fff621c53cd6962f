/**
 * Request tracing without touching the router: each request a server accepts is wrapped so that
 * its trace context is read (`l5d-ctx-trace`, `l5d-sample`, B3), and so is its exchange: every
 * attempt the router makes (first try, requeue, retry) gets the context of a new client span,
 * written onto that attempt through header edits. When the trace is sampled and something
 * records spans, the request is a server span and each attempt a client span, handed to the
 * tracing telemeters; otherwise the wrapping keeps no span state (`RequestSpans`).
 *
 * Span tree per linker hop: SERVER (child of the caller's span) → CLIENT (child of the server
 * span), and the next hop's SERVER span is the child of that CLIENT span. Trace context is
 * always propagated, even with no tracing telemeter (as Linkerd does: `l5d-ctx-trace` and
 * `l5d-reqid`; B3 headers too when spans are recorded or the caller sent B3); sampling is decided only
 * when something records spans.
 */
import {
  type AttemptResult,
  type AttemptSink,
  type Exchange,
  type ExchangeOptions,
  type ForwardOutcome,
  type HeaderEdits,
  type HeaderList,
  headerValue,
  type LocalError,
  type RoutableRequest,
  type Address as UpstreamAddress,
} from "@l5d/h2-proxy";
import { readIncomingTrace, TRACE_HEADERS_REMOVED, writeTraceHeaders } from "./propagation.js";
import { endpointOf, nowUs, type Span, type SpanEndpoint, type SpanSink } from "./span.js";
import { newId, type TraceContext, traceIdLow } from "./trace-context.js";

/**
 * What the tracer wraps: the data plane's request as the router takes it. The server span ends
 * when the exchange is over (a response committed or streamed through) or the request was
 * answered locally.
 */
export type TraceableRequest = RoutableRequest;

/** The server a request arrived on. */
export interface TracedServer {
  readonly router: string;
  readonly ip: string;
  readonly port: number;
}

export interface TracerOptions {
  /** Where finished spans go. With none, context is propagated but nothing is sampled. */
  readonly sinks: readonly SpanSink[];
  /** Random source for sampling decisions. Default `Math.random`. */
  readonly random?: () => number;
}

export class Tracer {
  readonly #sinks: readonly SpanSink[];
  readonly #random: () => number;
  /** The highest sample rate any sink asks for (0 with no sink). */
  readonly sampleRate: number;

  constructor(opts: TracerOptions) {
    this.#sinks = opts.sinks;
    this.#random = opts.random ?? Math.random;
    this.sampleRate = opts.sinks.reduce((m, s) => Math.max(m, s.sampleRate), 0);
  }

  get recording(): boolean {
    return this.#sinks.length > 0;
  }

  /** Wraps a request as it arrives (after `clearContext`, before any routing). */
  wrap(req: TraceableRequest, server: TracedServer): TracedRequest {
    const incoming = readIncomingTrace(req.headers);
    const p = incoming.parent;
    const debug = p?.debug === true;
    let sampled = p?.sampled;
    if (sampled === undefined && this.recording) {
      const rate = incoming.sampleRate ?? this.sampleRate;
      sampled = debug || (rate > 0 && this.#random() < rate);
    }
    const spanId = newId();
    const ctx: TraceContext = {
      traceId: p?.traceId ?? spanId,
      spanId,
      parentId: p?.spanId,
      sampled,
      debug,
    };
    return new TracedRequest(
      req,
      ctx,
      server,
      incoming.b3Single,
      // B3 is written when spans are recorded or the caller speaks B3; otherwise only Linkerd's
      // own l5d-ctx-trace and l5d-reqid (what Linkerd 1's default propagator sends)
      this.recording || incoming.b3,
      sampled === true && this.recording ? this : undefined,
    );
  }

  /** Hands a finished span to every sink. */
  emit(span: Span): void {
    for (const s of this.#sinks) {
      try {
        s.recordSpan(span);
      } catch {
        // a sink must never break a request
      }
    }
  }
}

/** The router's removals plus the trace headers, memoised per (long-lived) removal list. */
const removals = new WeakMap<readonly string[], readonly string[]>();
function withTraceRemovals(remove: readonly string[] | undefined): readonly string[] {
  if (remove === undefined) return TRACE_HEADERS_REMOVED;
  let all = removals.get(remove);
  if (all === undefined) {
    all = [...remove, ...TRACE_HEADERS_REMOVED];
    removals.set(remove, all);
  }
  return all;
}

const DST_HEADERS: readonly string[] = ["l5d-dst-service", "l5d-dst-client", "l5d-dst-residual"];
const NO_DST: Readonly<Record<string, string>> = {};

function firstHeader(h: HeaderList, name: string): string {
  return headerValue(h, name) ?? "";
}

/** A trace context whose fields are written in place (the scratch context below). */
type ContextRecord = { -readonly [K in keyof TraceContext]: TraceContext[K] };

/** The context of a new child span of `parent` (an attempt's client span), written into `out`. */
function childContext(
  parent: TraceContext,
  out: ContextRecord = { traceId: "", spanId: "" },
): TraceContext {
  out.traceId = parent.traceId;
  out.spanId = newId();
  out.parentId = parent.spanId;
  out.sampled = parent.sampled;
  out.debug = parent.debug;
  return out;
}

/**
 * The client context of an attempt that records no span: it is only written onto the attempt's
 * headers, at once, so one record serves every such attempt (no object per attempt).
 */
const UNRECORDED_CLIENT: ContextRecord = {
  traceId: "",
  spanId: "",
  parentId: undefined,
  sampled: undefined,
  debug: false,
};

/**
 * The request as the router sees it, and its exchange (one object per request: `exchange()`
 * returns the request itself), with tracing around each attempt, `commit` and `respondError`.
 * Each attempt carries the trace context; when the request is recorded (`RequestSpans`) it is
 * also a client span.
 */
export class TracedRequest implements TraceableRequest, Exchange {
  readonly #req: TraceableRequest;
  readonly #ctx: TraceContext;
  readonly #b3Single: boolean;
  readonly #b3Multi: boolean;
  /** The request's spans when it is recorded (sampled, and something records spans). */
  readonly #spans: RequestSpans | undefined;
  /** The data plane's exchange, once the router asked for it. */
  #inner: Exchange | undefined;

  constructor(
    req: TraceableRequest,
    ctx: TraceContext,
    server: TracedServer,
    b3Single: boolean,
    b3Multi: boolean,
    tracer: Tracer | undefined,
  ) {
    this.#req = req;
    this.#ctx = ctx;
    this.#b3Single = b3Single;
    this.#b3Multi = b3Multi;
    this.#spans = tracer ? new RequestSpans(tracer, req, ctx, server) : undefined;
  }

  get headers() {
    return this.#req.headers;
  }

  get isGrpc() {
    return this.#req.isGrpc;
  }

  /**
   * The router's `l5d-reqid`: Linkerd's request id is the trace id (`writeTraceHeaders` sets the
   * same value), so the router need not draw a random one that would be overwritten.
   */
  get requestId(): string {
    return traceIdLow(this.#ctx.traceId);
  }

  /** The server span's context (for tests and logs). */
  get trace(): TraceContext {
    return this.#ctx;
  }

  /** The request's exchange, traced: this request, over the data plane's exchange (once per request). */
  exchange(opts: ExchangeOptions): Exchange {
    this.#inner = this.#req.exchange(opts);
    return this;
  }

  get #ex(): Exchange {
    return this.#inner as Exchange;
  }

  get replayable(): boolean {
    return this.#ex.replayable;
  }

  get done(): boolean {
    return this.#ex.done;
  }

  remainingMs(): number | undefined {
    return this.#ex.remainingMs();
  }

  /** One attempt: it carries the trace context, and is a client span when the request is recorded. */
  attempt(endpoint: UpstreamAddress, edits: HeaderEdits, sink: AttemptSink): void {
    const spans = this.#spans;
    // not recording: the context is propagated, no span (no extra object either)
    if (spans === undefined) {
      const client = childContext(this.#ctx, UNRECORDED_CLIENT);
      this.#ex.attempt(endpoint, this.#tracedEdits(client, edits), sink);
      return;
    }
    const client = childContext(this.#ctx);
    const traced = this.#tracedEdits(client, edits);
    spans.attempt(this.#ex, endpoint, edits, traced, client, sink);
  }

  discard(): void {
    this.#ex.discard();
  }

  commit(extra?: Readonly<Record<string, string>>): Promise<void> {
    const spans = this.#spans;
    if (spans === undefined) return this.#ex.commit(extra);
    return spans.committed(this.#ex.commit(extra));
  }

  respondError(e: LocalError): void {
    this.#spans?.failedLocally(e);
    this.#req.respondError(e);
    this.#spans?.respondedLocally();
  }

  /** One header object: the router's edits, then the trace context (which wins). */
  #tracedEdits(client: TraceContext, edits: HeaderEdits | undefined): HeaderEdits {
    const set = writeTraceHeaders(
      Object.assign({}, edits?.set),
      client,
      this.#b3Single,
      this.#b3Multi,
    );
    return { set, remove: withTraceRemovals(edits?.remove) };
  }
}

/**
 * The spans of a recorded request: its server span, and a client span per attempt. The server
 * span ends when the exchange is over (a response committed or streamed through) or the request
 * was answered locally, and its last attempt finished.
 */
class RequestSpans {
  readonly #tracer: Tracer;
  readonly #req: TraceableRequest;
  readonly #ctx: TraceContext;
  readonly #server: TracedServer;
  readonly #startUs: number;
  #pending = 0;
  #closedAtUs: number | undefined;
  #lastForwardEndUs = 0;
  #emitted = false;
  #status: number | undefined;
  #grpcStatus: number | undefined;
  #error: string | undefined;
  /** The router's `l5d-dst-*` values, for span tags. */
  #dst: Record<string, string> | undefined;

  constructor(tracer: Tracer, req: TraceableRequest, ctx: TraceContext, server: TracedServer) {
    this.#tracer = tracer;
    this.#req = req;
    this.#ctx = ctx;
    this.#server = server;
    this.#startUs = nowUs();
  }

  /** One attempt of the exchange `inner`, as the client span `client`; its result then goes to `sink`. */
  attempt(
    inner: Exchange,
    endpoint: UpstreamAddress,
    edits: HeaderEdits,
    traced: HeaderEdits,
    client: TraceContext,
    sink: AttemptSink,
  ): void {
    this.#noteDst(edits);
    this.#pending++;
    const start = nowUs();
    // the client span ends once: a second delivery, or a throw after the result came, ends
    // nothing more (as the router's loop ignores them)
    let over = false;
    const spanned: AttemptSink = {
      attempted: (r) => {
        if (over) return;
        over = true;
        this.#attemptOver(client, endpoint, start, r);
        sink.attempted(r);
      },
    };
    try {
      inner.attempt(endpoint, traced, spanned);
    } catch (e) {
      if (!over) {
        over = true;
        this.#attemptOver(client, endpoint, start, undefined);
      }
      throw e;
    }
  }

  /** An attempt's client span ends (`r` undefined: the attempt threw); the server span may too. */
  #attemptOver(
    client: TraceContext,
    endpoint: UpstreamAddress,
    start: number,
    r: AttemptResult | undefined,
  ): void {
    this.#pending--;
    this.#clientSpan(client, endpoint, start, r?.outcome);
    if (r !== undefined && !r.held) this.exchangeOver();
    else if (this.#closedAtUs !== undefined && this.#pending === 0) this.#emitServer();
  }

  /** The exchange's `commit` (resolved): the exchange is over once it is. */
  async committed(commit: Promise<void>): Promise<void> {
    await commit;
    this.exchangeOver();
  }

  /** The exchange answered the client (committed, or its last attempt was final). */
  exchangeOver(): void {
    if (this.#closedAtUs !== undefined) return;
    this.#closedAtUs = nowUs();
    if (this.#pending === 0) this.#emitServer();
  }

  /** The request is answered locally with `e` (before `respondedLocally`). */
  failedLocally(e: LocalError): void {
    this.#status = this.#req.isGrpc ? 200 : e.httpStatus;
    this.#grpcStatus = this.#req.isGrpc ? e.grpcStatus : undefined;
    this.#error = e.message;
  }

  respondedLocally(): void {
    if (this.#pending === 0) {
      this.#closedAtUs = nowUs();
      this.#emitServer();
    }
  }

  #noteDst(edits: HeaderEdits | undefined): void {
    if (edits?.set) {
      let dst = this.#dst;
      if (dst === undefined) {
        dst = {};
        this.#dst = dst;
      }
      for (const k of DST_HEADERS) {
        const v = edits.set[k];
        if (v !== undefined) dst[k] = v;
      }
    }
  }

  /** Emits the client span of one attempt, and records its outcome for the server span. */
  #clientSpan(
    client: TraceContext,
    endpoint: UpstreamAddress,
    start: number,
    r: ForwardOutcome | undefined,
  ): void {
    const end = nowUs();
    this.#lastForwardEndUs = Math.max(this.#lastForwardEndUs, end);
    if (r) {
      this.#status = r.status;
      this.#grpcStatus = r.grpcStatus;
      this.#error = r.error?.message;
    }
    const tags: Record<string, string> = {
      ...this.#commonTags(),
      "l5d.endpoint": `${endpoint.host}:${endpoint.port}`,
    };
    addStatusTags(tags, r?.status, r?.grpcStatus, r?.error?.message);
    this.#tracer.emit({
      traceId: client.traceId,
      id: client.spanId,
      parentId: client.parentId,
      kind: "CLIENT",
      name: this.#name(),
      timestampUs: start,
      durationUs: Math.max(1, end - start),
      localEndpoint: this.#local(),
      remoteEndpoint: endpointOf(endpoint.host, endpoint.port),
      tags,
      error: r?.error?.message,
      debug: client.debug || undefined,
    });
  }

  #name(): string {
    const path = firstHeader(this.#req.headers, ":path");
    const q = path.indexOf("?");
    return q >= 0 ? path.slice(0, q) : path;
  }

  #local(): SpanEndpoint {
    return endpointOf(this.#server.ip, this.#server.port, this.#server.router);
  }

  #commonTags(): Record<string, string> {
    const h = this.#req.headers;
    const tags: Record<string, string> = {
      "l5d.router": this.#server.router,
      "http.method": firstHeader(h, ":method"),
      "http.path": firstHeader(h, ":path"),
    };
    const authority = firstHeader(h, ":authority") || firstHeader(h, "host");
    if (authority) tags["http.host"] = authority;
    const d = this.#dst ?? NO_DST;
    if (d["l5d-dst-service"]) tags["l5d.dst.service"] = d["l5d-dst-service"];
    if (d["l5d-dst-client"]) tags["l5d.dst.client"] = d["l5d-dst-client"];
    if (d["l5d-dst-residual"]) tags["l5d.dst.residual"] = d["l5d-dst-residual"];
    return tags;
  }

  #emitServer(): void {
    if (this.#emitted) return;
    this.#emitted = true;
    // the server span ends when the stream closed or its last forward finished, whichever is later
    const end = Math.max(this.#closedAtUs ?? nowUs(), this.#lastForwardEndUs);
    const tags = this.#commonTags();
    addStatusTags(tags, this.#status, this.#grpcStatus, this.#error);
    const ctx = this.#ctx;
    this.#tracer.emit({
      traceId: ctx.traceId,
      id: ctx.spanId,
      parentId: ctx.parentId,
      kind: "SERVER",
      name: this.#name(),
      timestampUs: this.#startUs,
      durationUs: Math.max(1, end - this.#startUs),
      localEndpoint: this.#local(),
      tags,
      error: this.#error,
      debug: ctx.debug || undefined,
    });
  }
}

function addStatusTags(
  tags: Record<string, string>,
  status: number | undefined,
  grpcStatus: number | undefined,
  error: string | undefined,
): void {
  if (status !== undefined && status > 0) tags["http.status_code"] = String(status);
  if (grpcStatus !== undefined) tags["grpc.status_code"] = String(grpcStatus);
  if (error) tags.error = error;
  else if (grpcStatus !== undefined && grpcStatus !== 0) tags.error = `grpc-status ${grpcStatus}`;
  else if (status !== undefined && status >= 500) tags.error = `http ${status}`;
}
