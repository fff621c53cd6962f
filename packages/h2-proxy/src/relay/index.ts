export { encodeLiteralBlock, type HeaderField, HpackDecoder, HpackError } from "./hpack.js";
export {
  type RelayRequest,
  type RelayServer,
  type RelayServerOptions,
  startRelayServer,
} from "./relay-server.js";
export { CONNECT_TIMEOUT_MS, RelayUpstreams } from "./upstream.js";
