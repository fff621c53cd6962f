import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { type ForwardResult, forward } from "./forward.js";
import { startH2cServer } from "./h2c-server.js";
import { type HeaderEdits, isGrpcContentType } from "./headers.js";
import { type LocalError, respondError } from "./respond-error.js";
import { type Endpoint, UpstreamPool } from "./upstream-pool.js";

/** Per-request options of {@link IncomingProxyRequest.forward}. */
export interface ProxyForwardOptions {
  /** Router deadline (Linkerd `totalTimeoutMs`); combined with `grpc-timeout`, earlier wins. */
  readonly deadlineMs?: number | undefined;
  /** Endpoint for the one replay of a request the upstream refused unprocessed. */
  readonly requeue?: (() => Endpoint | undefined) | undefined;
  /** Called with the outcome when the exchange is over (same value the promise resolves to). */
  readonly onComplete?: ((r: ForwardResult) => void) | undefined;
}

/** One request as the router sees it: decide, then `forward` or `respondError`, exactly once. */
export interface IncomingProxyRequest {
  /** Request headers, including `:method`, `:path`, `:authority`, `:scheme`. */
  readonly headers: IncomingHttpHeaders;
  /** `content-type` starts with `application/grpc`. */
  readonly isGrpc: boolean;
  /** The server stream (escape hatch; the frame-level relay will not have one). */
  readonly stream: ServerHttp2Stream;
  /** The client reset the stream (or went away) before a decision was made. */
  readonly aborted: boolean;
  /**
   * Forwards to `endpoint` with header edits. Request body that arrived while the router was
   * deciding is kept (node:http2 buffers it and withholds window credit). Resolves when the
   * exchange is over; never rejects (failures are answered locally and reported in the result).
   */
  forward(
    endpoint: Endpoint,
    edits?: HeaderEdits,
    opts?: ProxyForwardOptions,
  ): Promise<ForwardResult>;
  /** Answers locally (trailers-only gRPC error or an HTTP error with `l5d-err`). */
  respondError(e: LocalError): void;
}

/** Options of {@link startProxyServer}. */
export interface ProxyServerOptions {
  /** Address to listen on (Linkerd server `ip`, default loopback). */
  readonly host: string;
  /** Port (Linkerd h2 default 4142); 0 picks a free one. */
  readonly port: number;
  /** Streams per connection beyond which REFUSED_STREAM is sent. Linkerd 1.5.1+: 1000. */
  readonly maxConcurrentStreams?: number | undefined;
  /** Per-stream receive window, server and client sides. Linkerd `initialStreamWindowBytes`: 64 KiB. */
  readonly initialWindowSize?: number | undefined;
  /** SETTINGS_MAX_HEADER_LIST_SIZE accepted from clients. Default 256 KiB. */
  readonly maxHeaderListSize?: number | undefined;
  /** Liveness sweep interval for idle client connections (see `H2cServerOptions`). Default 10 s. */
  readonly livenessCheckMs?: number | undefined;
  /** Upstream pool to use (shared between servers of a router); one is created (and closed) otherwise. */
  readonly pool?: UpstreamPool | undefined;
  /** Called for every request; must eventually call `forward` or `respondError`. */
  readonly onRequest: (req: IncomingProxyRequest) => void;
}

/** A running proxy server. */
export interface ProxyServer {
  readonly host: string;
  readonly port: number;
  readonly pool: UpstreamPool;
  /** Open downstream connections. */
  readonly connections: number;
  /** Open downstream streams. */
  readonly streams: number;
  /** GOAWAY to clients, wait up to `graceMs` (default 10 s) for in-flight streams, then close. */
  close(graceMs?: number): Promise<void>;
}

class Request implements IncomingProxyRequest {
  readonly isGrpc: boolean;
  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    private readonly pool: UpstreamPool,
  ) {
    this.isGrpc = isGrpcContentType(headers["content-type"]);
  }

  get aborted(): boolean {
    return this.stream.destroyed;
  }

  forward(
    endpoint: Endpoint,
    edits?: HeaderEdits,
    opts?: ProxyForwardOptions,
  ): Promise<ForwardResult> {
    return forward(this.pool, this.stream, this.headers, endpoint, {
      edits,
      isGrpc: this.isGrpc,
      deadlineMs: opts?.deadlineMs,
      requeue: opts?.requeue,
      onComplete: opts?.onComplete,
    });
  }

  respondError(e: LocalError): void {
    respondError(this.stream, this.isGrpc, e);
  }
}

/** Starts an h2c proxy server (prior knowledge and `Upgrade: h2c`) handing requests to `onRequest`. */
export async function startProxyServer(opts: ProxyServerOptions): Promise<ProxyServer> {
  const ownPool = opts.pool === undefined;
  const pool = opts.pool ?? new UpstreamPool({ initialWindowSize: opts.initialWindowSize });
  const onRequest = opts.onRequest;
  const server = await startH2cServer({
    host: opts.host,
    port: opts.port,
    maxConcurrentStreams: opts.maxConcurrentStreams,
    initialWindowSize: opts.initialWindowSize,
    maxHeaderListSize: opts.maxHeaderListSize,
    livenessCheckMs: opts.livenessCheckMs,
    onStream(stream, headers) {
      const req = new Request(stream, headers, pool);
      try {
        onRequest(req);
      } catch (err) {
        respondError(stream, req.isGrpc, {
          grpcStatus: 13,
          httpStatus: 500,
          message: `router failed: ${(err as Error).message}`,
        });
      }
    },
  });
  return {
    host: server.host,
    port: server.port,
    pool,
    get connections() {
      return server.connections;
    },
    get streams() {
      return server.streams;
    },
    async close(graceMs?: number) {
      await server.close(graceMs);
      if (ownPool) await pool.close();
    },
  };
}
