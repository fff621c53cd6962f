/** Test helpers for the fs namer and transformers: waiting on Vars, temp dirs, a build context. */
import type { BuildContext } from "@l5d/config";
import type { Addr, Var } from "@l5d/dtab";

/** Resolves with the first value of `v` that satisfies `pred` (bounded by `timeoutMs`). */
export function waitFor<T>(v: Var<T>, pred: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let last: T | undefined;
    let done = false;
    let sub: { close(): void } | undefined;
    const timer = setTimeout(() => {
      done = true;
      sub?.close();
      reject(
        new Error(
          `timed out; last value: ${JSON.stringify(last, (_k, x) => (x instanceof Error ? x.message : x))}`,
        ),
      );
    }, timeoutMs);
    sub = v.observe((x) => {
      last = x;
      if (done || !pred(x)) return;
      done = true;
      clearTimeout(timer);
      queueMicrotask(() => sub?.close());
      resolve(x);
    });
    if (done) sub.close();
  });
}

/** `host:port*weight` strings of a bound Addr, sorted. */
export function addrList(a: Addr): string[] | string {
  if (a.type !== "bound") return a.type;
  return a.addrs
    .map((x) => `${x.host}:${x.port}${x.weight === undefined ? "" : `*${x.weight}`}`)
    .sort();
}

export function testContext(closers: (() => void | Promise<void>)[]): BuildContext {
  const noop = () => {};
  return {
    env: {},
    log: { info: noop, warn: noop, error: noop, debug: noop },
    onClose: (f) => closers.push(f),
    services: {},
  };
}
