/**
 * The HTTP/1.1 router's upstream connections: one keep-alive pool (node's `Agent`) per endpoint
 * address (TLS identity included), shared by the router's servers. `retain` retires the pools of
 * endpoints no client balances over any more: no new request goes to them, their idle
 * connections close now and the busy ones when their request is over.
 */
import { Agent } from "node:http";
import { Agent as TlsAgent } from "node:https";
import { type Address, addressKey, type Upstreams } from "@l5d/h2-proxy";

export interface UpstreamPoolOptions {
  /** An idle pooled connection is closed after this long (shorter than most servers' own 5 s). */
  readonly idleMs?: number;
}

interface Pool {
  readonly agent: Agent;
  /** Requests on it now. */
  busy: number;
  retired: boolean;
}

export class UpstreamPools implements Upstreams {
  readonly #pools = new Map<string, Pool>();
  readonly #idleMs: number;
  #closed = false;
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
  acquire(a: Address): Pool {
    const key = addressKey(a);
    let p = this.#pools.get(key);
    if (p === undefined) {
      const common = {
        keepAlive: true,
        keepAliveMsecs: 1_000,
        maxSockets: Number.POSITIVE_INFINITY,
        maxFreeSockets: 256,
        scheduling: "lifo" as const,
        timeout: this.#idleMs,
      };
      const agent =
        a.tls === undefined
          ? new Agent(common)
          : new TlsAgent({ ...common, ...a.tls.options, ALPNProtocols: ["http/1.1"] });
      p = { agent, busy: 0, retired: false };
      if (!this.#closed) this.#pools.set(key, p);
    }
    p.busy++;
    return p;
  }

  release(p: Pool): void {
    p.busy--;
    if (p.retired && p.busy === 0) p.agent.destroy();
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
  }

  #retire(p: Pool): void {
    p.retired = true;
    if (p.busy === 0) p.agent.destroy();
    else {
      // idle sockets go now; busy ones close when their request is over (release)
      for (const list of Object.values(p.agent.freeSockets))
        for (const s of list ?? []) s.destroy();
    }
  }
}

export type { Pool as UpstreamPool };
