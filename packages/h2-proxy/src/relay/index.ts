export { encodeLiteralBlock, type HeaderField, HpackDecoder, HpackError } from "./hpack.js";
export {
  type RelayRequest,
  type RelayServer,
  type RelayServerOptions,
  startRelayServer,
} from "./relay-server.js";
export { REQUEUE_BUFFER_BYTES, type RelayForwardOptions } from "./relay-stream.js";
