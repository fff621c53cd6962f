export {
  DataplaneError,
  type DataplaneErrorCode,
  decodeGrpcMessage,
  encodeGrpcMessage,
  encodeGrpcTimeout,
  GrpcStatus,
  grpcStatusForRstCode,
  isGrpcContentType,
  isHopByHop,
  parseGrpcTimeout,
} from "./dataplane/index.js";
export { Histogram, type HistogramData, type HistogramSnapshot } from "./metrics/histogram.js";
export {
  Counter,
  Gauge,
  type MetricData,
  MetricsRegistry,
  scopeOf,
} from "./metrics/metrics-registry.js";
export {
  CONNECT_TIMEOUT_MS,
  encodeLiteralBlock,
  HpackDecoder,
  HpackError,
  IDLE_TIMEOUT_MS,
  LIMIT_NAMES,
  type LimitName,
  type LimitSide,
  MAX_CONNECTIONS,
  PREFACE_TIMEOUT_MS,
  type RelayRequest,
  type RelayServer,
  type RelayServerOptions,
  RelayUpstreams,
  startRelayServer,
} from "./relay/index.js";
export { type Address, addressKey, type UpstreamTls } from "./router/address.js";
export {
  type Backoff,
  type BackoffConfig,
  DEFAULT_ACCRUAL_BACKOFF,
  startBackoff,
} from "./router/backoff.js";
export {
  ApertureBalancer,
  type ApertureConfig,
  apertureFactory,
} from "./router/balancer-aperture.js";
export { EwmaBalancer, type EwmaConfig, ewmaFactory } from "./router/balancer-ewma.js";
export { HeapBalancer, heapFactory } from "./router/balancer-heap.js";
export { loadOf, P2cBalancer, type P2cConfig, p2cFactory } from "./router/balancer-p2c.js";
export { RoundRobinBalancer, roundRobinFactory } from "./router/balancer-round-robin.js";
export {
  BindingCache,
  type BindingCacheOptions,
  BindingTimeoutError,
} from "./router/binding-cache.js";
export { BoundClient } from "./router/bound-client.js";
export {
  type GrpcClassifierOptions,
  grpcClassifier,
  grpcDefault,
} from "./router/classifier-grpc.js";
export {
  allSuccessful,
  fixedClassifier,
  retryableAll5XX,
  retryableIdempotent5XX,
  retryableRead5XX,
} from "./router/classifier-h2.js";
export { CTX_DTAB, readLocalDtab, USER_DTAB } from "./router/dtab-headers.js";
export {
  type AttemptResult,
  type AttemptSink,
  attemptOnce,
  deadlineExceededOutcome,
  deliverLater,
  type Exchange,
  type ExchangeOptions,
} from "./router/exchange.js";
export {
  FailureAccrual,
  type FailureAccrualMaker,
  type FailureAccrualPolicy,
  type FailureAccrualStats,
} from "./router/failure-accrual.js";
export {
  ConsecutiveFailuresPolicy,
  defaultFailureAccrual,
  SuccessRatePolicy,
  SuccessRateWindowedPolicy,
} from "./router/failure-accrual-policies.js";
export {
  type HeaderEdits,
  type HeaderField,
  type HeaderList,
  headerList,
  headerValue,
  headerValues,
} from "./router/header-list.js";
export {
  composeIdentifiers,
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
export {
  failureAccrualFactories,
  identifierFactories,
  loadBalancerFactories,
  responseClassifierFactories,
} from "./router/plugins.js";
export {
  nonRetryable5XX,
  type ResponseClass,
  type ResponseClassifier,
  rstCodeOf,
} from "./router/response-classifier.js";
export {
  DEFAULT_RETRY_BUDGET,
  RetryBudget,
  type RetryBudgetConfig,
} from "./router/retry-budget.js";
export type {
  ForwardOutcome,
  LocalError,
  RoutableRequest,
  Upstreams,
} from "./router/routable-request.js";
export {
  H2Router,
  pickLeaf,
  type RequestRecord,
  type RouterLogger,
  type RouterOptions,
  ServerScope,
} from "./router/router.js";
export {
  type ClientPolicy,
  MAX_REQUEUES_PER_REQUEST,
  type ServicePolicy,
} from "./router/service-policy.js";
export { TOKEN_NAME_CACHE_SIZE, tokenNamer } from "./router/token-namer.js";
