/**
 * A request body as the exchange reads it from its client: chunks flow to the attempt attached
 * (the upstream connection's writer), with back-pressure (the client's socket is paused while
 * the upstream cannot take more, and between attempts), and are kept, up to `limitBytes`, so
 * that another attempt can replay it (Linkerd's `retryBufferSize.requestBytes`). Past the limit
 * nothing is kept: not replayable. Chunks that arrive while the source is paused (the rest of
 * one socket read) wait in a backlog: nothing received is ever dropped.
 */

/** Where the body comes from: the client connection's reading, paused and resumed. */
export interface BodySource {
  pause(): void;
  resume(): void;
}

/** Where the body goes: one attempt's upstream request. */
export interface BodySink {
  /** False: the sink is backed up; `onDrain` is called once it takes more. */
  write(chunk: Buffer): boolean;
  end(): void;
  onDrain(f: (() => void) | undefined): void;
}

/** A source that is never paused (a body given whole). */
const NO_SOURCE: BodySource = { pause() {}, resume() {} };

export class BodyLog {
  readonly #chunks: Buffer[] = [];
  readonly #limit: number;
  readonly #source: BodySource;
  /** Received, not yet written to the current sink (no sink, or it was backed up). */
  #backlog: Buffer[] = [];
  #bytes = 0;
  #kept = true;
  #ended = false;
  #failed: Error | undefined;
  #sink: BodySink | undefined;
  /** The sink refused more: waiting for its drain. */
  #blocked = false;
  #sourcePaused = false;
  readonly #onDrain = () => this.#drained();

  constructor(source: BodySource, limitBytes: number, ended = false) {
    this.#source = source;
    this.#limit = limitBytes;
    this.#ended = ended;
  }

  /** A body given whole (`streamingEnabled: false`, or none). */
  static of(chunks: readonly Buffer[]): BodyLog {
    const log = new BodyLog(NO_SOURCE, Number.POSITIVE_INFINITY, true);
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

  /** A chunk from the client. */
  push(c: Buffer): void {
    this.#bytes += c.length;
    if (this.#kept) {
      if (this.#bytes > this.#limit) {
        this.#kept = false;
        this.#chunks.length = 0;
      } else this.#chunks.push(c);
    }
    const s = this.#sink;
    if (s === undefined || this.#blocked) {
      this.#backlog.push(c);
      this.#pauseSource();
      return;
    }
    if (!s.write(c)) this.#block(s);
  }

  /** The body is complete. */
  finish(): void {
    this.#ended = true;
    if (this.#sink !== undefined && !this.#blocked) this.#sink.end();
  }

  /** The client's connection failed mid-body. */
  fail(e: Error): void {
    this.#failed = e;
  }

  /**
   * Sends the body to `sink`: all of it again if it is kept (a replay), else what it has not
   * had yet; then every later chunk as it comes, and the end. A second attach detaches the first.
   */
  attach(sink: BodySink): void {
    this.detach();
    this.#sink = sink;
    const first = this.#kept ? this.#chunks : this.#backlog;
    this.#backlog = [];
    this.#send(sink, first);
  }

  /** Stops passing chunks to the current sink (its attempt is over). */
  detach(): void {
    const s = this.#sink;
    if (s === undefined) return;
    s.onDrain(undefined);
    this.#sink = undefined;
    this.#blocked = false;
    if (!this.#ended) this.#pauseSource();
  }

  #block(s: BodySink): void {
    this.#blocked = true;
    this.#pauseSource();
    s.onDrain(this.#onDrain);
  }

  #drained(): void {
    const s = this.#sink;
    if (s === undefined || !this.#blocked) return;
    this.#blocked = false;
    const backlog = this.#backlog;
    this.#backlog = [];
    this.#send(s, backlog);
  }

  /** Writes `chunks` to `s` until it refuses one (the rest waits for its drain), then the end or more. */
  #send(s: BodySink, chunks: readonly Buffer[]): void {
    for (let i = 0; i < chunks.length; i++) {
      if (!s.write(chunks[i] as Buffer)) {
        this.#backlog = chunks.slice(i + 1);
        this.#block(s);
        return;
      }
    }
    if (this.#ended) s.end();
    else this.#resumeSource();
  }

  #pauseSource(): void {
    if (this.#sourcePaused || this.#ended) return;
    this.#sourcePaused = true;
    this.#source.pause();
  }

  #resumeSource(): void {
    if (!this.#sourcePaused) return;
    this.#sourcePaused = false;
    this.#source.resume();
  }
}
