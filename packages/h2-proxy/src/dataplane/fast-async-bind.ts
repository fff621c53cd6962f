/**
 * A cheaper `AsyncResource.prototype.bind` for the daemon process (issue #9).
 *
 * node:http2's `ClientHttp2Session.request()` binds a callback to a fresh `AsyncResource` for
 * every upstream request. On Node 20 that `bind` also defines the deprecated
 * `bound.asyncResource` accessor (DEP0172) through two `util.deprecate` wrappers, which is a
 * measured ~25% of the proxy's CPU per request (133 → 100 µs in one run). This replacement keeps
 * what bind is for — the function runs in the resource's async scope with the given `this` and
 * keeps its `length` — and drops only the deprecated accessor.
 *
 * It changes a process-wide prototype, so libraries must not call it: the daemon does, once, at
 * startup. It does nothing when the running Node no longer defines the accessor.
 */
import { AsyncResource } from "node:async_hooks";

let installed = false;

/** True when this Node's `AsyncResource#bind` still defines the deprecated `asyncResource` accessor. */
export function hasSlowAsyncBind(): boolean {
  const bound = new AsyncResource("l5d.probe").bind(() => {});
  return Object.getOwnPropertyDescriptor(bound, "asyncResource")?.get !== undefined;
}

/** Installs the cheaper `AsyncResource#bind`; returns whether it is in place. Idempotent. */
export function installFastAsyncBind(): boolean {
  if (installed) return true;
  if (!hasSlowAsyncBind()) return false;
  const proto = AsyncResource.prototype as unknown as {
    bind<F extends (...args: never[]) => unknown>(fn: F, thisArg?: unknown): F;
    runInAsyncScope(
      fn: (...args: unknown[]) => unknown,
      thisArg?: unknown,
      ...args: unknown[]
    ): unknown;
  };
  proto.bind = function bind(
    this: AsyncResource,
    fn: (...args: never[]) => unknown,
    thisArg?: unknown,
  ) {
    if (typeof fn !== "function") {
      throw new TypeError(`The "fn" argument must be of type function. Received ${typeof fn}`);
    }
    const resource = this;
    const run = fn as (...args: unknown[]) => unknown;
    const bound =
      thisArg === undefined
        ? function (this: unknown, ...args: unknown[]) {
            return resource.runInAsyncScope(run, this, ...args);
          }
        : resource.runInAsyncScope.bind(resource, run, thisArg);
    Object.defineProperty(bound, "length", { configurable: true, value: fn.length });
    return bound;
  } as typeof proto.bind;
  installed = true;
  return true;
}
