/**
 * The HTTP/2 wire vocabulary, defined once (RFC 9113 §3.4, §4.1, §6, §7, §6.5.2): frame types,
 * flags, error codes, SETTINGS identifiers, the client preface and the protocol's size limits.
 * Everything that speaks HTTP/2 in l5d-ts (this package's connection, the relay, the tests) reads
 * these names instead of keeping its own numbers.
 */

/** Frame types (RFC 9113 §6). */
export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

/** Frame flags (RFC 9113 §6): END_STREAM and ACK share bit 0 on different frame types. */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

const ERROR_NAMES: readonly string[] = Object.keys(ErrorCode);

/** The RFC 9113 §7 name of an error code (`code 42` for an unknown one, which is not an error). */
export function errorCodeName(code: number): string {
  return ERROR_NAMES[code] ?? `code ${code}`;
}

/** SETTINGS parameters (RFC 9113 §6.5.2). */
export const SettingsId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The client connection preface (RFC 9113 §3.4). */
export const CLIENT_PREFACE: Buffer = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** Length of a frame header (RFC 9113 §4.1). */
export const FRAME_HEADER_BYTES = 9;
/** The initial flow-control window of every stream and of the connection (RFC 9113 §6.9.2). */
export const DEFAULT_WINDOW = 65_535;
/** The largest flow-control window (RFC 9113 §6.9.1). */
export const MAX_WINDOW = 0x7fffffff;
/** SETTINGS_MAX_FRAME_SIZE's initial value, also its lowest legal one (RFC 9113 §6.5.2). */
export const DEFAULT_MAX_FRAME = 16_384;
/** SETTINGS_MAX_FRAME_SIZE's highest legal value (RFC 9113 §6.5.2). */
export const MAX_FRAME_LIMIT = 0xffffff;
/** SETTINGS_HEADER_TABLE_SIZE's initial value (RFC 7541 §4.2, RFC 9113 §6.5.2). */
export const DEFAULT_HEADER_TABLE_SIZE = 4_096;
