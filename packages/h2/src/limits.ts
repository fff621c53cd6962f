/**
 * Abuse limits of one HTTP/2 connection (issue #14): the options and their defaults, the error a
 * crossed limit raises, and `FloodGuard`, the per-connection rate counters behind the flood
 * limits (CVE-2023-44487 rapid reset; CVE-2019-9511/9512/9514/9515/9518). A guard is two typed
 * arrays per connection and no allocation per frame: a count and a window start per kind, the
 * clock read once per socket read by the connection (`now`).
 */
import { ErrorCode } from "./wire.js";

/** The limits a connection enforces; every one applies to what the peer sends. */
export interface H2Limits {
  /**
   * Decoded header list size (RFC 7541 §4.1: name + value + 32 per field), checked while a
   * block is decoded: the decoder stops collecting fields as soon as the list passes it.
   */
  readonly maxHeaderListBytes: number;
  /** Fields per header list, checked while decoding. */
  readonly maxHeaderFields: number;
  /** CONTINUATION frames per header block (CONTINUATION flood). */
  readonly maxContinuationFrames: number;
  /**
   * RST_STREAMs received plus streams refused, per second, less the streams that ended
   * normally (END_STREAM sent) in the same second (rapid reset, CVE-2023-44487): a ratio, so a
   * busy client that cancels some of its requests never reaches it.
   */
  readonly maxResetsPerSecond: number;
  /** PINGs received per second (PING flood, CVE-2019-9512). */
  readonly maxPingsPerSecond: number;
  /** SETTINGS received per second (SETTINGS flood, CVE-2019-9515). */
  readonly maxSettingsPerSecond: number;
  /**
   * Empty frames per second: DATA of length 0 without END_STREAM, HEADERS/CONTINUATION with an
   * empty fragment and no END_HEADERS (CVE-2019-9518).
   */
  readonly maxEmptyFramesPerSecond: number;
  /** Stream errors the peer provokes (our RST_STREAMs), per second (reset flood, CVE-2019-9514). */
  readonly maxStreamErrorsPerSecond: number;
  /**
   * Tiny WINDOW_UPDATEs (increments under `SMALL_WINDOW_UPDATE` bytes) per second beyond two
   * per DATA frame we sent on the connection (data dribble / window-update flood,
   * CVE-2019-9511). Small DATA frames are not counted: a unary gRPC response is one
   * (a 5-byte message before the trailers), tens of thousands a second on a shared connection.
   */
  readonly maxSmallFramesPerSecond: number;
  /**
   * Control frames we answer (PING/SETTINGS ACKs, RST_STREAMs) queued while the socket's
   * output is backed up: a peer that does not read gets closed (CVE-2019-9512/9515).
   */
  readonly maxQueuedControlFrames: number;
  /**
   * Bytes written to the socket and not yet taken by the peer: a peer that opens large windows
   * and then stops reading is closed past it (zero-window / slow-read buffering, CVE-2019-9517;
   * per-stream buffering is bounded by the stream windows).
   */
  readonly maxBufferedBytes: number;
  /**
   * DATA bytes the relay holds for one client connection: its responses' DATA waiting for the
   * client's windows (and held responses waiting for a retry decision). A client that opens many
   * streams and never gives window (zero-window buffering, CVE-2019-9517) fills each stream's
   * queue up to the upstream stream window: past this total its connection is closed. Enforced
   * by the relay (`@l5d/h2-proxy`), not by the connection itself.
   */
  readonly maxQueuedDataBytes: number;
}

/** Defaults of `H2Limits` (documented in the root README's config reference). */
export const DEFAULT_LIMITS: H2Limits = {
  maxHeaderListBytes: 64 * 1024,
  maxHeaderFields: 1_000,
  maxContinuationFrames: 16,
  maxResetsPerSecond: 1_000,
  maxPingsPerSecond: 1_000,
  maxSettingsPerSecond: 100,
  maxEmptyFramesPerSecond: 100,
  maxStreamErrorsPerSecond: 100,
  maxSmallFramesPerSecond: 10_000,
  maxQueuedControlFrames: 10_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxQueuedDataBytes: 16 * 1024 * 1024,
};

/** A WINDOW_UPDATE increment under this is a "small" frame (data dribble). */
export const SMALL_WINDOW_UPDATE = 1_024;

/** The limits' names as counted and logged (`h2/limits/<name>` metrics). */
export type LimitName =
  | "rapid_reset"
  | "ping_flood"
  | "settings_flood"
  | "empty_frames"
  | "stream_errors"
  | "small_frames"
  | "control_queue"
  | "buffered_bytes"
  | "queued_data"
  | "continuation_flood"
  | "header_list"
  | "hpack_table"
  | "preface_timeout"
  | "idle_timeout"
  | "stream_idle_timeout"
  | "connections";

