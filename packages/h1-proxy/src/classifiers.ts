/**
 * Linkerd's HTTP/1.1 response classifiers (`io.l5d.http.*`, `ResponseClassifiers.scala`), the
 * same rules as the h2 ones over the request's `:method`:
 * - `io.l5d.http.nonRetryable5XX` (the default): a 5xx or an exception is a failure, never retried;
 * - `io.l5d.http.retryableRead5XX`: failures of GET, HEAD, OPTIONS and TRACE are retryable;
 * - `io.l5d.http.retryableIdempotent5XX`: those and PUT and DELETE;
 * - `io.l5d.http.allSuccessful`: everything is a success.
 */
import {
  allSuccessful,
  fixedClassifier,
  nonRetryable5XX,
  retryableIdempotent5XX,
  retryableRead5XX,
} from "@l5d/h2-proxy";

export const httpClassifierFactories = [
  fixedClassifier("io.l5d.http.nonRetryable5XX", nonRetryable5XX),
  fixedClassifier("io.l5d.http.retryableRead5XX", retryableRead5XX),
  fixedClassifier("io.l5d.http.retryableIdempotent5XX", retryableIdempotent5XX),
  fixedClassifier("io.l5d.http.allSuccessful", allSuccessful),
] as const;
