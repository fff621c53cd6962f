/** Kubernetes `Status` objects, as the API server answers errors (and deletions). */

/** `details` of a Status: which object the answer is about (`kind` is the resource, `dtabs`). */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message: string; field?: string }[];
}

export interface StatusObject {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure";
  message: string;
  reason: string;
  code: number;
  details?: StatusDetails;
}

/** What a successful DELETE of an object answers (the generic registry's default). */
export interface SuccessStatusObject {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Success";
  details: StatusDetails;
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Expired",
  413: "RequestEntityTooLarge",
  415: "UnsupportedMediaType",
  422: "Invalid",
  504: "Timeout",
  500: "InternalError",
};

export function status(
  code: number,
  message: string,
  reason = REASONS[code] ?? "Unknown",
  details?: StatusDetails,
): StatusObject {
  const s: StatusObject = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  };
  if (details !== undefined) s.details = details;
  return s;
}

export function successStatus(details: StatusDetails): SuccessStatusObject {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details };
}
