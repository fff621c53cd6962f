export { httpClassifierFactories } from "./classifiers.js";
export * from "./identifiers/index.js";
export { AccessLog, accessLogLine, accessLogTime } from "./server/access-log.js";
export { BodyLog } from "./server/body-log.js";
export { type ForwardedConfig, forwardedElement, randomLabel } from "./server/forwarded.js";
export { H1Exchange, type H1Source } from "./server/h1-exchange.js";
export { H1Request, type H1RequestParts, headerListOf } from "./server/h1-request.js";
export {
  type H1RejectName,
  type H1Server,
  type H1ServerOptions,
  startH1Server,
} from "./server/h1-server.js";
export { connectionListed, HOP_BY_HOP } from "./server/hop-by-hop.js";
export { encodeL5dErr, localAnswer } from "./server/local-answer.js";
export { type UpstreamPool, UpstreamPools } from "./server/upstream-pool.js";
