/**
 * Response classification: which outcomes count as success, as retryable failure, or as
 * failure (Linkerd's ResponseClassifier). The default for h2 is `io.l5d.h2.nonRetryable5XX`:
 * a 5xx status or a transport error is a non-retryable failure, anything else a success.
 * The resilience issue adds the other h2 and gRPC classifiers behind this seam.
 */
import type { IncomingHttpHeaders } from "node:http2";
import type { ForwardOutcome } from "./routable-request.js";

export type ResponseClass = "success" | "retryable" | "failure";

export interface ResponseClassifier {
  classify(outcome: ForwardOutcome, request: IncomingHttpHeaders): ResponseClass;
}

export const nonRetryable5XX: ResponseClassifier = {
  classify(o) {
    if (o.error) return "failure";
    if (o.status !== undefined && o.status >= 500) return "failure";
    return "success";
  },
};
