import type { status } from "@grpc/grpc-js";

/** grpc-go's names of the gRPC status codes (`codes.Code.String()`), indexed by code. */
export const GRPC_CODE_NAMES: readonly string[] = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];

/** grpc-go's CamelCase name of a status code (`Code(17)` for unknown codes, as grpc-go prints). */
export function grpcCodeName(code: number): string {
  return GRPC_CODE_NAMES[code] ?? `Code(${code})`;
}

/** A gRPC status carried by an error (grpc-js `ServiceError` shape). */
export interface RpcStatusLike {
  code: status;
  details: string;
}

/** True when `err` carries a numeric gRPC `code` and string `details` (grpc-js `ServiceError`). */
export function isRpcError(err: unknown): err is Error & RpcStatusLike {
  return (
    err instanceof Error &&
    typeof (err as Partial<RpcStatusLike>).code === "number" &&
    typeof (err as Partial<RpcStatusLike>).details === "string"
  );
}

/**
 * Formats an error like grpc-go's `err.Error()`: `rpc error: code = Unknown desc = server error`.
 * Errors that carry no gRPC status print their message.
 */
export function formatRpcError(err: unknown): string {
  if (isRpcError(err)) return `rpc error: code = ${grpcCodeName(err.code)} desc = ${err.details}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
