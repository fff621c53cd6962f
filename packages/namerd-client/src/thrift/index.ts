/**
 * The ThriftMux codec shared by namerd's `io.l5d.thriftNameInterpreter` and l5d's
 * `io.l5d.namerd`: Mux framing and sessions, the Thrift binary protocol, the namer IDL's
 * structs, and their conversion to and from our trees (exported as `thrift` from the package).
 */

export {
  MuxClientSession,
  type MuxClientSessionOptions,
  MuxNackError,
  MuxRemoteError,
} from "./mux-client-session.js";
export {
  FragmentJoiner,
  FrameDecoder,
  MAX_MUX_FRAME_BYTES,
  MuxFramingError,
} from "./mux-framer.js";
export {
  CAN_TINIT_MSG,
  CONTROL_TAG,
  decodeMessage,
  encodeMessage,
  type Headers,
  headerValue,
  MARKER_TAG,
  MAX_TAG,
  MIN_TAG,
  MUX_FRAMER_KEY,
  MUX_VERSION,
  type MuxMessage,
  MuxProtocolError,
  MuxType,
  ReplyStatus,
  TAG_MSB,
  TLS_KEY,
} from "./mux-message.js";
export {
  DEFAULT_MAX_OUTSTANDING,
  type MuxHandler,
  type MuxRequest,
  MuxServerSession,
  type MuxServerSessionOptions,
} from "./mux-server-session.js";
export { MuxSession, MuxSessionClosedError, type MuxSessionOptions } from "./mux-session.js";
export {
  type NamerClientTls,
  ThriftNamerClient,
  type ThriftNamerClientOptions,
} from "./namer-client.js";
export * from "./namer-idl.js";
export * from "./namer-trees.js";
export {
  MAX_THRIFT_DEPTH,
  type MessageHeader,
  ThriftProtocolError,
  ThriftReader,
  ThriftWriter,
  TMessageType,
  TType,
} from "./thrift-binary.js";
