/** Jittered exponential backoff for reconnecting watches (Linkerd: 10 ms doubling to 10 s, jittered). */

export interface BackoffOptions {
  /** First delay (Linkerd default 10 ms). */
  readonly minMs?: number;
  /** Largest delay (Linkerd default 10 s). */
  readonly maxMs?: number;
}

export class JitteredBackoff {
  readonly #min: number;
  readonly #max: number;
  #attempt = 0;

  constructor(
    opts: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.#min = Math.max(1, opts.minMs ?? 10);
    this.#max = Math.max(this.#min, opts.maxMs ?? 10_000);
  }

  /** The next delay: between half and all of min·2^attempt, capped at max. */
  next(): number {
    const base = Math.min(this.#max, this.#min * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(base / 2 + (this.random() * base) / 2);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
