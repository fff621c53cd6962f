/**
 * `@l5d/h2`: l5d-ts's HTTP/2 endpoint library — the wire vocabulary, the frame codec and
 * per-connection state (`FrameConn`), HPACK (RFC 7541) and the output buffer. No routing: the
 * relay in `@l5d/h2-proxy` sits on top of it for its downstream (server) and upstream (client)
 * connections.
 */
export {
  ConnectionError,
  FrameConn,
  type FrameHandler,
} from "./frame-conn.js";
export {
  checkRequestHeaders,
  checkResponseHeaders,
  checkTrailers,
  type MessageInfo,
  parseContentLength,
} from "./header-validation.js";
export {
  blockBound,
  encodeLiteralBlock,
  type HeaderField,
  HpackDecoder,
  HpackEncoder,
  HpackError,
} from "./hpack.js";
export {
  DEFAULT_LIMITS,
  Flood,
  FloodGuard,
  type H2Limits,
  headerListSize,
  LIMIT_NAMES,
  LimitError,
  type LimitName,
  type OnLimit,
  overHeaderLimits,
  resolveLimits,
  SMALL_WINDOW_UPDATE,
} from "./limits.js";
export { CHUNK_BYTES, COPY_MAX, MIN_CHUNK_BYTES, OutBuffer } from "./out-buffer.js";
export {
  decodeFrames,
  encodeFrame,
  encodeHeaderBlock,
  type Frame,
} from "./raw-frames.js";
export {
  afterRecv,
  afterReset,
  afterSend,
  isClosed,
  isConnectionError,
  PeerStreams,
  RECENT_CLOSED,
  StreamState,
  streamStateName,
  Verdict,
  verdict,
  verdictCode,
} from "./stream-state.js";
export { StreamTable } from "./stream-table.js";
export {
  CLIENT_PREFACE,
  DEFAULT_HEADER_TABLE_SIZE,
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  ErrorCode,
  errorCodeName,
  Flag,
  FRAME_HEADER_BYTES,
  FrameType,
  MAX_FRAME_LIMIT,
  MAX_WINDOW,
  SettingsId,
} from "./wire.js";
