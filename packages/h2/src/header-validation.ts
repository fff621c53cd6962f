/**
 * HTTP/2 message validity (RFC 9113 §8.1.1, §8.2, §8.3): checks of a decoded header list as a
 * request, a response or trailers, in either direction (the relay's server side validates what
 * clients send, its client side what upstreams answer). A message that fails is *malformed*
 * (§8.1.1): the receiver treats it as a stream error of type PROTOCOL_ERROR and never acts on it.
 *
 * Each check returns `undefined` for a valid list, else the reason (for logs and `l5d-err`). A
 * valid list costs one pass over its fields and no allocation; the content-length found is
 * written into a caller-owned `MessageInfo` (reused across messages).
 *
 * The characters of names and values (§8.2.1) are checked here, or, for a list an
 * `HpackDecoder` produced, by the decoder (`fieldProblem`): it checks each literal once, as it
 * decodes it, and a field it hands out again (static table, dynamic table, a repeated literal)
 * is not scanned again. The checks below then take `charsChecked` and skip that scan.
 */
import type { HeaderField } from "./hpack.js";

/** What a check learned of a valid message beyond its validity (caller-owned, reused). */
export interface MessageInfo {
  /** The `content-length` value, or -1 when there is none (§8.1.1 checks it against DATA). */
  contentLength: number;
}

// request pseudo-headers (§8.3.1) and the response's (§8.3.2), as bits of a `seen` mask
const METHOD = 1;
const SCHEME = 2;
const AUTHORITY = 4;
const PATH = 8;
const STATUS = 16;

/**
 * Bytes a field name may hold (§8.2.1): no controls, space, upper case (§8.2: names are lower
 * case in HTTP/2), DEL or non-ASCII, and no colon (only the leading one of a pseudo-header).
 */
const NAME_OK: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x21; c < 0x7f; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 0;
  t[0x3a] = 0;
  return t;
})();

function pseudoBit(name: string): number {
  switch (name) {
    case ":method":
      return METHOD;
    case ":scheme":
      return SCHEME;
    case ":authority":
      return AUTHORITY;
    case ":path":
      return PATH;
    case ":status":
      return STATUS;
    default:
      return 0;
  }
}

/** The reason `name` is not a valid field name (from `from`: 1 skips a pseudo-header's colon). */
function badName(name: string, from: number): string | undefined {
  if (name.length <= from) return "empty header field name";
  for (let i = from; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff || NAME_OK[c] === 0) {
      return c >= 0x41 && c <= 0x5a
        ? `upper-case header field name ${JSON.stringify(name)}`
        : `invalid character in header field name ${JSON.stringify(name)}`;
    }
  }
  return undefined;
}

/** Any invalid byte of a field value (§8.2.1): a regular expression scans faster than a JS loop. */
const BAD_VALUE = /[\0\r\n]|^[ \t]|[ \t]$/;

/**
 * The reason `value` is not a valid field value (§8.2.1): NUL, CR or LF anywhere, or white
 * space (SP, HTAB) at either end.
 */
export function badValue(name: string, value: string): string | undefined {
  if (!BAD_VALUE.test(value)) return undefined;
  return /[\0\r\n]/.test(value)
    ? `NUL, CR or LF in the value of ${name}`
    : `white space around the value of ${name}`;
}

/**
 * The reason a field's characters are invalid (§8.2.1), name and value; `undefined` when valid.
 * The name of a pseudo-header is checked after its colon (whether it is a known one is the
 * message checks' business).
 */
export function fieldCharsProblem(name: string, value: string): string | undefined {
  return badName(name, name.charCodeAt(0) === 0x3a ? 1 : 0) ?? badValue(name, value);
}

/**
 * A `content-length` value (RFC 9110 §8.6): decimal digits; -1 when it is not one. A list of
 * equal values ("42, 42") is accepted as that value.
 */
export function parseContentLength(value: string): number {
  let v = -1;
  let cur = -1;
  for (let i = 0; i <= value.length; i++) {
    const c = i < value.length ? value.charCodeAt(i) : 0x2c;
    if (c >= 0x30 && c <= 0x39) {
      cur = (cur < 0 ? 0 : cur * 10) + (c - 0x30);
      if (cur > Number.MAX_SAFE_INTEGER) return -1;
    } else if (c === 0x2c) {
      if (cur < 0 || (v >= 0 && v !== cur)) return -1;
      v = cur;
      cur = -1;
      // optional white space after the comma
      while (i + 1 < value.length && value.charCodeAt(i + 1) === 0x20) i++;
    } else {
      return -1;
    }
  }
  return v;
}

/**
 * Checks one regular (non-pseudo) field: its name and value characters, connection-specific
 * fields (§8.2.2) and `content-length` (recorded in `info`). `undefined` when valid.
 */
