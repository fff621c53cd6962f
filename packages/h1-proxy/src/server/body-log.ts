/**
 * A request body as the exchange reads it from its client: read only while an attempt is
 * attached (between attempts the client is paused), every chunk passed to that attempt with
 * back-pressure (paused while the upstream cannot take more) and kept, up to `limitBytes`, so
 * that another attempt can replay it (Linkerd's `retryBufferSize.requestBytes`). Past the limit
 * nothing is kept: not replayable.
 */
import type { Readable, Writable } from "node:stream";

export class BodyLog {
  readonly #chunks: Buffer[] = [];
  readonly #limit: number;
  readonly #source: Readable;
  #bytes = 0;
  #kept = true;
  #ended = false;
  #failed: Error | undefined;
  #sink: Writable | undefined;
  #paused = false;
  readonly #onDrain = () => this.#resume();

  constructor(source: Readable, limitBytes: number, ended = false) {
    this.#source = source;
    this.#limit = limitBytes;
    this.#ended = ended;
    if (ended) return;
    source.pause();
    source.on("data", (c: Buffer) => this.#data(c));
    source.on("end", () => {
      this.#ended = true;
      this.#sink?.end();
    });
    source.on("error", (e: Error) => {
      this.#failed = e;
    });
  }

  /** A body given whole (`streamingEnabled: false`, or none): no reading. */
  static of(chunks: readonly Buffer[], source: Readable): BodyLog {
    const log = new BodyLog(source, Number.POSITIVE_INFINITY, true);
    for (const c of chunks) {
      log.#chunks.push(c);
      log.#bytes += c.length;
    }
    return log;
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The whole body was received. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Another attempt can send the body again: every byte received is still kept. */
  get replayable(): boolean {
    return this.#kept && this.#failed === undefined;
  }

  /**
   * Sends what was received to `sink` and every later chunk as it comes, ending `sink` with the
   * body. A second attach detaches the first.
   */
  attach(sink: Writable): void {
    this.detach();
    this.#sink = sink;
    for (const c of this.#chunks) sink.write(c);
    if (this.#ended) sink.end();
    else if (!this.#paused) this.#source.resume();
  }

  /** Stops passing chunks to the current sink (its attempt is over). */
  detach(): void {
    const s = this.#sink;
    if (s === undefined) return;
    s.off("drain", this.#onDrain);
    this.#sink = undefined;
    this.#paused = false;
    if (!this.#ended) this.#source.pause();
  }

  #data(c: Buffer): void {
    this.#bytes += c.length;
    if (this.#kept) {
      if (this.#bytes > this.#limit) {
        this.#kept = false;
        this.#chunks.length = 0;
      } else this.#chunks.push(c);
    }
    const s = this.#sink;
    if (s !== undefined && !s.write(c) && !this.#paused) {
      this.#paused = true;
      this.#source.pause();
      s.once("drain", this.#onDrain);
    }
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#sink !== undefined) this.#source.resume();
  }
}
