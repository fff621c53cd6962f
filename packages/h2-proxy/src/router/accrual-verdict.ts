/**
 * What a finished attempt says about its endpoint, for failure accrual (issue #19), Linkerd 1's
 * way: the response classifier's verdict counts (`success` a success; `failure` and `retryable`
 * a failure), except when the outcome is the client's doing, which says nothing about the
 * endpoint and is never counted:
 * - the client reset or cancelled its request before the response was complete (a gRPC
 *   deadline, a cancel, a closed connection): Finagle's CancelledRequestException, still a
 *   failed request in the request stats. (Linkerd 1's h2 accrual counted it against the
 *   endpoint, which let clients eject healthy endpoints; a client giving up is no verdict.)
 * - the endpoint reset the stream with PROTOCOL_ERROR in answer to the request: the request was
 *   malformed (RFC 9113 §8.1.1), its sender's fault. A malformed *response* (the data plane
 *   resets the upstream itself, `UPSTREAM_PROTOCOL_ERROR`) does count against the endpoint.
 * - the data plane refused the request itself as malformed once routed (`REQUEST_MALFORMED`;
 *   requests it rejects before routing never reach the router at all).
 * A deadline the router enforces (`DEADLINE_EXCEEDED`) is the endpoint's slowness: it counts.
 */
import { ErrorCode } from "@l5d/h2";
import { type ResponseClass, rstCodeOf } from "./response-classifier.js";
import type { ForwardOutcome } from "./routable-request.js";

/** `success`/`failure`: counted for the endpoint; `ignored`: not the endpoint's doing. */
export type AccrualVerdict = "success" | "failure" | "ignored";

/** Why an outcome is not the endpoint's doing: its client reset it, or it was malformed. */
export type ClientCause = "cancelled" | "malformed";

function codeOf(e: Error | undefined): string | undefined {
  const c = (e as { code?: unknown } | undefined)?.code;
  return typeof c === "string" ? c : undefined;
}

/**
 * True when the client reset its request before the response was complete: the relay marks
 * it with a `CLIENT_RESET` error (an outcome with a `reset` code and no error is read the same).
 */
export function isClientReset(o: ForwardOutcome): boolean {
  const e = o.error;
  if (e === undefined) return o.reset !== undefined;
  return codeOf(e) === "CLIENT_RESET";
}

/** The client's part in an outcome, or undefined when the outcome is the endpoint's. */
export function clientCause(o: ForwardOutcome): ClientCause | undefined {
  if (isClientReset(o)) return "cancelled";
  const code = codeOf(o.error);
  if (code === "REQUEST_MALFORMED") return "malformed";
  if (code === "UPSTREAM_RESET" && rstCodeOf(o) === ErrorCode.PROTOCOL_ERROR) return "malformed";
  return undefined;
}

/** The attempt's verdict for failure accrual, from its outcome and its response class. */
export function accrualVerdict(o: ForwardOutcome, cls: ResponseClass): AccrualVerdict {
  if (isClientReset(o)) return "ignored";
  if (cls === "success") return "success";
  return clientCause(o) === undefined ? "failure" : "ignored";
}

/**
 * The class a request is counted under in the request stats: the classifier's, except that a
 * request its client reset before the response completed is a failure whatever the classifier
 * says of what had arrived (Linkerd counts the CancelledRequestException under `failures`).
 */
export function statsClass(o: ForwardOutcome, cls: ResponseClass): ResponseClass {
  return cls === "success" && isClientReset(o) ? "failure" : cls;
}
