export {
  encodeLiteralBlock,
  type HeaderField,
  HpackDecoder,
  HpackError,
  LIMIT_NAMES,
  type LimitName,
} from "@l5d/h2";
export {
  IDLE_TIMEOUT_MS,
  type LimitSide,
  MAX_CONNECTIONS,
  PREFACE_TIMEOUT_MS,
  type RelayRequest,
  type RelayServer,
  type RelayServerOptions,
  startRelayServer,
} from "./relay-server.js";
export { CONNECT_TIMEOUT_MS, RelayUpstreams } from "./upstream.js";
