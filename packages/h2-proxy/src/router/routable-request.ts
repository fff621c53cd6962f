/**
 * What the router needs from a request: the data plane (node:http2 today, maybe a frame-level
 * relay tomorrow) implements this, so routing does not depend on how bytes move.
 */
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { HeaderEdits } from "../dataplane/headers.js";
import type { ProxyForwardOptions } from "../dataplane/proxy-server.js";
import type { LocalError } from "../dataplane/respond-error.js";
import type { Exchange, ExchangeOptions } from "./exchange.js";

export type { HeaderEdits, LocalError };

export interface ForwardOutcome {
  /** HTTP status of the response, when one was received. */
  readonly status?: number | undefined;
  /** `grpc-status` from trailers or a trailers-only response. */
  readonly grpcStatus?: number | undefined;
  /** Transport error (connect failure, reset, deadline). */
  readonly error?: Error | undefined;
  /** RST_STREAM code of the downstream stream when it was reset (8 CANCEL: the client gave up). */
  readonly reset?: number | undefined;
}

export interface RoutableRequest {
  readonly headers: IncomingHttpHeaders;
  readonly isGrpc: boolean;
  /**
   * The server stream, when the data plane has one: the router's retrying exchange needs it
   * (with `RouterOptions.pool`) to hold responses for classification and replay requests.
   */
  readonly stream?: ServerHttp2Stream;
  forward(
    endpoint: { readonly host: string; readonly port: number },
    edits: HeaderEdits,
    opts?: ProxyForwardOptions,
  ): Promise<ForwardOutcome>;
  respondError(e: LocalError): void;
  /**
   * A retryable exchange on this request, for data planes without a `stream` (the frame-level
   * relay): the router's retry loop drives it as it drives `RetryingExchange`. Called at most
   * once per request, instead of `forward`.
   */
  readonly exchange?: ((opts: ExchangeOptions) => Exchange) | undefined;
  /**
   * The request's id when the request already has one (the tracer's: Linkerd's `l5d-reqid` is
   * the trace id); the router then sends it as `l5d-reqid` instead of drawing a random one.
   */
  readonly requestId?: string | undefined;
}
