/**
 * Failure-accrual policies by `kind:` (Linkerd `failure_accrual.md`), each with a `backoff`
 * (`constant` `ms`, or `jittered` `minMs`/`maxMs`; default jittered 5 s → 300 s):
 * - `io.l5d.consecutiveFailures`: dead after `failures` consecutive failures (the h2 default
 *   policy uses 5).
 * - `io.l5d.successRate`: dead when the success rate, an exponentially weighted average over
 *   about the last `requests` responses, falls below `successRate` (needs `requests` responses).
 * - `io.l5d.successRateWindowed`: dead when the success rate over the last `window` seconds
 *   falls below `successRate` (needs at least 5 responses in the window).
 * - `none`: never marks an endpoint dead.
 */
import type { PluginFactory } from "@l5d/config";
import { z } from "zod";
import {
  type BackoffConfig,
  backoffSchema,
  DEFAULT_ACCRUAL_BACKOFF,
  startBackoff,
} from "./backoff.js";
import type { FailureAccrualMaker, FailureAccrualPolicy } from "./failure-accrual.js";

/** Base of the policies: a backoff stream restarted on revival. */
abstract class BackoffPolicy implements FailureAccrualPolicy {
  #backoff;
  constructor(private readonly backoffCfg: BackoffConfig) {
    this.#backoff = startBackoff(backoffCfg);
  }
  protected nextBackoff(): number {
    return this.#backoff.next();
  }
  abstract recordSuccess(): void;
  abstract markDeadOnFailure(): number | undefined;
  revived(): void {
    this.#backoff = startBackoff(this.backoffCfg);
    this.reset();
  }
  protected abstract reset(): void;
}

export class ConsecutiveFailuresPolicy extends BackoffPolicy {
  #failures = 0;
  constructor(
    private readonly failures: number,
    backoff: BackoffConfig = DEFAULT_ACCRUAL_BACKOFF,
  ) {
    super(backoff);
  }
  recordSuccess(): void {
    this.#failures = 0;
  }
  markDeadOnFailure(): number | undefined {
    this.#failures++;
    return this.#failures >= this.failures ? this.nextBackoff() : undefined;
  }
  describe(): string {
    const n = this.#failures;
    return `${n} consecutive failure${n === 1 ? "" : "s"} (io.l5d.consecutiveFailures, failures: ${this.failures})`;
  }
  protected reset(): void {
    this.#failures = 0;
  }
}

export class SuccessRatePolicy extends BackoffPolicy {
  #ema = 1;
  #seen = 0;
  readonly #alpha: number;
  constructor(
    private readonly successRate: number,
    private readonly requests: number,
    backoff: BackoffConfig = DEFAULT_ACCRUAL_BACKOFF,
  ) {
    super(backoff);
    this.#alpha = 2 / (requests + 1);
  }
  #add(v: number): void {
    this.#ema = this.#ema * (1 - this.#alpha) + v * this.#alpha;
    this.#seen++;
  }
  recordSuccess(): void {
    this.#add(1);
  }
  markDeadOnFailure(): number | undefined {
    this.#add(0);
    return this.#seen >= this.requests && this.#ema < this.successRate
      ? this.nextBackoff()
      : undefined;
  }
  describe(): string {
    return `success rate ${this.#ema.toFixed(3)} < ${this.successRate} over about the last ${this.requests} responses (io.l5d.successRate)`;
  }
  protected reset(): void {
    this.#ema = 1;
    this.#seen = 0;
  }
}

const WINDOW_SLICES = 10;
const MIN_WINDOWED_REQUESTS = 5;

