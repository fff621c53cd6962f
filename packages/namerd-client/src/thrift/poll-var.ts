/**
 * A Var fed by one long-poll loop while observed: the loop starts with the first observer and
 * stops when the last one leaves (the value going back to `initial`, and `onIdle` letting the
 * owner forget it). Repeated identical values are not re-emitted.
 */
import type { Closable, Observer, Var } from "@l5d/dtab";

export interface PollLoop {
  start(): void;
  stop(): void;
}

export class PollVar<T> implements Var<T> {
  #value: T;
  readonly #observers = new Set<Observer<T>>();
  #loop: PollLoop | undefined;

  constructor(
    readonly initial: T,
    readonly open: (emit: (v: T) => void, current: () => T) => PollLoop,
    readonly onIdle: () => void,
  ) {
    this.#value = initial;
  }

  get observed(): boolean {
    return this.#observers.size > 0;
  }

  sample(): T {
    return this.#value;
  }

  observe(f: Observer<T>): Closable {
    this.#observers.add(f);
    if (this.#observers.size === 1 && !this.#loop) {
      const loop = this.open(
        (v) => this.#emit(v),
        () => this.#value,
      );
      this.#loop = loop;
      loop.start();
    }
    f(this.#value);
    let closed = false;
    return {
      close: () => {
        if (closed) return;
        closed = true;
        this.#observers.delete(f);
        if (this.#observers.size > 0 || !this.#loop) return;
        const loop = this.#loop;
        this.#loop = undefined;
        loop.stop();
        this.#value = this.initial;
        this.onIdle();
      },
    };
  }

  #emit(v: T): void {
    if (!this.#loop || Object.is(v, this.#value)) return;
    this.#value = v;
    for (const o of [...this.#observers]) if (this.#observers.has(o)) o(v);
  }
}
