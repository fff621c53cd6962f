/**
 * Finagle's RetryBudget (token bucket): every request deposits, every retry withdraws.
 * A retry costs `1 / percentCanRetry` deposits, so about `percentCanRetry` of the traffic may be
 * retried, plus a fixed reserve of `minRetriesPerSec × ttlSecs` retries; deposits and withdrawals
 * expire after `ttlSecs` (a windowed sum over ten slices).
 * Linkerd defaults: `minRetriesPerSec` 10, `percentCanRetry` 0.2, `ttlSecs` 10.
 */

export interface RetryBudgetConfig {
  /** Retries always allowed per second, whatever the traffic. Linkerd default 10. */
  readonly minRetriesPerSec: number;
  /** Fraction of requests that may be retried on top of the reserve. Linkerd default 0.2. */
  readonly percentCanRetry: number;
  /** How long deposits and withdrawals count. Linkerd default 10. */
  readonly ttlSecs: number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetConfig = {
  minRetriesPerSec: 10,
  percentCanRetry: 0.2,
  ttlSecs: 10,
};

const SCALE = 1000;
const SLICES = 10;

export class RetryBudget {
  readonly #deposit: number;
  readonly #withdraw: number;
  readonly #reserve: number;
  readonly #sliceMs: number;
  readonly #slices = new Float64Array(SLICES);
  #sliceAt = 0;
  #sum = 0;
  readonly #empty: boolean;

  constructor(
    cfg: RetryBudgetConfig = DEFAULT_RETRY_BUDGET,
    private readonly now: () => number = Date.now,
  ) {
    this.#empty = cfg.minRetriesPerSec === 0 && cfg.percentCanRetry === 0;
    this.#deposit = cfg.percentCanRetry === 0 ? 0 : SCALE;
    this.#withdraw = cfg.percentCanRetry === 0 ? 1 : Math.floor(SCALE / cfg.percentCanRetry);
    this.#reserve = cfg.minRetriesPerSec * cfg.ttlSecs * this.#withdraw;
    this.#sliceMs = (cfg.ttlSecs * 1000) / SLICES;
    this.#sliceAt = Math.floor(this.now() / this.#sliceMs);
  }

  #advance(): void {
    const at = Math.floor(this.now() / this.#sliceMs);
    const steps = Math.min(SLICES, at - this.#sliceAt);
    for (let i = 1; i <= steps; i++) {
      const idx = (this.#sliceAt + i) % SLICES;
      this.#sum -= this.#slices[idx]!;
      this.#slices[idx] = 0;
    }
    if (at > this.#sliceAt) this.#sliceAt = at;
  }

  #add(n: number): void {
    this.#advance();
    this.#slices[this.#sliceAt % SLICES]! += n;
    this.#sum += n;
  }

  /** Called for every request (retries excluded). */
  deposit(): void {
    if (this.#deposit > 0) this.#add(this.#deposit);
  }

  /** Takes one retry's worth of tokens; false when the budget is exhausted. */
  tryWithdraw(): boolean {
    if (this.#empty) return false;
    this.#advance();
    if (this.#reserve + this.#sum >= this.#withdraw) {
      this.#add(-this.#withdraw);
      return true;
    }
    return false;
  }

  /** Retries currently available. */
  get balance(): number {
    this.#advance();
    return Math.floor((this.#reserve + this.#sum) / this.#withdraw);
  }
}