export class SuccessRateWindowedPolicy extends BackoffPolicy {
  readonly #ok = new Float64Array(WINDOW_SLICES);
  readonly #all = new Float64Array(WINDOW_SLICES);
  #sliceAt = 0;
  readonly #sliceMs: number;
  constructor(
    private readonly successRate: number,
    private readonly windowSecs: number,
    backoff: BackoffConfig = DEFAULT_ACCRUAL_BACKOFF,
    private readonly now: () => number = Date.now,
  ) {
    super(backoff);
    this.#sliceMs = (windowSecs * 1000) / WINDOW_SLICES;
    this.#sliceAt = Math.floor(now() / this.#sliceMs);
  }
  #advance(): number {
    const at = Math.floor(this.now() / this.#sliceMs);
    const steps = Math.min(WINDOW_SLICES, at - this.#sliceAt);
    for (let i = 1; i <= steps; i++) {
      const idx = (this.#sliceAt + i) % WINDOW_SLICES;
      this.#ok[idx] = 0;
      this.#all[idx] = 0;
    }
    if (at > this.#sliceAt) this.#sliceAt = at;
    return this.#sliceAt % WINDOW_SLICES;
  }
  recordSuccess(): void {
    const i = this.#advance();
    this.#ok[i]!++;
    this.#all[i]!++;
  }
  markDeadOnFailure(): number | undefined {
    const i = this.#advance();
    this.#all[i]!++;
    let ok = 0;
    let all = 0;
    for (let k = 0; k < WINDOW_SLICES; k++) {
      ok += this.#ok[k]!;
      all += this.#all[k]!;
    }
    return all >= MIN_WINDOWED_REQUESTS && ok / all < this.successRate
      ? this.nextBackoff()
      : undefined;
  }
  describe(): string {
    let ok = 0;
    let all = 0;
    for (let k = 0; k < WINDOW_SLICES; k++) {
      ok += this.#ok[k]!;
      all += this.#all[k]!;
    }
    const rate = all > 0 ? (ok / all).toFixed(3) : "1";
    return `success rate ${rate} < ${this.successRate} over the last ${this.windowSecs} s, ${all} responses (io.l5d.successRateWindowed)`;
  }
  protected reset(): void {
    this.#ok.fill(0);
    this.#all.fill(0);
  }
}

/** Linkerd's h2 default: 5 consecutive failures, jittered backoff 5 s → 300 s. */
export const defaultFailureAccrual: FailureAccrualMaker = () => new ConsecutiveFailuresPolicy(5);

const backoff = backoffSchema.optional();
const rate = z.number().min(0).max(1);

type ConsecutiveCfg = {
  kind: "io.l5d.consecutiveFailures";
  failures: number;
  backoff?: BackoffConfig | undefined;
};
type SuccessRateCfg = {
  kind: "io.l5d.successRate";
  successRate: number;
  requests: number;
  backoff?: BackoffConfig | undefined;
};
type WindowedCfg = {
  kind: "io.l5d.successRateWindowed";
  successRate: number;
  window: number;
  backoff?: BackoffConfig | undefined;
};

export const consecutiveFailuresFactory: PluginFactory<ConsecutiveCfg, FailureAccrualMaker> = {
  kind: "io.l5d.consecutiveFailures",
  schema: z.strictObject({
    kind: z.literal("io.l5d.consecutiveFailures"),
    failures: z.number().int().positive(),
    backoff,
  }) as unknown as z.ZodType<ConsecutiveCfg>,
  make: (cfg) => () =>
    new ConsecutiveFailuresPolicy(cfg.failures, cfg.backoff ?? DEFAULT_ACCRUAL_BACKOFF),
};

export const successRateFactory: PluginFactory<SuccessRateCfg, FailureAccrualMaker> = {
  kind: "io.l5d.successRate",
  schema: z.strictObject({
    kind: z.literal("io.l5d.successRate"),
    successRate: rate,
    requests: z.number().int().positive(),
    backoff,
  }) as unknown as z.ZodType<SuccessRateCfg>,
  make: (cfg) => () =>
    new SuccessRatePolicy(cfg.successRate, cfg.requests, cfg.backoff ?? DEFAULT_ACCRUAL_BACKOFF),
};

export const successRateWindowedFactory: PluginFactory<WindowedCfg, FailureAccrualMaker> = {
  kind: "io.l5d.successRateWindowed",
  schema: z.strictObject({
    kind: z.literal("io.l5d.successRateWindowed"),
    successRate: rate,
    window: z.number().int().positive(),
    backoff,
  }) as unknown as z.ZodType<WindowedCfg>,
  make: (cfg) => () =>
    new SuccessRateWindowedPolicy(
      cfg.successRate,
      cfg.window,
      cfg.backoff ?? DEFAULT_ACCRUAL_BACKOFF,
    ),
};

export const noFailureAccrualFactory: PluginFactory<{ kind: "none" }, FailureAccrualMaker> = {
  kind: "none",
  schema: z.strictObject({ kind: z.literal("none") }) as unknown as z.ZodType<{ kind: "none" }>,
  make: () => () => undefined,
};
