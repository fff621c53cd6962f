/**
 * `aperture`: power of two choices within a window ("aperture") of the endpoints, sized to the
 * load (Finagle's `Balancers.aperture`). The load per endpoint in the window (requests in flight
 * / aperture, smoothed over `smoothWindowMs`) is kept between `lowLoad` and `highLoad` by
 * narrowing or widening the window one endpoint at a time, never below `minAperture`.
 * Endpoints are ordered once at random so that different routers use different windows.
 */
import type { PluginFactory } from "@l5d/config";
import { z } from "zod";
import {
  type Endpoint,
  type LoadBalancer,
  type LoadBalancerMaker,
  loadOf,
  p2cPick,
} from "./load-balancer.js";

export const apertureSchema = z.strictObject({
  kind: z.literal("aperture"),
  /** Redraws when a pick lands on an unavailable endpoint (Linkerd default 5). */
  maxEffort: z.number().int().min(1).default(5),
  /** Smoothing window of the load average (Linkerd default 5000 ms; 1.x `smoothWin`). */
  smoothWindowMs: z.number().int().positive().default(5_000),
  /** Below this load per endpoint the aperture narrows (Linkerd default 0.5). */
  lowLoad: z.number().nonnegative().default(0.5),
  /** Above this load per endpoint the aperture widens (Linkerd default 2.0). */
  highLoad: z.number().positive().default(2.0),
  /** The smallest aperture (Linkerd default 1). */
  minAperture: z.number().int().min(1).default(1),
});

export type ApertureConfig = z.infer<typeof apertureSchema>;

export interface ApertureOptions {
  readonly smoothWindowMs?: number;
  readonly lowLoad?: number;
  readonly highLoad?: number;
  readonly minAperture?: number;
  readonly maxEffort?: number;
}

export class ApertureBalancer implements LoadBalancer {
  #ordered: Endpoint[] = [];
  #aperture: number;
  #avg = 0;
  #lastAt = 0;
  readonly #smooth: number;
  readonly #low: number;
  readonly #high: number;
  readonly #min: number;
  readonly #maxEffort: number;

  constructor(
    opts: ApertureOptions = {},
    private readonly random: () => number = Math.random,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#smooth = opts.smoothWindowMs ?? 5_000;
    this.#low = opts.lowLoad ?? 0.5;
    this.#high = opts.highLoad ?? 2.0;
    this.#min = opts.minAperture ?? 1;
    this.#maxEffort = opts.maxEffort ?? 5;
    this.#aperture = this.#min;
  }

  /** The current window size. */
  get aperture(): number {
    return Math.min(this.#aperture, this.#ordered.length);
  }

  update(endpoints: readonly Endpoint[]): void {
    const keep = new Set(endpoints);
    const next = this.#ordered.filter((e) => keep.has(e));
    const known = new Set(next);
    for (const e of endpoints) {
      if (known.has(e)) continue;
      next.splice(Math.floor(this.random() * (next.length + 1)), 0, e);
    }
    this.#ordered = next;
  }

  pick(): Endpoint | undefined {
    const all = this.#ordered;
    if (all.length === 0) return undefined;
    this.#adjust();
    // the window: the first `aperture` available endpoints (unavailable ones do not count)
    const window: Endpoint[] = [];
    for (const e of all) {
      if (e.available) window.push(e);
      if (window.length >= this.#aperture) break;
    }
    if (window.length === 0) return p2cPick(all, loadOf, this.#maxEffort, this.random);
    return p2cPick(window, loadOf, this.#maxEffort, this.random);
  }

  #adjust(): void {
    const n = this.#ordered.length;
    let inflight = 0;
    for (const e of this.#ordered) inflight += e.inflight;
    const t = this.now();
    const dt = this.#lastAt === 0 ? this.#smooth : t - this.#lastAt;
    this.#lastAt = t;
    const a = Math.min(this.#aperture, n) || 1;
    const w = Math.exp(-dt / this.#smooth);
    this.#avg = this.#avg * w + (inflight / a) * (1 - w);
    if (this.#avg > this.#high && this.#aperture < n) this.#aperture++;
    else if (this.#avg < this.#low && this.#aperture > this.#min) this.#aperture--;
    if (this.#aperture > n) this.#aperture = Math.max(this.#min, n);
  }

  load(e: Endpoint): number {
    return loadOf(e);
  }
}

export const apertureFactory: PluginFactory<ApertureConfig, LoadBalancerMaker> = {
  kind: "aperture",
  schema: apertureSchema as unknown as z.ZodType<ApertureConfig>,
  make: (cfg) => () =>
    new ApertureBalancer({
      smoothWindowMs: cfg.smoothWindowMs,
      lowLoad: cfg.lowLoad,
      highLoad: cfg.highLoad,
      minAperture: cfg.minAperture,
      maxEffort: cfg.maxEffort,
    }),
};
