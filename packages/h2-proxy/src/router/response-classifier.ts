/**
 * Response classification: which outcomes count as success, as retryable failure, or as
 * failure (Linkerd's ResponseClassifier). The default for h2 is `io.l5d.h2.nonRetryable5XX`:
 * a 5xx status or a transport error is a non-retryable failure, anything else a success.
 * The other h2 kinds live in `classifier-h2.ts`, the gRPC ones in `classifier-grpc.ts`.
 */
import type { HeaderList } from "./header-list.js";
import type { ForwardOutcome } from "./routable-request.js";

export type ResponseClass = "success" | "retryable" | "failure";

export interface ResponseClassifier {
  classify(outcome: ForwardOutcome, request: HeaderList): ResponseClass;
  /**
   * False when this classifier never answers `retryable`: the router then streams responses
   * straight through without the retry buffer. Unset means "may retry".
   */
  readonly mayRetry?: boolean;
}

export const nonRetryable5XX: ResponseClassifier = {
  mayRetry: false,
  classify(o) {
    if (o.error) return "failure";
    if (o.status !== undefined && o.status >= 500) return "failure";
    return "success";
  },
};

/** The RST_STREAM code behind an outcome's error, if any (DataplaneError.rstCode). */
export function rstCodeOf(o: ForwardOutcome): number | undefined {
  const e = o.error as { rstCode?: unknown } | undefined;
  return typeof e?.rstCode === "number" ? e.rstCode : undefined;
}
