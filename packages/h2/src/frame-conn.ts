/**
 * One HTTP/2 connection as the relay sees it: frames parsed off a `net.Socket`, SETTINGS, PING
 * and connection-level flow control handled here, stream frames handed to the owner. Header
 * blocks (HEADERS + CONTINUATION) are joined and HPACK-decoded on this connection's decoder.
 */
import type { Socket } from "node:net";
import { blockBound, type HeaderField, HpackDecoder, HpackEncoder, HpackError } from "./hpack.js";
import {
  DEFAULT_LIMITS,
  Flood,
  FloodGuard,
  type H2Limits,
  LimitError,
  type OnLimit,
  SMALL_WINDOW_UPDATE,
} from "./limits.js";
import { CHUNK_BYTES, COPY_MAX, OutBuffer } from "./out-buffer.js";
import { type PeerStreams, StreamState } from "./stream-state.js";
import {
  CLIENT_PREFACE,
  DEFAULT_HEADER_TABLE_SIZE,
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  FrameType,
  MAX_FRAME_LIMIT,
  MAX_WINDOW,
  SettingsId,
} from "./wire.js";

const PING_PAYLOAD = Buffer.from("l5d-live");

/**
 * Fairness: the work one read may do before the rest of it waits for the next turn of the event
 * loop (other connections' reads run in between). A frame is one unit, a HEADERS or
 * CONTINUATION (a stream opened, a block decoded) `HEADERS_UNITS`: a 64 KB read of a flood
 * (1,300 rapid-reset streams) would otherwise hold the loop for tens of ms. A slice holds 128
 * requests: a client's usual burst (h2load -m 32 sends 32 HEADERS, then their 32 DATA, in one
 * read) is never split, which would cost a second turn and a second write on each side.
 */
const SLICE_UNITS = 1_024;
const HEADERS_UNITS = 8;

/** Raised for a connection error with its RFC 9113 §7 code (the connection gets GOAWAY). */
export class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface FrameHandler {
  /**
   * A decoded header block. Its characters (RFC 9113 §8.2.1) were checked as it was decoded:
   * `conn.fieldProblem` says why they are invalid, if they are, during this call.
   */
  onHeaders(id: number, fields: HeaderField[], endStream: boolean): void;
  /** `flowLen` is the frame's full payload length (padding included), owed back as window. */
  onData(id: number, data: Buffer, endStream: boolean, flowLen: number): void;
  onRstStream(id: number, code: number): void;
  /** A stream-level WINDOW_UPDATE, or the peer's initial window changed (id 0, delta). */
  onWindow(id: number, delta: number): void;
  onGoaway(lastStreamId: number, code: number): void;
  onClose(err: Error | undefined): void;
  /**
   * A stream error the connection found in a frame (RFC 9113 §5.4.2) and already answered with
   * RST_STREAM(`code`): a PRIORITY of the wrong size or depending on itself, a HEADERS depending
   * on itself (its block was decoded, HPACK stays in sync, and dropped). `type` is the frame's;
   * after a HEADERS the stream id counts as used. The stream may be idle (PRIORITY).
   */
  onStreamError?(id: number, code: number, type: number): void;
}

/** Writes a 9-byte frame header (RFC 9113 §4.1) at `at`. */
function writeFrameHeader(
  b: Buffer,
  at: number,
  len: number,
  type: number,
  flags: number,
  id: number,
): void {
  b[at] = len >>> 16;
  b[at + 1] = len >>> 8;
  b[at + 2] = len;
  b[at + 3] = type;
  b[at + 4] = flags;
  b[at + 5] = (id >>> 24) & 0x7f;
  b[at + 6] = id >>> 16;
  b[at + 7] = id >>> 8;
  b[at + 8] = id;
}

