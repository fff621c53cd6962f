export { acceptConnection } from "./accept-connection.js";
export {
  DataplaneError,
  type DataplaneErrorCode,
  GrpcStatus,
  grpcStatusForRstCode,
} from "./errors.js";
export { encodeGrpcTimeout, parseGrpcTimeout } from "./grpc-timeout.js";
export { isGrpcContentType, isHopByHop } from "./headers.js";
export { decodeGrpcMessage, encodeGrpcMessage } from "./respond-error.js";
