/**
 * A server's `clearContext: true` (Linkerd's): a client's context headers (`l5d-ctx-*` and
 * `l5d-dtab`) are neither honoured (no dtab override, no joined trace) nor forwarded. The
 * request's header list is not modified: the router and the tracer see a list without them,
 * and every attempt removes them upstream through its header edits.
 */
import type {
  AttemptSink,
  Exchange,
  ExchangeOptions,
  HeaderEdits,
  HeaderList,
  LocalError,
  RoutableRequest,
  Address as UpstreamAddress,
} from "@l5d/h2-proxy";

const CTX_PREFIX = "l5d-ctx-";

function isContext(name: string): boolean {
  return name.startsWith(CTX_PREFIX) || name === "l5d-dtab";
}

/** The request without its context headers; the request itself when it has none (no allocation). */
export function clearContext(req: RoutableRequest): RoutableRequest {
  let removed: string[] | undefined;
  for (const f of req.headers) {
    const n = f[0];
    if (!isContext(n)) continue;
    if (removed === undefined) removed = [n];
    else if (!removed.includes(n)) removed.push(n);
  }
  return removed === undefined ? req : new ContextCleared(req, removed);
}

class ContextCleared implements RoutableRequest {
  readonly headers: HeaderList;
  readonly #req: RoutableRequest;
  readonly #removed: readonly string[];

  constructor(req: RoutableRequest, removed: readonly string[]) {
    this.#req = req;
    this.#removed = removed;
    this.headers = req.headers.filter((f) => !isContext(f[0]));
  }

  get isGrpc(): boolean {
    return this.#req.isGrpc;
  }

  get requestId(): string | undefined {
    return this.#req.requestId;
  }

  exchange(opts: ExchangeOptions): Exchange {
    return new RemovingExchange(this.#req.exchange(opts), this.#removed);
  }

  respondError(e: LocalError): void {
    this.#req.respondError(e);
  }
}

/** Each attempt's edits plus the removals of the context headers. */
class RemovingExchange implements Exchange {
  readonly #inner: Exchange;
  readonly #removed: readonly string[];

  constructor(inner: Exchange, removed: readonly string[]) {
    this.#inner = inner;
    this.#removed = removed;
  }

  get replayable(): boolean {
    return this.#inner.replayable;
  }

  get done(): boolean {
    return this.#inner.done;
  }

  remainingMs(): number | undefined {
    return this.#inner.remainingMs();
  }

  attempt(endpoint: UpstreamAddress, edits: HeaderEdits, sink: AttemptSink): void {
    const remove = edits.remove === undefined ? this.#removed : [...edits.remove, ...this.#removed];
    this.#inner.attempt(endpoint, { set: edits.set, remove }, sink);
  }

  discard(): void {
    this.#inner.discard();
  }

  commit(extra?: Readonly<Record<string, string>>): Promise<void> {
    return this.#inner.commit(extra);
  }
}
