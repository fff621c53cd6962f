/** Kubernetes `Status` objects, as the API server answers errors. */

export interface StatusObject {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure";
  message: string;
  reason: string;
  code: number;
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  404: "NotFound",
  405: "MethodNotAllowed",
  410: "Expired",
  504: "Timeout",
  500: "InternalError",
};

export function status(
  code: number,
  message: string,
  reason = REASONS[code] ?? "Unknown",
): StatusObject {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  };
}
