/**
 * Reconnection delays for a namerd client (Linkerd's `retry: {baseSeconds, maxSeconds}`):
 * exponential from base to max with full jitter, reset after a success.
 */
export class Backoff {
  #attempt = 0;

  constructor(
    readonly baseMs: number,
    readonly maxMs: number,
  ) {}

  /** The delay before the next attempt (grows with each call until `reset`). */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(this.baseMs / 2 + Math.random() * (ceiling - this.baseMs / 2));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
