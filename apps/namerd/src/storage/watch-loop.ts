/**
 * WatchLoop: the background read loop of a store that watches a remote backend (etcd, the
 * Kubernetes API). It starts on the first `start()` (a store reads nothing until something
 * observes it), runs until closed, and sleeps between retries in a way `close()` cuts short, so
 * closing a store never waits out a backoff.
 */
export class WatchLoop {
  readonly #run: () => Promise<void>;
  #started = false;
  #closed = false;
  #loop: Promise<void> = Promise.resolve();
  #wake: (() => void) | undefined;

  /** `run` reads and watches until it sees `closed`; it must not reject. */
  constructor(run: () => Promise<void>) {
    this.#run = run;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts the loop unless it has started already or is closed. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#loop = this.#run();
  }

  /** Waits `ms`, or less if the loop is closed meanwhile. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    }).finally(() => {
      this.#wake = undefined;
    });
  }

  /** Marks the loop closed and wakes it from a sleep. */
  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  /** Waits until the loop and `others` have settled (failures ignored), but no longer than `ms`. */
  async ended(ms: number, ...others: (Promise<unknown> | undefined)[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([this.#loop, ...others]).catch(() => {}),
      new Promise<void>((r) => {
        timer = setTimeout(r, ms);
      }),
    ]);
    clearTimeout(timer);
  }
}