function badRegular(
  name: string,
  value: string,
  info: MessageInfo | undefined,
  charsChecked: boolean,
): string | undefined {
  if (!charsChecked) {
    const why = badName(name, 0) ?? badValue(name, value);
    if (why !== undefined) return why;
  }
  switch (name) {
    case "connection":
    case "keep-alive":
    case "proxy-connection":
    case "transfer-encoding":
    case "upgrade":
      return `connection-specific header field ${name}`;
    case "te":
      // §8.2.2: TE may be present only with the value "trailers"
      return value === "trailers" ? undefined : `te other than "trailers"`;
    case "content-length": {
      const n = parseContentLength(value);
      if (n < 0) return `invalid content-length ${JSON.stringify(value)}`;
      if (info !== undefined) {
        if (info.contentLength >= 0 && info.contentLength !== n) {
          return "conflicting content-length fields";
        }
        info.contentLength = n;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/**
 * A request header list (§8.3.1, §8.2): pseudo-headers only `:method`, `:scheme`, `:path`,
 * `:authority`, each at most once, all before the regular fields; `:method`, `:scheme` and a
 * non-empty `:path` present (CONNECT, §8.5: `:authority` present, no `:scheme`/`:path`); no
 * connection-specific fields; valid names and values (unless `charsChecked`). `undefined` when
 * valid.
 */
export function checkRequestHeaders(
  fields: readonly HeaderField[],
  info?: MessageInfo,
  charsChecked = false,
): string | undefined {
  if (info !== undefined) info.contentLength = -1;
  let seen = 0;
  let regular = false;
  let method = "";
  let path = "";
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    const name = f[0];
    const value = f[1];
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return `pseudo-header ${name} after a regular field`;
      const bit = pseudoBit(name);
      if (bit === 0) return `unknown pseudo-header ${name}`;
      if (bit === STATUS) return "response pseudo-header :status in a request";
      if (seen & bit) return `duplicated ${name}`;
      seen |= bit;
      if (!charsChecked) {
        const why = badValue(name, value);
        if (why !== undefined) return why;
      }
      if (bit === METHOD) method = value;
      else if (bit === PATH) path = value;
      continue;
    }
    regular = true;
    const why = badRegular(name, value, info, charsChecked);
    if (why !== undefined) return why;
  }
  if ((seen & METHOD) === 0) return "missing :method";
  if (method.length === 0) return "empty :method";
  if (method === "CONNECT") {
    // §8.5: :authority only (no extended CONNECT: we never send SETTINGS_ENABLE_CONNECT_PROTOCOL)
    if ((seen & AUTHORITY) === 0) return "CONNECT without :authority";
    if (seen & (SCHEME | PATH)) return "CONNECT with :scheme or :path";
    return undefined;
  }
  if ((seen & SCHEME) === 0) return "missing :scheme";
  if ((seen & PATH) === 0) return "missing :path";
  if (path.length === 0) return "empty :path";
  // origin form, or asterisk form for OPTIONS (§8.3.1)
  if (path.charCodeAt(0) !== 0x2f && !(path === "*" && method === "OPTIONS")) {
    return `invalid :path ${JSON.stringify(path)}`;
  }
  return undefined;
}

/**
 * A response header list (§8.3.2, §8.2): exactly one `:status` of three digits, no other
 * pseudo-header, pseudo-headers first, valid regular fields (their characters unless
 * `charsChecked`). `undefined` when valid.
 */
export function checkResponseHeaders(
  fields: readonly HeaderField[],
  info?: MessageInfo,
  charsChecked = false,
): string | undefined {
  if (info !== undefined) info.contentLength = -1;
  let seen = 0;
  let regular = false;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    const name = f[0];
    const value = f[1];
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return `pseudo-header ${name} after a regular field`;
      const bit = pseudoBit(name);
      if (bit === 0) return `unknown pseudo-header ${name}`;
      if (bit !== STATUS) return `request pseudo-header ${name} in a response`;
      if (seen & bit) return "duplicated :status";
      seen |= bit;
      if (
        value.length !== 3 ||
        !isDigit(value.charCodeAt(0)) ||
        !isDigit(value.charCodeAt(1)) ||
        !isDigit(value.charCodeAt(2))
      ) {
        return `invalid :status ${JSON.stringify(value)}`;
      }
      continue;
    }
    regular = true;
    const why = badRegular(name, value, info, charsChecked);
    if (why !== undefined) return why;
  }
  if ((seen & STATUS) === 0) return "missing :status";
  return undefined;
}

/**
 * A trailer section (§8.1, §8.3): no pseudo-header at all, valid regular fields (their
 * characters unless `charsChecked`). `undefined` when valid.
 */
export function checkTrailers(
  fields: readonly HeaderField[],
  charsChecked = false,
): string | undefined {
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    const name = f[0];
    if (name.charCodeAt(0) === 0x3a) return `pseudo-header ${name} in trailers`;
    const why = badRegular(name, f[1], undefined, charsChecked);
    if (why !== undefined) return why;
  }
  return undefined;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
