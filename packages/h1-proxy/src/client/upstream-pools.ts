/**
 * The HTTP/1.1 router's upstream connections: one keep-alive pool per endpoint address (TLS
 * identity included), shared by the router's servers. A request takes the most recently used
 * idle connection (LIFO: the others age out) or opens one; idle connections close after `idleMs`.
 * `retain` retires the pools of endpoints no client balances over any more: no new request goes
 * to them, their idle connections close now and the busy ones when their request is over.
 */
import { type Address, addressKey, type Upstreams } from "@l5d/h2-proxy";
import { type ConnectionHome, UpState, UpstreamConnection } from "./upstream-connection.js";

export interface UpstreamPoolOptions {
  /** An idle pooled connection is closed after this long (shorter than most servers' own 5 s). */
  readonly idleMs?: number;
}

/** One endpoint's connections. */
export class EndpointPool implements ConnectionHome {
  readonly address: Address;
  readonly #idle: UpstreamConnection[] = [];
  /** Requests on it now. */
  busy = 0;
  retired = false;

  constructor(address: Address) {
    this.address = address;
  }

  /** An idle connection, or a new one. */
  connection(connectTimeoutMs: number, maxHeadBytes: number): UpstreamConnection {
    const idle = this.#idle;
    for (;;) {
      const c = idle.pop();
      if (c === undefined) break;
      if (c.state === UpState.Idle) return c;
    }
    return new UpstreamConnection(this.address, connectTimeoutMs, maxHeadBytes, this);
  }

  checkin(c: UpstreamConnection): void {
    if (this.retired) {
      c.close();
      return;
    }
    c.idleSince = performance.now();
    this.#idle.push(c);
  }

  gone(c: UpstreamConnection): void {
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  /** Closes the connections idle since before `before` (oldest first: they are at the bottom). */
  sweep(before: number): void {
    const idle = this.#idle;
    while (idle.length > 0 && (idle[0] as UpstreamConnection).idleSince < before)
      (idle.shift() as UpstreamConnection).close();
  }

  /** Idle connections. */
  get idle(): number {
    return this.#idle.length;
  }

  closeIdle(): void {
    for (const c of this.#idle.splice(0)) c.close();
  }
}

export class UpstreamPools implements Upstreams {
  readonly #pools = new Map<string, EndpointPool>();
  readonly #byAddress = new WeakMap<Address, EndpointPool>();
  readonly #idleMs: number;
  #closed = false;
  #sweeper: NodeJS.Timeout | undefined;
  /** Called when a TLS handshake to an endpoint fails (the daemon counts and logs it). */
  onTlsError: ((message: string, peer: string) => void) | undefined;

  constructor(opts: UpstreamPoolOptions = {}) {
    this.#idleMs = opts.idleMs ?? 4_000;
  }

  /** Open pools (for the admin and tests). */
  get size(): number {
    return this.#pools.size;
  }

  /** The pool of `a` (made on first use); `release` when the request on it is over. */
  acquire(a: Address): EndpointPool {
    // an endpoint's address is one object for as long as it is balanced over: found without
    // building its key
    let p = this.#byAddress.get(a);
    if (p !== undefined && !p.retired) {
      p.busy++;
      return p;
    }
    const key = addressKey(a);
    p = this.#pools.get(key);
    if (p !== undefined) this.#byAddress.set(a, p);
    else {
      p = new EndpointPool(a);
      if (this.#closed) p.retired = true;
      else {
        this.#pools.set(key, p);
        this.#byAddress.set(a, p);
        this.#startSweeper();
      }
    }
    p.busy++;
    return p;
  }

  release(p: EndpointPool): void {
    p.busy--;
    if (p.retired && p.busy === 0) p.closeIdle();
  }

  retain(addresses: Iterable<{ host: string; port: number }>): void {
    const keep = new Set<string>();
    for (const a of addresses) keep.add(addressKey(a as Address));
    for (const [key, p] of this.#pools) {
      if (keep.has(key)) continue;
      this.#pools.delete(key);
      this.#retire(p);
    }
  }

  close(): void {
    this.#closed = true;
    for (const p of this.#pools.values()) this.#retire(p);
    this.#pools.clear();
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #retire(p: EndpointPool): void {
    // idle connections go now; busy ones close when their request is over (checkin)
    p.retired = true;
    p.closeIdle();
  }

  #startSweeper(): void {
    if (this.#sweeper !== undefined) return;
    const every = Math.max(50, Math.min(1_000, Math.floor(this.#idleMs / 4)));
    this.#sweeper = setInterval(() => {
      const before = performance.now() - this.#idleMs;
      for (const p of this.#pools.values()) p.sweep(before);
    }, every);
    this.#sweeper.unref();
  }
}

export type { EndpointPool as UpstreamPool };
