export {
  DataplaneError,
  type DataplaneErrorCode,
  GrpcStatus,
  grpcStatusForRstCode,
  H2Code,
} from "./errors.js";
export { hasSlowAsyncBind, installFastAsyncBind } from "./fast-async-bind.js";
export { type ForwardOptions, type ForwardResult, forward } from "./forward.js";
export { encodeGrpcTimeout, parseGrpcTimeout } from "./grpc-timeout.js";
export { type H2cServer, type H2cServerOptions, startH2cServer } from "./h2c-server.js";
export { forwardHeaders, type HeaderEdits, isGrpcContentType, isHopByHop } from "./headers.js";
export {
  type IncomingProxyRequest,
  type ProxyForwardOptions,
  type ProxyServer,
  type ProxyServerOptions,
  startProxyServer,
} from "./proxy-server.js";
export {
  decodeGrpcMessage,
  encodeGrpcMessage,
  type LocalError,
  respondError,
} from "./respond-error.js";
export {
  type Endpoint,
  endpointKey,
  UpstreamEndpoint,
  UpstreamPool,
  type UpstreamPoolOptions,
  type UpstreamState,
  type UpstreamStateKind,
} from "./upstream-pool.js";
