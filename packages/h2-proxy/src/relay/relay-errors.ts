/**
 * The errors a relayed request can end with, each made in one place (`RelayStream` decides
 * which; these say what the client and the router see: code, message, gRPC and HTTP status),
 * and the header block of a local answer.
 */
import { ErrorCode, errorCodeName, type HeaderField } from "@l5d/h2";
import {
  DataplaneError,
  GrpcStatus,
  grpcStatusForRstCode,
  httpStatusForRstCode,
} from "../dataplane/errors.js";
import { encodeGrpcMessage } from "../dataplane/respond-error.js";
import type { AttemptResult } from "../router/exchange.js";

/** An attempt asked for after the request ended (its client reset it while it was routed): not sent. */
export const EXCHANGE_OVER: AttemptResult = {
  outcome: {
    error: new DataplaneError(
      "CLIENT_RESET",
      "the request ended before it was sent (the client reset it)",
      GrpcStatus.CANCELLED,
      499,
    ),
  },
  held: false,
  unprocessed: false,
  durationMs: 0,
};

/** No connection to the endpoint (connect backoff): unprocessed, requeued by the router. */
export function unavailable(message: string): DataplaneError {
  return new DataplaneError("UPSTREAM_UNAVAILABLE", message, GrpcStatus.UNAVAILABLE, 503);
}

/** The client sent DATA past the stream window we advertised (RFC 9113 §6.9). */
export function clientOverrun(): DataplaneError {
  return new DataplaneError(
    "UPSTREAM_RESET",
    "the client sent DATA past the stream window (FLOW_CONTROL_ERROR)",
    GrpcStatus.CANCELLED,
    499,
    ErrorCode.FLOW_CONTROL_ERROR,
  );
}

/** The client reset the stream with `code` before the response was complete. */
export function clientReset(code: number): DataplaneError {
  return new DataplaneError(
    "CLIENT_RESET",
    `the client reset the stream (${errorCodeName(code)})`,
    GrpcStatus.CANCELLED,
    499,
    code,
  );
}

/** The upstream stream broke the protocol (`why`); we reset it with `code`. */
export function upstreamProtocolError(endpoint: string, why: string, code: number): DataplaneError {
  return new DataplaneError(
    "UPSTREAM_PROTOCOL_ERROR",
    `${endpoint}: ${why}`,
    GrpcStatus.INTERNAL,
    502,
    code,
  );
}

/** The upstream reset the stream with `code`. */
export function upstreamReset(endpoint: string, code: number): DataplaneError {
  return new DataplaneError(
    "UPSTREAM_RESET",
    `${endpoint} reset the stream (${errorCodeName(code)})`,
    grpcStatusForRstCode(code),
    httpStatusForRstCode(code),
    code,
  );
}

/** The upstream connection was lost (`connected`) or never made; `cause` says why when known. */
export function upstreamLost(
  endpoint: string,
  connected: boolean,
  cause: string | undefined,
): DataplaneError {
  const why = cause === undefined ? "" : ` (${cause})`;
  return connected
    ? new DataplaneError(
        "UPSTREAM_CONNECTION_LOST",
        `${endpoint}: connection lost${why}`,
        GrpcStatus.UNAVAILABLE,
        502,
      )
    : new DataplaneError(
        "UPSTREAM_CONNECT_FAILED",
        `${endpoint}: connect failed${why}`,
        GrpcStatus.UNAVAILABLE,
        502,
      );
}

/** The request's deadline expired. */
export function deadlineExceeded(message: string): DataplaneError {
  return new DataplaneError("DEADLINE_EXCEEDED", message, GrpcStatus.DEADLINE_EXCEEDED, 504);
}

/**
 * A local answer's header block: gRPC clients get a trailers-only response (`grpc-status`,
 * `grpc-message`), others the HTTP status (the message follows as a text body); both carry
 * `l5d-err`.
 */
export function localAnswer(
  isGrpc: boolean,
  grpcStatus: number,
  httpStatus: number,
  message: string,
): HeaderField[] {
  return isGrpc
    ? [
        [":status", "200"],
        ["content-type", "application/grpc"],
        ["grpc-status", String(grpcStatus)],
        ["grpc-message", encodeGrpcMessage(message)],
        ["l5d-err", encodeURIComponent(message)],
      ]
    : [
        [":status", String(httpStatus)],
        ["content-type", "text/plain; charset=utf-8"],
        ["l5d-err", encodeURIComponent(message)],
      ];
}

/** The trailers that end a gRPC response cut short by the deadline. */
export function deadlineTrailers(message: string): HeaderField[] {
  return [
    ["grpc-status", String(GrpcStatus.DEADLINE_EXCEEDED)],
    ["grpc-message", encodeGrpcMessage(message)],
  ];
}
