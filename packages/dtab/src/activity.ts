/**
 * Activity: a Var of a state that may still be pending or may have failed (Finagle's
 * `com.twitter.util.Activity`). Namers answer with Activities of name trees.
 */
import { Var as V, type Var, VarCell } from "./var.js";

export type ActivityState<T> =
  | { readonly kind: "pending" }
  | { readonly kind: "ok"; readonly value: T }
  | { readonly kind: "failed"; readonly error: Error };

export type Activity<T> = Var<ActivityState<T>>;

const PENDING: ActivityState<never> = Object.freeze({ kind: "pending" });

export const Activity = {
  pending: PENDING as ActivityState<never>,
  ok<T>(value: T): ActivityState<T> {
    return { kind: "ok", value };
  },
  failed(error: Error): ActivityState<never> {
    return { kind: "failed", error };
  },
  /** A constant, already-resolved Activity. */
  value<T>(value: T): Activity<T> {
    return V.value<ActivityState<T>>({ kind: "ok", value });
  },
  /** A constant failed Activity. */
  exception(error: Error): Activity<never> {
    return V.value<ActivityState<never>>({ kind: "failed", error });
  },
  /** An Activity whose state is set from outside. */
  cell<T>(initial: ActivityState<T> = PENDING): VarCell<ActivityState<T>> {
    return new VarCell<ActivityState<T>>(initial);
  },
  map<A, B>(a: Activity<A>, f: (value: A) => B): Activity<B> {
    return V.map(a, (s): ActivityState<B> => {
      if (s.kind !== "ok") return s;
      try {
        return { kind: "ok", value: f(s.value) };
      } catch (e) {
        return { kind: "failed", error: toError(e) };
      }
    });
  },
  flatMap<A, B>(a: Activity<A>, f: (value: A) => Activity<B>): Activity<B> {
    return V.flatMap(a, (s): Activity<B> => {
      if (s.kind !== "ok") return V.value<ActivityState<B>>(s);
      try {
        return f(s.value);
      } catch (e) {
        return V.value<ActivityState<B>>({ kind: "failed", error: toError(e) });
      }
    });
  },
  /**
   * Resolves with the first non-pending state (rejects on failure), or rejects after
   * `timeoutMs` (Linkerd's bindingTimeoutMs). Releases its observation either way.
   */
  toPromise<T>(a: Activity<T>, timeoutMs = 10_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      let sub: { close(): void } | undefined;
      const timer = setTimeout(
        () => finish(() => reject(new Error(`binding timed out after ${timeoutMs} ms`))),
        timeoutMs,
      );
      const finish = (k: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        queueMicrotask(() => sub?.close());
        k();
      };
      sub = a.observe((s) => {
        if (s.kind === "ok") finish(() => resolve(s.value));
        else if (s.kind === "failed") finish(() => reject(s.error));
      });
      if (done) sub.close();
    });
  },
};

export function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
