/**
 * FeedVar: a Var fed by one namerd feed (a mesh stream, a thrift long-poll loop) while it is
 * observed. The feed opens with the first observer and stops when the last one leaves, the
 * value going back to `initial` and `onIdle` letting the owner forget the Var. Repeated
 * identical values are not re-emitted.
 */
import type { Closable, Observer, Var } from "@l5d/dtab";

/** What feeds a FeedVar: started once when opened, stopped once when no longer observed. */
export interface Feed {
  start(): void;
  stop(): void;
}

/** Opens a feed that pushes values through `emit`; `current` is the Var's value at the time. */
export type FeedOpener<T> = (emit: (v: T) => void, current: () => T) => Feed;

export class FeedVar<T> implements Var<T> {
  #value: T;
  readonly #observers = new Set<Observer<T>>();
  #feed: Feed | undefined;

  constructor(
    readonly initial: T,
    readonly open: FeedOpener<T>,
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
    if (this.#observers.size === 1 && !this.#feed) {
      const feed = this.open(
        (v) => this.#emit(v),
        () => this.#value,
      );
      this.#feed = feed;
      feed.start();
    }
    f(this.#value);
    let closed = false;
    return {
      close: () => {
        if (closed) return;
        closed = true;
        this.#observers.delete(f);
        if (this.#observers.size > 0 || !this.#feed) return;
        const feed = this.#feed;
        this.#feed = undefined;
        feed.stop();
        this.#value = this.initial;
        this.onIdle();
      },
    };
  }

  #emit(v: T): void {
    if (!this.#feed || Object.is(v, this.#value)) return;
    this.#value = v;
    for (const o of [...this.#observers]) if (this.#observers.has(o)) o(v);
  }
}
