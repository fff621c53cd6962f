export {
  DataplaneError,
  type DataplaneErrorCode,
  decodeGrpcMessage,
  encodeGrpcMessage,
  encodeGrpcTimeout,
  type ForwardOptions,
  type ForwardResult,
  forward,
  forwardHeaders,
  GrpcStatus,
  grpcStatusForRstCode,
  H2Code,
  type H2cServer,
  type H2cServerOptions,
  type HeaderEdits,
  type IncomingProxyRequest,
  isGrpcContentType,
  isHopByHop,
  type LocalError,
  type ProxyForwardOptions,
  type ProxyServer,
  type ProxyServerOptions,
  parseGrpcTimeout,
  respondError,
  startH2cServer,
  startProxyServer,
  type Endpoint as UpstreamAddress,
  endpointKey,
  UpstreamEndpoint,
  UpstreamPool,
  type UpstreamPoolOptions,
  type UpstreamState,
  type UpstreamStateKind,
} from "./dataplane/index.js";
export { Histogram, type HistogramSnapshot } from "./metrics/histogram.js";
export { Counter, Gauge, MetricsRegistry, scopeOf } from "./metrics/metrics-registry.js";
export { parseMetricName, toPrometheus } from "./metrics/prometheus.js";
export { loadOf, P2cBalancer, p2cFactory, type P2cConfig } from "./router/balancer-p2c.js";
export { BindingCache, type BindingCacheOptions, BindingTimeoutError } from "./router/binding-cache.js";
export { BoundClient } from "./router/bound-client.js";
export { CTX_DTAB, readLocalDtab, USER_DTAB } from "./router/dtab-headers.js";
export {
  composeIdentifiers,
  headerValue,
  type Identification,
  type Identifier,
  type IdentifierMaker,
} from "./router/identifier.js";
export {
  type HeaderPathConfig,
  headerPathIdentifier,
  headerPathIdentifierFactory,
} from "./router/identifier-header-path.js";
export {
  type HeaderTokenConfig,
  headerTokenIdentifier,
  headerTokenIdentifierFactory,
} from "./router/identifier-header-token.js";
export { Endpoint, type LoadBalancer, type LoadBalancerMaker } from "./router/load-balancer.js";
export { identifierFactories, loadBalancerFactories } from "./router/plugins.js";
export {
  nonRetryable5XX,
  type ResponseClass,
  type ResponseClassifier,
} from "./router/response-classifier.js";
export type { ForwardOutcome, RoutableRequest } from "./router/routable-request.js";
export {
  H2Router,
  pickLeaf,
  type RequestRecord,
  type RouterLogger,
  type RouterOptions,
  ServerScope,
} from "./router/router.js";
