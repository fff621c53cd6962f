/** Test helpers shared across packages (`@l5d/h2-proxy/testing`); never used at run time. */
/** Raw frames and literal header blocks for tests that speak HTTP/2 by hand. */
export { encodeFrame, encodeHeaderBlock } from "@l5d/h2";
export {
  type GrpcBackend,
  payload,
  sized,
  startGrpcBackend,
  type TestClient,
  testClient,
  waitFor,
} from "../dataplane/test-support.js";
export { defineInteropSuite, type InteropChain } from "./interop-suite.js";
export { makeTestCerts, type TestCerts, useTestCerts } from "./tls-certs.js";