/** Every limit name, in a stable order (for metrics registered up front). */
export const LIMIT_NAMES: readonly LimitName[] = [
  "rapid_reset",
  "ping_flood",
  "settings_flood",
  "empty_frames",
  "stream_errors",
  "small_frames",
  "control_queue",
  "buffered_bytes",
  "queued_data",
  "continuation_flood",
  "header_list",
  "hpack_table",
  "preface_timeout",
  "idle_timeout",
  "stream_idle_timeout",
  "connections",
];

/** Called once when a limit fires (the daemon logs it and counts it). */
export type OnLimit = (name: LimitName, detail: string) => void;

/**
 * A crossed limit: a connection error with its RFC 9113 §7 code (ENHANCE_YOUR_CALM for floods,
 * COMPRESSION_ERROR for HPACK table abuse). `frame-conn.ts` answers it with GOAWAY and reports it.
 */
export class LimitError extends Error {
  constructor(
    readonly limit: LimitName,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Rate-counted kinds (indexes into a guard's arrays). */
export const Flood = {
  RESETS: 0,
  PINGS: 1,
  SETTINGS: 2,
  EMPTY: 3,
  STREAM_ERRORS: 4,
  SMALL: 5,
} as const;
export type Flood = (typeof Flood)[keyof typeof Flood];

const FLOOD_NAMES: readonly LimitName[] = [
  "rapid_reset",
  "ping_flood",
  "settings_flood",
  "empty_frames",
  "stream_errors",
  "small_frames",
];
const KINDS = FLOOD_NAMES.length;
const WINDOW_MS = 1_000;

/** Per-connection flood counters: a count and a window start per kind, fixed 1 s windows. */
export class FloodGuard {
  /** The connection's clock (ms, `performance.now()`), set once per socket read. */
  now = 0;
  readonly #count = new Uint32Array(KINDS);
  readonly #start = new Float64Array(KINDS);
  readonly #max = new Float64Array(KINDS);

  constructor(readonly limits: H2Limits = DEFAULT_LIMITS) {
    this.#max[Flood.RESETS] = limits.maxResetsPerSecond;
    this.#max[Flood.PINGS] = limits.maxPingsPerSecond;
    this.#max[Flood.SETTINGS] = limits.maxSettingsPerSecond;
    this.#max[Flood.EMPTY] = limits.maxEmptyFramesPerSecond;
    this.#max[Flood.STREAM_ERRORS] = limits.maxStreamErrorsPerSecond;
    this.#max[Flood.SMALL] = limits.maxSmallFramesPerSecond;
  }

  /** Counts one event of `kind`; true when this window's count passed the limit. */
  hit(kind: Flood): boolean {
    const now = this.now;
    if (now - (this.#start[kind] as number) >= WINDOW_MS) {
      this.#start[kind] = now;
      this.#count[kind] = 1;
      return 1 > (this.#max[kind] as number);
    }
    const n = (this.#count[kind] as number) + 1;
    this.#count[kind] = n;
    return n > (this.#max[kind] as number);
  }

  /**
   * Takes back one counted event of `kind` in the current window (never below 0): what makes a
   * count a ratio — e.g. a stream ended normally takes back a reset, a DATA frame we sent takes
   * back small WINDOW_UPDATEs — so a busy, well-behaved connection never reaches a limit that an
   * attacker's one-sided flood does.
   */
  refund(kind: Flood, n = 1): void {
    const c = this.#count[kind] as number;
    this.#count[kind] = c > n ? c - n : 0;
  }

  /** Counts one event of `kind` and throws the connection's `LimitError` when over. */
  count(kind: Flood): void {
    if (this.hit(kind)) {
      const name = FLOOD_NAMES[kind] as LimitName;
      throw new LimitError(
        name,
        ErrorCode.ENHANCE_YOUR_CALM,
        `${name}: more than ${this.#max[kind]} per second`,
      );
    }
  }
}

/** `partial` over the defaults; a value that is not a positive number is a bad option. */
export function resolveLimits(
  partial: { readonly [K in keyof H2Limits]?: number | undefined } | undefined,
): H2Limits {
  if (partial === undefined) return DEFAULT_LIMITS;
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(partial)) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_LIMITS)) throw new Error(`unknown HTTP/2 limit ${k}`);
    if (typeof v !== "number" || !(v > 0)) throw new Error(`${k} must be a positive number`);
    out[k] = v;
  }
  return out as unknown as H2Limits;
}

/** The RFC 7541 §4.1 size of a header list (name + value + 32 per field). */
export function headerListSize(fields: ReadonlyArray<readonly [string, string]>): number {
  let size = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as readonly [string, string];
    size += f[0].length + f[1].length + 32;
  }
  return size;
}

/** True when a decoded list passed the limits (the decoder returns the field that crossed). */
export function overHeaderLimits(
  fields: ReadonlyArray<readonly [string, string]>,
  limits: H2Limits,
): boolean {
  return (
    fields.length > limits.maxHeaderFields || headerListSize(fields) > limits.maxHeaderListBytes
  );
}
