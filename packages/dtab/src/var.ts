/**
 * Var: a value that changes over time (Finagle's `com.twitter.util.Var`).
 *
 * A namer's answer, an endpoint set and a bound tree are all Vars: observers see the current
 * value at once and every later change. Derived Vars (`map`, `flatMap`, `collect`) subscribe
 * to their sources only while they themselves are observed, so an unobserved binding holds no
 * watch open (this is how idle bindings are evicted).
 */

/** Something that can be closed, once; closing twice is a no-op. */
export interface Closable {
  close(): void;
}

export type Observer<T> = (value: T) => void;

export interface Var<T> {
  /** The current value. For a derived Var that nobody observes, it is computed on demand. */
  sample(): T;
  /** Calls `f` now with the current value and again after every change, until closed. */
  observe(f: Observer<T>): Closable;
}

/** A Var whose value is set from outside (a namer's cell, a file watch, a k8s watch). */
export class VarCell<T> implements Var<T> {
  #value: T;
  readonly #observers = new Set<Observer<T>>();

  constructor(initial: T) {
    this.#value = initial;
  }

  sample(): T {
    return this.#value;
  }

  /** Sets the value and notifies observers, unless it is the very same value (`Object.is`). */
  update(value: T): void {
    if (Object.is(value, this.#value)) return;
    this.#value = value;
    for (const f of [...this.#observers]) {
      if (this.#observers.has(f)) f(value);
    }
  }

  observe(f: Observer<T>): Closable {
    this.#observers.add(f);
    f(this.#value);
    return { close: () => this.#observers.delete(f) };
  }

  /** How many observers are attached (tests use it to prove watches are released). */
  get observerCount(): number {
    return this.#observers.size;
  }
}

/**
 * A Var computed from sources. `start` subscribes to the sources and pushes values through
 * `emit`; it returns what releases them. It runs when the first observer arrives and is
 * released when the last one leaves.
 */
export class DerivedVar<T> implements Var<T> {
  readonly #observers = new Set<Observer<T>>();
  #current: { value: T } | undefined;
  #release: Closable | undefined;

  constructor(private readonly start: (emit: (value: T) => void) => Closable) {}

  sample(): T {
    if (this.#current) return this.#current.value;
    let got: { value: T } | undefined;
    const c = this.start((v) => {
      got = { value: v };
    });
    c.close();
    if (!got) throw new Error("DerivedVar produced no value synchronously");
    return got.value;
  }

  observe(f: Observer<T>): Closable {
    this.#observers.add(f);
    if (this.#observers.size === 1 && !this.#release) {
      this.#release = this.start((v) => {
        if (this.#current && Object.is(this.#current.value, v)) return;
        this.#current = { value: v };
        for (const o of [...this.#observers]) {
          if (this.#observers.has(o)) o(v);
        }
      });
    } else if (this.#current) {
      f(this.#current.value);
    }
    let closed = false;
    return {
      close: () => {
        if (closed) return;
        closed = true;
        this.#observers.delete(f);
        if (this.#observers.size === 0 && this.#release) {
          const r = this.#release;
          this.#release = undefined;
          this.#current = undefined;
          r.close();
        }
      },
    };
  }
}

export const Var = {
  /** A Var that never changes. */
  value<T>(value: T): Var<T> {
    return new VarCell(value);
  },

  map<A, B>(source: Var<A>, f: (a: A) => B): Var<B> {
    return new DerivedVar<B>((emit) => source.observe((a) => emit(f(a))));
  },

  /** Switches to the Var that `f` returns for each value of `source`. */
  flatMap<A, B>(source: Var<A>, f: (a: A) => Var<B>): Var<B> {
    return new DerivedVar<B>((emit) => {
      let inner: Closable | undefined;
      const outer = source.observe((a) => {
        const prev = inner;
        inner = f(a).observe(emit);
        prev?.close();
      });
      return {
        close: () => {
          outer.close();
          inner?.close();
        },
      };
    });
  },

  /** Combines several Vars into a Var of their values, in order. */
  collect<T>(sources: readonly Var<T>[]): Var<T[]> {
    if (sources.length === 0) return Var.value<T[]>([]);
    return new DerivedVar<T[]>((emit) => {
      const values: T[] = new Array(sources.length);
      let ready = 0;
      const seen = new Array<boolean>(sources.length).fill(false);
      const subs = sources.map((s, i) =>
        s.observe((v) => {
          values[i] = v;
          if (!seen[i]) {
            seen[i] = true;
            ready++;
          }
          if (ready === sources.length) emit(values.slice());
        }),
      );
      return {
        close: () => {
          for (const s of subs) s.close();
        },
      };
    });
  },
};
