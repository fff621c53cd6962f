export { encodeLiteralBlock, type HeaderField, HpackDecoder, HpackError } from "@l5d/h2";
export {
  type RelayRequest,
  type RelayServer,
  type RelayServerOptions,
  startRelayServer,
} from "./relay-server.js";
export { REQUEUE_BUFFER_BYTES, type RelayForwardOptions } from "./relay-stream.js";