/** Writes a big-endian 32-bit value at `at` (no bounds checks: the chunk was reserved). */
function write32(b: Buffer, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

function read32(b: Buffer, at: number): number {
  return (
    (((b[at] as number) << 24) |
      ((b[at + 1] as number) << 16) |
      ((b[at + 2] as number) << 8) |
      (b[at + 3] as number)) >>>
    0
  );
}

export class FrameConn {
  /** Our send window on the connection (peer's receive window). */
  sendWindow = DEFAULT_WINDOW;
  /** The peer's SETTINGS_INITIAL_WINDOW_SIZE: each new stream's send window. */
  peerInitialWindow = DEFAULT_WINDOW;
  peerMaxFrame = DEFAULT_MAX_FRAME;
  closed = false;
  /** A PING we sent is still unanswered (the liveness sweep's probe). */
  pingOutstanding = false;
  /** Highest stream id the peer opened (the owner sets it; GOAWAY's last stream id). */
  lastPeerStream = 0;
  /**
   * Cap on a header block's encoded bytes (HEADERS + CONTINUATION) before it is decoded: a
   * peer streaming CONTINUATION forever is a connection error (ENHANCE_YOUR_CALM), not memory.
   */
  maxBlockBytes = 1 << 20;
  /**
   * The owner's record of the peer's streams (server side): every RST_STREAM we send is noted
   * there as "closed, reset by us", so frames the peer had in flight are ignored (RFC 9113 §5.1).
   */
  peerStreams: PeerStreams | undefined;
  #blockBytes = 0;
  /** The header block being gathered came with a priority depending on its own stream. */
  #blockSelfDep = false;
  /** Abuse limits (`limits.ts`): flood counters, header list and CONTINUATION bounds. */
  guard = new FloodGuard(DEFAULT_LIMITS);
  /** Told once when a limit closes this connection (the daemon logs and counts it). */
  onLimit: OnLimit | undefined;
  /** A SETTINGS frame (not an ACK) arrived: the peer's preface is complete. */
  settingsReceived = false;
  #blockFrames = 0;
  /** Control frames answered while the socket's output was backed up (a peer not reading). */
  #ctlQueued = 0;
  /** The rest of a read left for the next turn (the socket is paused meanwhile). */
  #rest: Buffer | undefined;
  #tripped = false;
  /** Bytes of a frame header split across reads (under 9), copied out of the read chunk. */
  #buf: Buffer | undefined;
  /**
   * A frame split across reads, assembled in a buffer of its exact size: only its bytes are
   * copied (not the whole next chunk, as a concat would: 64 KiB copied per read of a large body).
   */
  #pend: Buffer | undefined;
  #pendFill = 0;
  #prefaceLeft: number;
  #block: Buffer[] | undefined;
  #blockId = 0;
  #blockEnd = false;
  #recvConsumed = 0;
  /**
   * The peer's send window on the connection as we granted it (our WINDOW_UPDATEs): a peer
   * sending past it would grow the relay's queues without bound (RFC 9113 §6.9.1).
   */
  #recvWindow = DEFAULT_WINDOW;
  /**
   * The connection receive window we keep granting (`openWindow`): WINDOW_UPDATEs restore it
   * once half of it is consumed.
   */
  #recvTarget = DEFAULT_WINDOW;
  readonly #decoder = new HpackDecoder();
  /** Our encoder towards this peer: blocks must be sent in the order they were encoded. */
  encoder = new HpackEncoder();
  handler!: FrameHandler;

  /**
   * During `handler.onHeaders`: why a field of the block has characters RFC 9113 §8.2.1 forbids
   * (`undefined`: none), found while decoding (`HpackDecoder.fieldProblem`); the message checks
   * of `header-validation.ts` then run with `charsChecked`.
   */
  get fieldProblem(): string | undefined {
    return this.#decoder.fieldProblem;
  }

  constructor(
    readonly socket: Socket,
    /** Bytes of client preface still to skip (24 on the server side, 0 on the client side). */
    prefaceBytes: number,
  ) {
    this.#prefaceLeft = prefaceBytes;
    this.#out = new OutBuffer(socket);
    socket.on("data", (chunk: Buffer) => this.#onBytes(chunk));
    socket.on("error", () => {});
    socket.on("close", () => this.#closed(undefined));
  }

  /**
   * Frames are serialized into a per-connection buffer and the frames of one tick leave in one
   * write: a relay emits many small frames per request, a syscall (or a Buffer) each would
   * dominate.
   */
  readonly #out: OutBuffer;

  frame(type: number, flags: number, id: number, payload?: Buffer): void {
    // a tripped connection is closed on the next turn: nothing more is queued to it
    if (this.closed || this.#tripped) return;
    const len = payload === undefined ? 0 : payload.length;
    if (type === FrameType.DATA) {
      // ratios (limits.ts `refund`): two WINDOW_UPDATEs are a fair answer to a DATA frame, and a
      // stream ended normally takes back a reset
      this.guard.refund(Flood.SMALL, 2);
      if (flags & Flag.END_STREAM) this.guard.refund(Flood.RESETS);
    }
    if (type === FrameType.DATA && this.socket.writableLength > this.guard.limits.maxBufferedBytes)
      this.trip(
        new LimitError(
          "buffered_bytes",
          ErrorCode.ENHANCE_YOUR_CALM,
          `buffered_bytes: over ${this.guard.limits.maxBufferedBytes} bytes written and not read by the peer`,
        ),
      );
    const out = this.#out;
    const copy = len <= COPY_MAX;
    const b = out.reserve(copy ? 9 + len : 9);
    const at = out.pos;
    writeFrameHeader(b, at, len, type, flags, id);
    if (!copy) {
      out.pos = at + 9;
      out.bytes(payload as Buffer);
      return;
    }
    if (len > 0) b.set(payload as Buffer, at + 9);
    out.pos = at + 9 + len;
  }

  /** A frame with a 4- or 8-byte payload of 32-bit values, serialized in place. */
  #frame32(type: number, id: number, v1: number, v2?: number): void {
    if (this.closed) return;
    const out = this.#out;
    const len = v2 === undefined ? 4 : 8;
    const b = out.reserve(9 + len);
    const at = out.pos;
    writeFrameHeader(b, at, len, type, 0, id);
    write32(b, at + 9, v1);
    if (v2 !== undefined) write32(b, at + 13, v2);
    out.pos = at + 9 + len;
  }

  /** Applies `limits` to what the peer sends from now on. */
  setLimits(limits: H2Limits): void {
    this.guard = new FloodGuard(limits);
    this.#decoder.maxListBytes = limits.maxHeaderListBytes;
    this.#decoder.maxFields = limits.maxHeaderFields;
  }

  /**
   * A control frame we answer with (ACK, RST_STREAM) is queued: counted while the socket holds
   * unsent output, reset when it has drained. False when the peer stopped reading past the bound.
   */
  #controlOk(): boolean {
    if (this.socket.writableLength === 0) {
      this.#ctlQueued = 0;
      return true;
    }
    return ++this.#ctlQueued <= this.guard.limits.maxQueuedControlFrames;
  }

  #controlQueueError(): LimitError {
    return new LimitError(
      "control_queue",
      ErrorCode.ENHANCE_YOUR_CALM,
      `control_queue: more than ${this.guard.limits.maxQueuedControlFrames} control frames queued to a peer that does not read`,
    );
  }

  /**
   * A limit crossed outside frame parsing (our own RST_STREAMs): the connection is failed on the
   * next turn, not under the caller's feet.
   */
  trip(e: LimitError): void {
    if (this.closed || this.#tripped) return;
    this.#tripped = true;
    setImmediate(() => {
      if (!this.closed) this.#failLimit(e);
    });
  }

  /**
   * A crossed limit: reported, then GOAWAY and close; a peer that does not read (its output
   * backed up) is destroyed at once: a GOAWAY behind the backlog would never reach it.
   */
  #failLimit(e: LimitError): void {
    this.onLimit?.(e.limit, e.message);
    if (e.limit === "control_queue" || e.limit === "buffered_bytes") {
      this.destroy(e);
      return;
    }
    // nothing more is read from an abuser: what it keeps sending stays in the kernel (and is
    // dropped with the socket), not read into memory to be ignored
    this.socket.pause();
    this.goaway(this.lastPeerStream, e.code);
    // an abuser gets 50 ms to read its GOAWAY (a peer not reading never would), not 1 s
    this.end(new Error(e.message), 50);
  }

  settings(entries: ReadonlyArray<readonly [number, number]> = []): void {
    if (this.closed) return;
    const out = this.#out;
    const len = entries.length * 6;
    const b = out.reserve(9 + len);
    const at = out.pos;
    writeFrameHeader(b, at, len, FrameType.SETTINGS, 0, 0);
    for (let i = 0; i < entries.length; i++) {
      const [k, v] = entries[i] as readonly [number, number];
      const o = at + 9 + i * 6;
      b[o] = k >>> 8;
      b[o + 1] = k;
      write32(b, o + 2, v);
    }
    out.pos = at + 9 + len;
  }

  windowUpdate(id: number, inc: number): void {
    if (id === 0) this.#recvWindow += inc;
    this.#frame32(FrameType.WINDOW_UPDATE, id, inc);
  }

  rstStream(id: number, code: number): void {
    this.peerStreams?.closed(id, StreamState.ClosedResetByUs);
    if (!this.#controlOk()) this.trip(this.#controlQueueError());
    this.#frame32(FrameType.RST_STREAM, id, code);
  }

  /** A stream error found here (RFC 9113 §5.4.2): RST_STREAM(`code`), and the owner told. */
  #streamError(id: number, code: number, type: number): void {
    this.rstStream(id, code);
    this.handler.onStreamError?.(id, code, type);
  }

  /** Sends a liveness PING; `pingOutstanding` stays set until the peer ACKs it. */
  ping(): void {
    this.pingOutstanding = true;
    this.frame(FrameType.PING, 0, 0, PING_PAYLOAD);
  }

  goaway(lastId: number, code: number): void {
    this.#frame32(FrameType.GOAWAY, 0, lastId, code);
  }

  /**
   * Encodes `fields` on this connection's encoder and sends them at once (HEADERS +
   * CONTINUATION). A block that surely fits one frame is encoded straight into the output
   * buffer after its frame header; a larger one is encoded apart and split.
   */
  headers(id: number, fields: Iterable<HeaderField>, endStream: boolean): void {
    if (this.closed) return;
    const list: readonly HeaderField[] = Array.isArray(fields) ? fields : Array.from(fields);
    const max = this.peerMaxFrame;
    const es = endStream ? Flag.END_STREAM : 0;
    // a stream ended normally takes back a reset (the rapid-reset count is a ratio)
    if (endStream) this.guard.refund(Flood.RESETS);
    const bound = blockBound(list);
    if (bound <= max && bound + 9 <= CHUNK_BYTES) {
      const out = this.#out;
      const b = out.reserve(9 + bound);
      const at = out.pos;
      const end = this.encoder.encodeInto(list, b, at + 9);
      writeFrameHeader(b, at, end - at - 9, FrameType.HEADERS, es | Flag.END_HEADERS, id);
      out.pos = end;
      return;
    }
    const block = this.encoder.encode(list);
    if (block.length <= max) {
      this.frame(FrameType.HEADERS, es | Flag.END_HEADERS, id, block);
      return;
    }
    this.frame(FrameType.HEADERS, es, id, block.subarray(0, max));
    for (let off = max; off < block.length; off += max) {
      const last = off + max >= block.length;
      this.frame(
        FrameType.CONTINUATION,
        last ? Flag.END_HEADERS : 0,
        id,
        block.subarray(off, off + max),
      );
    }
  }

  /**
   * Grants the peer a connection receive window of `size` (RFC 9113 §6.9.2: only a WINDOW_UPDATE
   * on stream 0 can; SETTINGS_INITIAL_WINDOW_SIZE is per stream), kept up by `consumed`. What a
   * peer may have buffered here is still bounded by its streams' windows: the connection window
   * only decides how many streams' DATA can be in flight at once.
   */
  openWindow(size: number): void {
    if (size > this.#recvTarget) this.windowUpdate(0, size - this.#recvTarget);
    this.#recvTarget = size;
  }

  /** Gives back receive window for bytes the owner has passed on (batched: half a window). */
  consumed(n: number): void {
    this.#recvConsumed += n;
    if (this.#recvConsumed >= this.#recvTarget / 2) {
      this.windowUpdate(0, this.#recvConsumed);
      this.#recvConsumed = 0;
    }
  }

  destroy(err?: Error): void {
    this.socket.destroy();
    this.#closed(err);
  }

  #closed(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.handler.onClose(err);
  }

  /**
   * A connection error: GOAWAY with `code`, then the socket is ended (not destroyed: a destroy
   * would drop the corked GOAWAY before the peer sees why), and destroyed if it lingers.
   */
  #fail(code: number, why: string): void {
    this.goaway(this.lastPeerStream, code);
    this.end(new Error(why));
  }

  /**
   * Closes after what was written (a GOAWAY) has left: the socket is ended, not destroyed
   * (a destroy drops corked writes), and destroyed if the peer has not closed within `lingerMs`.
   */
  end(err?: Error, lingerMs = 1_000): void {
    const socket = this.socket;
    this.#out.flush();
    socket.end();
    setTimeout(() => socket.destroy(), lingerMs).unref();
    this.#closed(err);
  }

  #onBytes(chunk: Buffer): void {
    // an ended connection still reads until the peer closes: nothing of it reaches the handler
    // after onClose (a frame pending across reads would otherwise be dispatched when it completes)
    if (this.closed) return;
    this.guard.now = performance.now();
    let buf = chunk;
    let off = 0;
    const pend = this.#pend;
    if (pend !== undefined) {
      const n = Math.min(pend.length - this.#pendFill, chunk.length);
      chunk.copy(pend, this.#pendFill, 0, n);
      this.#pendFill += n;
      if (this.#pendFill < pend.length) return;
      this.#pend = undefined;
      if (!this.#dispatch(pend, 0)) return;
      off = n;
    } else if (this.#buf !== undefined) {
      buf = Buffer.concat([this.#buf, chunk]);
      this.#buf = undefined;
    }
    if (this.#prefaceLeft > 0) {
      const skip = Math.min(this.#prefaceLeft, buf.length);
      const at = CLIENT_PREFACE.length - this.#prefaceLeft;
      if (!buf.subarray(0, skip).equals(CLIENT_PREFACE.subarray(at, at + skip))) {
        // not HTTP/2 with prior knowledge: nothing to answer in HTTP/2 terms
        this.destroy(new Error("bad client preface"));
        return;
      }
      this.#prefaceLeft -= skip;
      buf = buf.subarray(skip);
    }
    let units = 0;
    while (buf.length - off >= 9 && !this.closed) {
      if (units >= SLICE_UNITS) {
        this.#yieldRest(buf.subarray(off));
        return;
      }
      const len =
        ((buf[off] as number) << 16) | ((buf[off + 1] as number) << 8) | (buf[off + 2] as number);
      const t = buf[off + 3] as number;
      units += t === FrameType.HEADERS || t === FrameType.CONTINUATION ? HEADERS_UNITS : 1;
      if (len > DEFAULT_MAX_FRAME) {
        // we never raise SETTINGS_MAX_FRAME_SIZE (RFC 9113 §4.2)
        this.#fail(ErrorCode.FRAME_SIZE_ERROR, `frame of ${len} bytes over ${DEFAULT_MAX_FRAME}`);
        return;
      }
      if (buf.length - off < 9 + len) {
        // the rest of this frame comes in later reads
        const part = buf.length - off;
        const p = Buffer.allocUnsafe(9 + len);
        buf.copy(p, 0, off);
        this.#pend = p;
        this.#pendFill = part;
        return;
      }
      if (!this.#dispatch(buf, off)) return;
      off += 9 + len;
    }
    if (off < buf.length && !this.closed) this.#buf = Buffer.from(buf.subarray(off));
  }

  /** Leaves `rest` (starting at a frame header) for the next turn; reads wait meanwhile. */
  #yieldRest(rest: Buffer): void {
    this.#rest = rest;
    this.socket.pause();
    setImmediate(this.#resume);
  }

  readonly #resume = (): void => {
    const rest = this.#rest;
    this.#rest = undefined;
    if (rest === undefined || this.closed) return;
    this.#onBytes(rest);
    if (this.#rest === undefined && !this.closed) this.socket.resume();
  };

  /**
   * The whole frame at `buf[off]` (header and payload present) to `#onFrame`; false when it was a
   * connection error (the connection is failing: stop parsing).
   */
  #dispatch(buf: Buffer, off: number): boolean {
    const len =
      ((buf[off] as number) << 16) | ((buf[off + 1] as number) << 8) | (buf[off + 2] as number);
    const type = buf[off + 3] as number;
    const flags = buf[off + 4] as number;
    const id = read32(buf, off + 5) & 0x7fffffff;
    const start = off + 9;
    try {
      // the payload is read in place: a Buffer is made only for what a handler keeps
      this.#onFrame(type, flags, id, buf, start, start + len);
      return true;
    } catch (e) {
      if (e instanceof LimitError) {
        this.#failLimit(e);
        return false;
      }
      const code =
        e instanceof HpackError
          ? ErrorCode.COMPRESSION_ERROR
          : e instanceof ConnectionError
            ? e.code
            : ErrorCode.PROTOCOL_ERROR;
      this.#fail(code, (e as Error).message);
      return false;
    }
  }

  /** One frame, its payload `b[s, e)` (a view of the read chunk: not kept past this call). */
  #onFrame(type: number, flags: number, id: number, b: Buffer, s: number, e: number): void {
    const len = e - s;
    if (this.#block !== undefined && type !== FrameType.CONTINUATION) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "expected CONTINUATION");
    }
    switch (type) {
      case FrameType.DATA: {
        if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
        this.#recvWindow -= len;
        if (this.#recvWindow < 0) {
          throw new ConnectionError(
            ErrorCode.FLOW_CONTROL_ERROR,
            "DATA past the connection window",
          );
        }
        if (len === 0 && (flags & Flag.END_STREAM) === 0) this.guard.count(Flood.EMPTY);
        const data =
          flags & Flag.PADDED ? b.subarray(s + 1, e - padLength(b, s, e)) : b.subarray(s, e);
        this.handler.onData(id, data, (flags & Flag.END_STREAM) !== 0, len);
        return;
      }
      case FrameType.HEADERS: {
        if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0");
        let start = s;
        let end = e;
        if (flags & Flag.PADDED) {
          start += 1;
          end -= padLength(b, s, e);
        }
        let selfDep = false;
        if (flags & Flag.PRIORITY) {
          // RFC 9113 §5.3.1: a stream cannot depend on itself (a stream error, once decoded)
          if (start + 5 <= end) selfDep = (read32(b, start) & 0x7fffffff) === id;
          start += 5;
        }
        // padding and priority fields must fit in the payload (RFC 9113 §6.2)
        if (start > end) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "HEADERS too short");
        const endStream = (flags & Flag.END_STREAM) !== 0;
        if (flags & Flag.END_HEADERS) {
          const fields = this.#decoder.decode(b, start, end);
          if (selfDep) this.#streamError(id, ErrorCode.PROTOCOL_ERROR, FrameType.HEADERS);
          else this.handler.onHeaders(id, fields, endStream);
        } else {
          this.#blockSelfDep = selfDep;
          if (start === end) this.guard.count(Flood.EMPTY);
          this.#blockFrames = 0;
          // kept across reads: a copy, not a view of a read chunk
          this.#block = [Buffer.from(b.subarray(start, end))];
          this.#blockBytes = end - start;
          this.#blockId = id;
          this.#blockEnd = endStream;
        }
        return;
      }
      case FrameType.CONTINUATION: {
        const block = this.#block;
        if (block === undefined || id !== this.#blockId)
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "unexpected CONTINUATION");
        this.#blockBytes += len;
        if (this.#blockBytes > this.maxBlockBytes) {
          throw new ConnectionError(11, `header block over ${this.maxBlockBytes} bytes`);
        }
        if (len === 0 && (flags & Flag.END_HEADERS) === 0) this.guard.count(Flood.EMPTY);
        const maxFrames = this.guard.limits.maxContinuationFrames;
        if (++this.#blockFrames > maxFrames) {
          throw new LimitError(
            "continuation_flood",
            ErrorCode.ENHANCE_YOUR_CALM,
            `continuation_flood: more than ${maxFrames} CONTINUATION frames in a header block`,
          );
        }
        block.push(Buffer.from(b.subarray(s, e)));
        if (flags & Flag.END_HEADERS) {
          this.#block = undefined;
          const fields = this.#decoder.decode(Buffer.concat(block));
          if (this.#blockSelfDep)
            this.#streamError(id, ErrorCode.PROTOCOL_ERROR, FrameType.HEADERS);
          else this.handler.onHeaders(id, fields, this.#blockEnd);
        }
        return;
      }
      case FrameType.RST_STREAM:
        if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0");
        if (len !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM size");
        this.guard.count(Flood.RESETS);
        this.handler.onRstStream(id, read32(b, s));
        return;
      case FrameType.SETTINGS: {
        if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
        if (flags & Flag.ACK) {
          if (len !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK size");
          return;
        }
        if (len % 6 !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS size");
        this.settingsReceived = true;
        this.guard.count(Flood.SETTINGS);
        // validated before any is applied: a MAX_FRAME_SIZE of 0 would make `headers()` loop
        for (let i = s; i < e; i += 6) checkSetting(b.readUInt16BE(i), read32(b, i + 2));
        for (let i = s; i < e; i += 6) {
          const k = b.readUInt16BE(i);
          const v = read32(b, i + 2);
          if (k === SettingsId.INITIAL_WINDOW_SIZE) {
            const delta = v - this.peerInitialWindow;
            this.peerInitialWindow = v;
            if (delta !== 0) this.handler.onWindow(0, delta);
          } else if (k === SettingsId.HEADER_TABLE_SIZE && v < DEFAULT_HEADER_TABLE_SIZE) {
            // a smaller table than the default: stop indexing (sent before any of our headers)
            this.encoder = new HpackEncoder(0);
          } else if (k === SettingsId.MAX_FRAME_SIZE) {
            this.peerMaxFrame = v;
          }
        }
        if (!this.#controlOk()) throw this.#controlQueueError();
        this.frame(FrameType.SETTINGS, Flag.ACK, 0);
        return;
      }
      case FrameType.PING:
        if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
        if (len !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "PING size");
        if ((flags & Flag.ACK) === 0) {
          this.guard.count(Flood.PINGS);
          if (!this.#controlOk()) throw this.#controlQueueError();
          this.frame(FrameType.PING, Flag.ACK, 0, b.subarray(s, e));
        } else this.pingOutstanding = false;
        return;
      case FrameType.GOAWAY:
        if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream");
        if (len < 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY size");
        this.handler.onGoaway(read32(b, s) & 0x7fffffff, read32(b, s + 4));
        return;
      case FrameType.WINDOW_UPDATE: {
        if (len !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE size");
        const inc = read32(b, s) & 0x7fffffff;
        if (inc < SMALL_WINDOW_UPDATE)
          this.guard.count(inc === 0 ? Flood.STREAM_ERRORS : Flood.SMALL);
        if (id === 0) {
          if (inc === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
          // RFC 9113 §6.9.1: a window past 2^31-1 is a connection error
          if (this.sendWindow + inc > MAX_WINDOW) {
            throw new ConnectionError(
              ErrorCode.FLOW_CONTROL_ERROR,
              "connection window over 2^31-1",
            );
          }
          this.sendWindow += inc;
          this.handler.onWindow(0, 0);
        } else if (inc === 0) {
          // a stream error (§6.9): that stream is reset, the connection goes on
          this.rstStream(id, ErrorCode.PROTOCOL_ERROR);
          this.handler.onRstStream(id, ErrorCode.PROTOCOL_ERROR);
        } else {
          this.handler.onWindow(id, inc);
        }
        return;
      }
      case FrameType.PRIORITY:
        // RFC 9113 §6.3: validated, then ignored (the priority scheme is deprecated, §5.3.2)
        if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0");
        if (len !== 5) this.#streamError(id, ErrorCode.FRAME_SIZE_ERROR, FrameType.PRIORITY);
        else if ((read32(b, s) & 0x7fffffff) === id) {
          this.#streamError(id, ErrorCode.PROTOCOL_ERROR, FrameType.PRIORITY);
        }
        return;
      case FrameType.PUSH_PROMISE:
        // RFC 9113 §8.4: a client never pushes (§6.6), and we disable push towards us
        // (SETTINGS_ENABLE_PUSH 0): either way a connection error
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE (push is disabled)");
      default:
        // unknown frame types are ignored (RFC 9113 §4.1, §5.5); inside a header block they
        // were a PROTOCOL_ERROR above
        return;
    }
  }
}

/** The pad length of a PADDED frame, checked against the payload (RFC 9113 §6.1). */
function padLength(b: Buffer, s: number, e: number): number {
  if (e === s) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "no pad length");
  const pad = b[s] as number;
  if (pad >= e - s) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "padding over payload");
  return pad;
}

/** RFC 9113 §6.5.2: values out of range are connection errors. */
function checkSetting(k: number, v: number): void {
  if (k === SettingsId.ENABLE_PUSH && v > 1)
    throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "ENABLE_PUSH not 0/1");
  if (k === SettingsId.INITIAL_WINDOW_SIZE && v > MAX_WINDOW) {
    throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE over 2^31-1");
  }
  if (k === SettingsId.MAX_FRAME_SIZE && (v < DEFAULT_MAX_FRAME || v > MAX_FRAME_LIMIT)) {
    throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `MAX_FRAME_SIZE ${v} out of range`);
  }
}
