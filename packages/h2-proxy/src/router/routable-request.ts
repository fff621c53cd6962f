/**
 * The seam between the router and the data plane, in the router's own types: what the router
 * needs from a request (`RoutableRequest`) and from the data plane's upstream side
 * (`Upstreams`). The frame-level relay (`../relay/`) implements both; the router depends on
 * nothing of how bytes move.
 */
import type { Address } from "./address.js";
import type { Exchange, ExchangeOptions } from "./exchange.js";
import type { HeaderEdits, HeaderList } from "./header-list.js";

export type { Address, HeaderEdits, HeaderList };

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

/** An error answered locally: gRPC requests get `grpcStatus` (trailers-only), others `httpStatus`. */
export interface LocalError {
  readonly grpcStatus: number;
  readonly httpStatus: number;
  readonly message: string;
}

export interface RoutableRequest {
  /** The request's header list (pseudo-headers first), as received. */
  readonly headers: HeaderList;
  readonly isGrpc: boolean;
  /**
   * The request's exchange: the router's loop (`H2Router`) drives every request through one,
   * a plain forward being one attempt of it. Called once per request.
   */
  exchange(opts: ExchangeOptions): Exchange;
  /** Answers the request locally (before any attempt). */
  respondError(e: LocalError): void;
  /**
   * The request's id when the request already has one (the tracer's: Linkerd's `l5d-reqid` is
   * the trace id); the router then sends it as `l5d-reqid` instead of drawing a random one.
   */
  readonly requestId?: string | undefined;
}

/**
 * The data plane's upstream connections, as the router steers them: `retain` names every
 * address still in some replica set (called whenever the router's bound endpoints change);
 * connections to the others are closed gracefully (no new streams, in-flight ones finish).
 * `close()` closes every upstream connection (after the servers stopped).
 */
export interface Upstreams {
  retain(addresses: Iterable<Address>): void;
  close(): void;
}
