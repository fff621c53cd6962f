export { httpClassifierFactories } from "./classifiers.js";
export { type UpstreamPool, UpstreamPools } from "./client/upstream-pools.js";
export * from "./identifiers/index.js";
export { AccessLog, accessLogLine, accessLogTime } from "./server/access-log.js";
export { BodyLog, type BodySink, type BodySource } from "./server/body-log.js";
export { type ForwardedConfig, forwardedElement, randomLabel } from "./server/forwarded.js";
export { H1Exchange, type H1Source } from "./server/h1-exchange.js";
export { H1Request, type H1RequestParts, headerListOf } from "./server/h1-request.js";
export {
  type H1RejectName,
  type H1Server,
  type H1ServerOptions,
  startH1Server,
} from "./server/h1-server.js";
export { connectionListed, HOP_BY_HOP, isHopByHop } from "./server/hop-by-hop.js";
export type { IncomingRequest } from "./server/incoming-request.js";
export { encodeL5dErr, localAnswer } from "./server/local-answer.js";
export type { Reply } from "./server/reply.js";
