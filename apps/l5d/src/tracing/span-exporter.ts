/**
 * Batches spans and POSTs them: a bounded queue (spans beyond it are dropped and counted, never
 * blocking a request), flushed when a batch is full or every `flushIntervalMs`, one request in
 * flight at a time. Failed posts are counted and their spans dropped (no retry storm).
 */
import type { Counter, MetricsRegistry } from "@l5d/h2-proxy";
import type { Span } from "./span.js";

export interface SpanExporterOptions {
  /** Metric scope, e.g. `telemetry/zipkin`. */
  readonly scope: string;
  readonly metrics?: MetricsRegistry | undefined;
  /** Spans kept waiting at most; more are dropped. Default 1000. */
  readonly maxQueueSize?: number | undefined;
  /** Spans per POST at most. Default 100. */
  readonly batchSize?: number | undefined;
  /** Flush at least this often (ms). Default 1000. */
  readonly flushIntervalMs?: number | undefined;
  /** Sends one batch; rejects on failure. */
  readonly send: (spans: readonly Span[]) => Promise<void>;
  readonly onError?: ((e: Error) => void) | undefined;
}

export class SpanExporter {
  readonly #queue: Span[] = [];
  readonly #max: number;
  readonly #batch: number;
  readonly #send: (spans: readonly Span[]) => Promise<void>;
  readonly #onError: ((e: Error) => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #sent: Counter | undefined;
  readonly #dropped: Counter | undefined;
  readonly #failures: Counter | undefined;
  #inflight: Promise<void> | undefined;
  #closed = false;

  constructor(opts: SpanExporterOptions) {
    this.#max = opts.maxQueueSize ?? 1000;
    this.#batch = opts.batchSize ?? 100;
    this.#send = opts.send;
    this.#onError = opts.onError;
    const m = opts.metrics;
    if (m) {
      this.#sent = m.counter(`${opts.scope}/spans_sent`);
      this.#dropped = m.counter(`${opts.scope}/spans_dropped`);
      this.#failures = m.counter(`${opts.scope}/send_failures`);
      m.gauge(`${opts.scope}/queued_spans`, () => this.#queue.length);
    }
    this.#timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 1000);
    this.#timer.unref();
  }

  /** Spans waiting to be sent. */
  get queued(): number {
    return this.#queue.length;
  }

  add(span: Span): void {
    if (this.#closed || this.#queue.length >= this.#max) {
      this.#dropped?.incr();
      return;
    }
    this.#queue.push(span);
    if (this.#queue.length >= this.#batch && !this.#inflight) void this.flush();
  }

  /** Sends everything queued now (in batches); resolves when done. */
  async flush(): Promise<void> {
    while (this.#inflight) await this.#inflight;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#batch);
      this.#inflight = this.#send(batch).then(
        () => {
          this.#sent?.incr(batch.length);
        },
        (e: unknown) => {
          this.#failures?.incr();
          this.#dropped?.incr(batch.length);
          this.#onError?.(e instanceof Error ? e : new Error(String(e)));
        },
      );
      try {
        await this.#inflight;
      } finally {
        this.#inflight = undefined;
      }
    }
  }

  /** Stops the timer and sends what is left. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
    this.#closed = true;
  }
}

/** POSTs a JSON body; rejects on a non-2xx answer or after `timeoutMs`. */
export async function postJson(
  url: string,
  body: string,
  headers: Readonly<Record<string, string>> = {},
  timeoutMs = 10_000,
): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status < 200 || res.status >= 300) {
    throw new SpanExportError(url, res.status, text.slice(0, 200));
  }
}

export class SpanExportError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`POST ${url} answered ${status}: ${body}`);
    this.name = "SpanExportError";
  }
}
