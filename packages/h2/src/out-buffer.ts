/**
 * A connection's output buffer: frames are serialized straight into a chunk, and once per tick
 * the filled region leaves as ONE `socket.write`. A relay emits ~6 small frames per request per
 * connection; a 9-byte Buffer per frame header plus a buffered-write entry per `socket.write`
 * was ~1.4 KB of garbage per request (issue #9).
 *
 * Bytes handed to the socket are never rewritten while the socket may still hold them: the
 * write position only moves forward, a full chunk is replaced by a new one (the old one lives
 * until its write completes), and the chunk is rewound to 0 only when the socket reports
 * nothing pending (`writableLength === 0`: every write, sync or async, has completed).
 *
 * While a write is still in flight, the tick's flush waits for it to complete and then writes
 * everything gathered since in one go (a full chunk still leaves at once). A TLS socket
 * completes every write asynchronously (node finishes it in a later phase of the loop), so
 * without this each tick's flush became one more write queued behind it, and then one
 * `SSL_write`, one TLS record and one completion callback each; a plain socket completes its
 * writes synchronously and never waits.
 *
 * Large payloads (over `COPY_MAX`) are not copied: what is buffered goes first, then the
 * payload buffer itself; the socket is corked for the rest of the tick so both leave in one
 * `writev`. Order on the wire is always the order of the calls.
 */
import type { Socket } from "node:net";

/**
 * A connection's first chunk. Chunks are per connection, so an idle one should cost little
 * (1,000 client connections x 16 KiB would be 16 MB): a connection whose tick overflows its
 * chunk gets one twice the size, up to `CHUNK_BYTES`.
 */
export const MIN_CHUNK_BYTES = 1024;
/** The largest chunk a connection grows to (a HEADERS block up to this size is encoded in place). */
export const CHUNK_BYTES = 16 * 1024;
/** Payloads up to this size are copied into the chunk (a memcpy beats another writev entry). */
export const COPY_MAX = 4 * 1024;

export class OutBuffer {
  /** Write position in `chunk`: callers serialize at `pos` after `reserve`, then advance it. */
  pos = 0;
  #chunk: Buffer = Buffer.allocUnsafeSlow(MIN_CHUNK_BYTES);
  /** First byte of `#chunk` not yet handed to the socket. */
  #start = 0;
  #scheduled = false;
  #corked = false;
  /** Writes handed to the socket whose callback has not run yet. */
  #inFlight = 0;
  /** This tick's flush waited for a write in flight: it runs when that one completes. */
  #waiting = false;
  readonly #flushTick = (): void => this.#flush(false);
  readonly #written = (): void => {
    if (--this.#inFlight > 0) return;
    if (this.#waiting) {
      this.#waiting = false;
      this.flush();
    } else if (this.#start === this.pos && this.socket.writableLength === 0) {
      // everything handed over has left and nothing is buffered: reuse the chunk from 0
      this.pos = 0;
      this.#start = 0;
    }
  };

  /**
   * A TLS socket: its flush runs once per turn of the event loop (`setImmediate`), not at the
   * end of each callback (`process.nextTick`). Node hands a TLS socket each record it reads as
   * one callback, and each write costs an `SSL_write`, a record and a completion callback: what
   * all the callbacks of one turn produce for the connection leaves as one write.
   */
  readonly #perTurn: boolean;

  constructor(readonly socket: Socket) {
    this.#perTurn = (socket as Socket & { encrypted?: boolean }).encrypted === true;
  }

  /** Size of the current chunk (what an idle connection holds). */
  get capacity(): number {
    return this.#chunk.length;
  }

  /**
   * Returns the chunk, with at least `n` bytes free at `pos` (a chunk of `n` if `n` is over
   * `CHUNK_BYTES`), and schedules this tick's flush.
   */
  reserve(n: number): Buffer {
    if (!this.#scheduled) {
      this.#scheduled = true;
      if (this.#perTurn) setImmediate(this.#flushTick);
      else process.nextTick(this.#flushTick);
    }
    if (this.#chunk.length - this.pos < n) this.#next(n);
    return this.#chunk;
  }

  /** Appends `b`: copied if small, else written as is after what is buffered. */
  bytes(b: Buffer): void {
    const len = b.length;
    if (len <= COPY_MAX) {
      const chunk = this.reserve(len);
      chunk.set(b, this.pos);
      this.pos += len;
      return;
    }
    this.reserve(0);
    if (!this.#corked) {
      // the buffered region and this payload leave together at the end of the tick
      this.#corked = true;
      this.socket.cork();
    }
    this.#emit();
    this.#inFlight++;
    this.socket.write(b, this.#written);
  }

  /** Hands what is buffered to the socket now (before `end()`, or when a write completes). */
  flush(): void {
    this.#flush(true);
  }

  /** `now`: even while a write is in flight (the end of the tick waits for it instead). */
  #flush(now: boolean): void {
    this.#scheduled = false;
    const socket = this.socket;
    if (socket.destroyed) {
      this.#start = this.pos;
      this.#corked = false;
      return;
    }
    if (!now && !this.#corked && this.#inFlight > 0 && socket.writableLength > 0) {
      if (this.pos > this.#start) this.#waiting = true;
      return;
    }
    this.#waiting = false;
    this.#emit();
    if (this.#corked) {
      this.#corked = false;
      socket.uncork();
    }
    // everything written has left (a synchronous write, the common case): reuse the chunk
    if (socket.writableLength === 0) {
      this.pos = 0;
      this.#start = 0;
    }
  }

  #emit(): void {
    if (this.pos > this.#start) {
      this.#inFlight++;
      this.socket.write(this.#chunk.subarray(this.#start, this.pos), this.#written);
      this.#start = this.pos;
    }
  }

  /**
   * The current chunk is too full for `n` bytes: what it holds goes out, writing moves on in a
   * new chunk, twice the size while under `CHUNK_BYTES` (this tick wrote more than it holds),
   * or in the same one from 0 if it is full size and the socket holds none of its bytes.
   */
  #next(n: number): void {
    this.#emit();
    const size = this.#chunk.length;
    if (size < CHUNK_BYTES || n > size || this.socket.writableLength > 0) {
      this.#chunk = Buffer.allocUnsafeSlow(Math.max(n, Math.min(2 * size, CHUNK_BYTES)));
    }
    this.pos = 0;
    this.#start = 0;
  }
}
