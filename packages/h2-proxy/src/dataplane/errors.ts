import { ErrorCode } from "@l5d/h2";

/** Stable codes of the data plane's errors. */
export type DataplaneErrorCode =
  | "UPSTREAM_UNAVAILABLE"
  | "UPSTREAM_CONNECT_FAILED"
  | "UPSTREAM_RESET"
  /** The client reset its request before the response was complete (not the upstream's doing). */
  | "CLIENT_RESET"
  /** The data plane refused the request as malformed after routing (never the endpoint's failure). */
  | "REQUEST_MALFORMED"
  | "UPSTREAM_CONNECTION_LOST"
  | "UPSTREAM_PROTOCOL_ERROR"
  | "DEADLINE_EXCEEDED";

/**
 * An error raised by the data plane, with a stable `code` and the gRPC/HTTP status it maps to.
 *
 * It is an outcome (a client's or an upstream's reset, a refused or malformed request...), not a
 * bug: it captures no stack trace (its `stack` is its first line). A stack cost ~17 % of the
 * relay's CPU under a rapid-reset attack, one `CLIENT_RESET` per stream.
 */
export class DataplaneError extends Error {
  override readonly name = "DataplaneError";
  constructor(
    readonly code: DataplaneErrorCode,
    message: string,
    /** The gRPC status a local answer carries (UNAVAILABLE 14, DEADLINE_EXCEEDED 4...). */
    readonly grpcStatus: number,
    /** The HTTP status a local answer carries to non-gRPC clients. */
    readonly httpStatus: number,
    /** The HTTP/2 RST_STREAM code involved, when there is one. */
    readonly rstCode?: number,
    options?: ErrorOptions,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, options);
    Error.stackTraceLimit = limit;
  }
}

/** gRPC status codes the data plane produces. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** The gRPC status a client sees for an RST_STREAM code (gRPC over HTTP/2 spec, "Errors"). */
export function grpcStatusForRstCode(code: number): number {
  switch (code) {
    case ErrorCode.REFUSED_STREAM:
      return GrpcStatus.UNAVAILABLE;
    case ErrorCode.CANCEL:
      return GrpcStatus.CANCELLED;
    case ErrorCode.ENHANCE_YOUR_CALM:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case ErrorCode.INADEQUATE_SECURITY:
      return GrpcStatus.PERMISSION_DENIED;
    default:
      return GrpcStatus.INTERNAL;
  }
}

/** The HTTP status a non-gRPC client sees when the upstream reset the stream before answering. */
export function httpStatusForRstCode(code: number): number {
  return code === ErrorCode.REFUSED_STREAM ? 503 : 502;
}
