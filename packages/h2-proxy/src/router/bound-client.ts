/**
 * A client: the endpoints of one bound name (keyed by its id, e.g.
 * `/%/io.l5d.port/4141/#/io.l5d.fs/world`), kept current from the name's address Var and
 * balanced by the configured load balancer. Linkerd's per-client stats scope is
 * `rt/<router>/client/<id without leading slash>`.
 */
import type { Addr, Closable, NameBound } from "@l5d/dtab";
import type { UpstreamTls } from "./address.js";
import { Endpoint, type LoadBalancer } from "./load-balancer.js";

export class BoundClient {
  readonly idShow: string;
  #addr: Addr = { type: "pending" };
  #endpoints = new Map<string, Endpoint>();
  #waiters: Array<() => void> = [];
  #sub: Closable | undefined;
  lastUsed = Date.now();
  inflight = 0;

  constructor(
    readonly bound: NameBound,
    readonly balancer: LoadBalancer,
    private readonly onChange: () => void = () => {},
    /** The client's `connectTimeoutMs`, given to its endpoints (unset: the data plane's default). */
    private readonly connectTimeoutMs?: number | undefined,
    /** The client's TLS, given to its endpoints (unset: plaintext). */
    private readonly tls?: UpstreamTls | undefined,
  ) {
    this.idShow = bound.id.show;
    this.#sub = bound.addr.observe((a) => this.#update(a));
  }

  get addr(): Addr {
    return this.#addr;
  }

  get endpoints(): IterableIterator<Endpoint> {
    return this.#endpoints.values();
  }

  #update(addr: Addr): void {
    this.#addr = addr;
    if (addr.type === "bound") {
      const next = new Map<string, Endpoint>();
      for (const a of addr.addrs) {
        const key = `${a.host}:${a.port}`;
        const weight = a.weight ?? 1;
        const prev = this.#endpoints.get(key) ?? next.get(key);
        if (prev) {
          prev.weight = weight;
          next.set(key, prev);
        } else {
          const e = new Endpoint(a.host, a.port, weight, a.meta);
          e.connectTimeoutMs = this.connectTimeoutMs;
          e.tls = this.tls;
          next.set(key, e);
        }
      }
      this.#endpoints = next;
      this.balancer.update([...next.values()]);
    } else if (addr.type === "neg" || addr.type === "failed") {
      this.#endpoints = new Map();
      this.balancer.update([]);
    }
    if (addr.type !== "pending") {
      const w = this.#waiters;
      this.#waiters = [];
      for (const f of w) f();
    }
    this.onChange();
  }

  /** Waits (up to `timeoutMs`) until the address is known; returns it. */
  ready(timeoutMs: number): Promise<Addr> | Addr {
    if (this.#addr.type !== "pending") return this.#addr;
    return new Promise<Addr>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        resolve(this.#addr);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(this.#addr);
      };
      this.#waiters.push(done);
    });
  }

  close(): void {
    this.#sub?.close();
    this.#sub = undefined;
    this.#endpoints.clear();
    this.balancer.update([]);
  }
}
