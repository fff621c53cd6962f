/**
 * One `io.l5d.mesh` interpreter's connection to namerd: a grpc-js channel (h2c, or TLS) shared
 * by the Interpreter, Resolver and Delegator clients, dialled at the address `dst` binds to.
 * After a connection failure `dst` is bound again on the next attempt, so a namerd that moves
 * is followed. Streams waiting to retry are woken as soon as the channel is READY again, so
 * updates resume when namerd comes back instead of after a long backoff. Also keeps what the
 * admin page shows (connected, last error, last update).
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  connectivityState,
  credentials as grpcCredentials,
} from "@grpc/grpc-js";
import type { Path } from "@l5d/dtab";
import { mesh } from "@l5d/proto";
import { NamerdClientStatus } from "./namerd-client-status.js";
import { resolveNamerd } from "./namerd-dst.js";

export interface MeshClients {
  readonly interpreter: mesh.InterpreterClient;
  readonly resolver: mesh.ResolverClient;
  readonly delegator: mesh.DelegatorClient;
  /** `host:port` dialled. */
  readonly address: string;
}

export interface MeshConnectionOptions {
  readonly dst: Path;
  /** The namespace the interpreter asks about (for the admin page). */
  readonly namespace: string;
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
  readonly credentials?: ChannelCredentials;
  readonly channelOptions?: ChannelOptions;
}

/** How often a waiting retry re-checks the channel (it also asks the channel to connect). */
const READY_POLL_MS = 1_000;

export class MeshConnection extends NamerdClientStatus {
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
  readonly #credentials: ChannelCredentials;
  readonly #channelOptions: ChannelOptions;
  #clients: MeshClients | undefined;
  #dialling: Promise<MeshClients> | undefined;
  /** A connection failure since the last dial: bind `dst` again before the next call. */
  #stale = false;
  #closed = false;
  readonly #readyWaiters = new Set<() => void>();
  #watching = false;

  constructor(opts: MeshConnectionOptions) {
    super(opts.dst, opts.namespace);
    this.retry = opts.retry;
    this.#credentials = opts.credentials ?? grpcCredentials.createInsecure();
    this.#channelOptions = opts.channelOptions ?? {};
  }

  /** The clients, dialling namerd first if needed; rejects with an error naming namerd. */
  clients(): Promise<MeshClients> {
    if (this.#closed) return Promise.reject(new Error("the io.l5d.mesh interpreter is closed"));
    if (this.#clients && !this.#stale) return Promise.resolve(this.#clients);
    this.#dialling ??= this.#dial().finally(() => {
      this.#dialling = undefined;
    });
    return this.#dialling;
  }

  async #dial(): Promise<MeshClients> {
    let host: string;
    let port: number;
    try {
      ({ host, port } = await resolveNamerd(this.dst));
    } catch (e) {
      // a name service hiccup: the channel we have may still reach namerd
      if (this.#clients) return this.#clients;
      throw e;
    }
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    this.#stale = false;
    if (this.#closed) throw new Error("the io.l5d.mesh interpreter is closed");
    if (this.#clients?.address === address) return this.#clients;
    this.#closeChannel();
    const target = host.includes(":") ? `ipv6:${address}` : `ipv4:${address}`;
    const interpreter = new mesh.InterpreterClient(target, this.#credentials, this.#channelOptions);
    const shared = { ...this.#channelOptions, channelOverride: interpreter.getChannel() };
    this.#clients = {
      interpreter,
      resolver: new mesh.ResolverClient(target, this.#credentials, shared),
      delegator: new mesh.DelegatorClient(target, this.#credentials, shared),
      address,
    };
    this.address = address;
    this.#watchReady();
    return this.#clients;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A message from namerd arrived. */
  answered(): void {
    this.connected = true;
    this.lastError = undefined;
    this.lastUpdate = Date.now();
  }

  /** namerd could not be reached, or a stream to it broke. */
  lost(cause: string): void {
    this.connected = false;
    this.lastError = cause;
    this.reconnects++;
    this.#stale = true;
  }

  /** `f` runs once when the channel next becomes READY (not if it is READY now). */
  whenReady(f: () => void): () => void {
    this.#readyWaiters.add(f);
    this.#watchReady();
    return () => this.#readyWaiters.delete(f);
  }

  #watchReady(): void {
    const clients = this.#clients;
    if (this.#watching || !clients || this.#readyWaiters.size === 0) return;
    this.#watching = true;
    const channel = clients.interpreter.getChannel();
    let last = connectivityState.READY;
    const step = () => {
      if (this.#closed || this.#clients !== clients || this.#readyWaiters.size === 0) {
        this.#watching = false;
        return;
      }
      let now: connectivityState;
      try {
        // asking also makes an idle channel connect
        now = channel.getConnectivityState(true);
      } catch {
        this.#watching = false;
        return;
      }
      if (now === connectivityState.READY && last !== connectivityState.READY) {
        const waiters = [...this.#readyWaiters];
        this.#readyWaiters.clear();
        for (const w of waiters) w();
      }
      last = now;
      try {
        channel.watchConnectivityState(now, Date.now() + READY_POLL_MS, step);
      } catch {
        this.#watching = false;
      }
    };
    // the state at registration is taken as READY: only a change back to READY wakes waiters
    step();
  }

  #closeChannel(): void {
    const c = this.#clients;
    this.#clients = undefined;
    if (!c) return;
    // the three clients share the interpreter's channel: closing it once closes them all
    (c.interpreter as Client).close();
  }

  close(): void {
    this.#closed = true;
    this.#readyWaiters.clear();
    this.#closeChannel();
  }
}
