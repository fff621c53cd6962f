import { sleep } from "./internal/sleep.js";

/** The failure a server injects with probability `failureRate` (Go: `fmt.Errorf("server error")`). */
export class InjectedFailureError extends Error {
  readonly code = "injected_failure";
  constructor() {
    super("server error");
    this.name = "InjectedFailureError";
  }
}

/** Settings of the per-request algorithm shared by the gRPC and HTTP modes. */
export interface GreeterOptions {
  /** Effective text (after `TARGET_WORLD`). */
  text: string;
  /** Appended as ` (<podIp>)` when non-empty (the `POD_IP` env). Default none. */
  podIp?: string | undefined;
  /** Sleep before handling each request, in ms (`-latency`). Default 0. */
  latencyMs?: number | undefined;
  /** Probability 0..1 of answering with an error (`-failure-rate`). Default 0. */
  failureRate?: number | undefined;
  /** Random source in [0, 1) (Go's `rand.Float64`). Default `Math.random`. */
  random?: (() => number) | undefined;
}

/**
 * The original app's `respond`: sleep `latency`; fail with probability `failureRate`; text, plus
 * ` (<POD_IP>)`, plus a space and the downstream reply when there is a downstream. The caller adds
 * the final `!` (the HTTP JSON mode does not). `latencyMs` and `failureRate` are mutable (the HTTP
 * mode's `/setLatency` and `/setFailureRate`).
 */
export class Greeter {
  /** The effective text (`-text` or `TARGET_WORLD`), without the pod IP. */
  readonly baseText: string;
  /** The text each reply starts with: `baseText` plus ` (<podIp>)`. */
  readonly text: string;
  latencyMs: number;
  failureRate: number;
  readonly #random: () => number;

  constructor(opts: GreeterOptions) {
    this.baseText = opts.text;
    this.text =
      opts.podIp !== undefined && opts.podIp !== "" ? `${opts.text} (${opts.podIp})` : opts.text;
    this.latencyMs = opts.latencyMs ?? 0;
    this.failureRate = opts.failureRate ?? 0;
    this.#random = opts.random ?? Math.random;
  }

  /** Runs the algorithm once; rejects with {@link InjectedFailureError} or the downstream's error. */
  async respond(downstream?: () => Promise<string>): Promise<string> {
    await sleep(this.latencyMs);
    if (this.#random() < this.failureRate) throw new InjectedFailureError();
    if (downstream === undefined) return this.text;
    return `${this.text} ${await downstream()}`;
  }
}
