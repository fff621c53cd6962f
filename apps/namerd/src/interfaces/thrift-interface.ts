/**
 * `io.l5d.thriftNameInterpreter` (default 127.0.0.1:4100): namerd's long-poll name interpreter
 * over ThriftMux, wire-compatible with Linkerd 1's (`ThriftNamerInterface`), so Linkerd 1
 * linkers (`io.l5d.namerd`) and ours can share one namerd. Mux framing and the namer IDL's
 * binary protocol come from @l5d/namerd-client's `thrift/` codec.
 *
 *   bind(BindReq)         the namespace's dtab ++ BindReq.dtab, binding `name`
 *   addr(AddrReq)         the addresses of a bound id (through the namers, not the dtab)
 *   dtab(DtabReq)         the namespace's stored dtab
 *   delegate(DelegateReq) the delegation explanation of one path (never long-polled)
 *
 * Long polls: every watched value has an observer that stamps each distinct value with a
 * fresh 8-byte stamp (a counter started at a random value, as Linkerd's LocalStamper). A
 * request whose stamp differs from the current one (an empty stamp included) is answered at
 * once; a request with the current stamp is held until the value changes (or the client
 * discards it). A binding that fails answers BindFailure / AddrFailure / DtabFailure with the
 * reason; a malformed request answers a TApplicationException (or the IDL failure naming the
 * problem), and the session carries on.
 *
 * Observers are cached per key, as Linkerd's ObserverCache: at most `*CacheActive` keys with
 * requests held at once (more are refused with BindFailure / AddrFailure), and up to
 * `*CacheInactive` idle ones kept warm for `*CacheInactiveTTLSecs`.
 */
import { readFileSync } from "node:fs";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { type PluginFactory, pluginCommonShape, port, positiveInt } from "@l5d/config";
import {
  type Activity,
  type ActivityState,
  type Addr,
  type Closable,
  Dtab,
  type NameBound,
  type NameTree,
  type Path,
} from "@l5d/dtab";
import { thrift } from "@l5d/namerd-client";
import { z } from "zod";
import type { Namespaces } from "../namespaces.js";
import { NAMESPACE_RE } from "../storage/dtab-store.js";
import { listenOn } from "./listen.js";
import type { InterfaceContext, ListeningInterface, NamerdInterface } from "./namerd-interface.js";
import { interfaceTlsSchema } from "./server-tls.js";

/** Linkers (and other clients) connected at once; more are refused until one leaves. */
export const THRIFT_MAX_CONNECTIONS = 1_000;

export const THRIFT_INTERFACE_PORT = 4100;

const cacheShape = {
  bindingCacheActive: positiveInt().default(1000),
  bindingCacheInactive: positiveInt().default(100),
  bindingCacheInactiveTTLSecs: positiveInt().default(600),
  addrCacheActive: positiveInt().default(1000),
  addrCacheInactive: positiveInt().default(100),
  addrCacheInactiveTTLSecs: positiveInt().default(600),
};

export const thriftInterfaceSchema = z.strictObject({
  ...pluginCommonShape,
  kind: z.literal("io.l5d.thriftNameInterpreter"),
  /** Linkerd's default is the loopback address; `0.0.0.0` serves every IPv4 interface. */
  ip: z.string().default("127.0.0.1"),
  port: port().default(THRIFT_INTERFACE_PORT),
  /** Ours: connections at once; more are refused until one leaves. */
  maxConnections: positiveInt().default(THRIFT_MAX_CONNECTIONS),
  /** Linkerd's socket options: `noDelay` and `keepAlive` apply; the others are accepted. */
  socketOptions: z.looseObject({}).optional(),
  /** Linkerd's server TLS (the whole session over TLS, as Finagle's non-opportunistic TLS). */
  tls: interfaceTlsSchema.optional(),
  cache: z.strictObject(cacheShape).prefault({}),
});
export type ThriftInterfaceConfig = z.infer<typeof thriftInterfaceSchema>;

export const thriftInterfaceFactory: PluginFactory<ThriftInterfaceConfig, NamerdInterface> = {
  kind: "io.l5d.thriftNameInterpreter",
  schema: thriftInterfaceSchema,
  make: (config) => ({ kind: config.kind, listen: (ctx) => listenThrift(config, ctx) }),
};

// ---------------------------------------------------------------------------------------------
// stamps and observers

/** Stamps unique to this namerd: an 8-byte big-endian counter from a random start. */
class Stamper {
  #next = BigInt.asUintN(64, BigInt(Math.floor(Math.random() * 2 ** 53)) << 11n);

  stamp(): Buffer {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(this.#next);
    this.#next = BigInt.asUintN(64, this.#next + 1n);
    return b;
  }
}

type Observation<T> =
  | { readonly stamp: Buffer; readonly ok: T; readonly print: Buffer }
  | { readonly stamp: Buffer; readonly error: Error; readonly print: Buffer };

/** What one value of the source becomes: a result to stamp, or nothing yet (pending). */
type Settled<T> = { readonly ok: T; readonly print: Buffer } | { readonly error: Error } | null;

class MaximumObservationsReached extends Error {
  constructor(max: number) {
    super(`The maximum number of concurrent observations has been reached (${max})`);
  }
}

/** One watched value, stamped per distinct value; requests wait on it by stamp. */
class StampedObserver<S, T> {
  #current: Observation<T> | undefined;
  readonly #waiters = new Set<(o: Observation<T>) => void>();
  readonly #sub: Closable;

  constructor(
    source: Activity<S>,
    settle: (s: ActivityState<S>) => Settled<T>,
    readonly stamper: Stamper,
    readonly onWaiters: (delta: 1 | -1) => void,
  ) {
    this.#sub = source.observe((s) => {
      let v: Settled<T>;
      try {
        v = settle(s);
      } catch (e) {
        v = { error: e instanceof Error ? e : new Error(String(e)) };
      }
      if (v !== null) this.#update(v);
    });
  }

  #update(v: Exclude<Settled<T>, null>): void {
    const print = "ok" in v ? v.print : Buffer.from(`error:${v.error.message}`, "utf8");
    if (this.#current?.print.equals(print)) return;
    const stamp = this.stamper.stamp();
    const obs: Observation<T> =
      "ok" in v ? { stamp, ok: v.ok, print } : { stamp, error: v.error, print };
    this.#current = obs;
    const waiting = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiting) w(obs);
  }

  /** The current value unless the caller already has it (same stamp); else the next one. */
  next(stamp: Buffer, signal: AbortSignal): Promise<Observation<T>> {
    const cur = this.#current;
    if (cur && !cur.stamp.equals(stamp)) return Promise.resolve(cur);
    return new Promise<Observation<T>>((resolve, reject) => {
      const waiter = (o: Observation<T>) => {
        signal.removeEventListener("abort", onAbort);
        this.onWaiters(-1);
        resolve(o);
      };
      const onAbort = () => {
        if (!this.#waiters.delete(waiter)) return;
        this.onWaiters(-1);
        reject(signal.reason instanceof Error ? signal.reason : new Error("discarded"));
      };
      this.#waiters.add(waiter);
      this.onWaiters(1);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  close(): void {
    this.#sub.close();
  }
}

/**
 * Linkerd's ObserverCache: observers with requests waiting on them are active (at most
 * `activeCapacity` keys); idle ones stay open, least recently used first out, up to
 * `inactiveCapacity`, and for at most `inactiveTtlMs`.
 */
class ObserverCache<S, T> {
  /** Least recently used first; `waiting` counts the requests held on the observer. */
  readonly #entries = new Map<
    string,
    { obs: StampedObserver<S, T>; waiting: number; idleSince: number }
  >();
  #active = 0;

  constructor(
    readonly activeCapacity: number,
    readonly inactiveCapacity: number,
    readonly inactiveTtlMs: number,
  ) {}

  /** The observer of `key`, made by `make` if there is none. */
  get(
    key: string,
    make: (onWaiters: (delta: 1 | -1) => void) => StampedObserver<S, T>,
  ): StampedObserver<S, T> {
    const e = this.#entries.get(key);
    if (e) {
      this.#entries.delete(key);
      this.#entries.set(key, e);
      if (e.waiting === 0 && this.#active >= this.activeCapacity)
        throw new MaximumObservationsReached(this.activeCapacity);
      return e.obs;
    }
    if (this.#active >= this.activeCapacity)
      throw new MaximumObservationsReached(this.activeCapacity);
    const entry = {
      obs: undefined as unknown as StampedObserver<S, T>,
      waiting: 0,
      idleSince: Date.now(),
    };
    entry.obs = make((delta) => {
      entry.waiting += delta;
      if (delta === 1 && entry.waiting === 1) this.#active++;
      else if (delta === -1 && entry.waiting === 0) {
        this.#active--;
        entry.idleSince = Date.now();
        this.#trim();
      }
    });
    this.#entries.set(key, entry);
    this.#trim();
    return entry.obs;
  }

  /** Closes idle observers beyond the inactive capacity (oldest first) or past their TTL. */
  #trim(now = Date.now()): void {
    let idle = 0;
    for (const e of this.#entries.values()) if (e.waiting === 0) idle++;
    for (const [k, e] of this.#entries) {
      if (e.waiting > 0) continue;
      if (idle > this.inactiveCapacity || now - e.idleSince > this.inactiveTtlMs) {
        this.#entries.delete(k);
        e.obs.close();
        idle--;
      }
    }
  }

  /** Keys with requests held on them. */
  get active(): number {
    return this.#active;
  }

  sweep(): void {
    this.#trim();
  }

  /** Keys observed, active and idle. */
  get size(): number {
    return this.#entries.size;
  }

  close(): void {
    for (const e of this.#entries.values()) e.obs.close();
    this.#entries.clear();
    this.#active = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// the Namer service

const idl = thrift;
const { PROTOCOL_ERROR, UNKNOWN_METHOD, INTERNAL_ERROR } = idl.TApplicationExceptionType;
/** Linkerd's answer stamp for delegate (any non-empty value: clients ignore it). */
const STAMP_ONE = Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]);

function namespaceProblem(ns: string): string | undefined {
  return NAMESPACE_RE.test(ns)
    ? undefined
    : `invalid namespace '${ns}': letters, digits, _ . - only`;
}

function readDtab(text: string): Dtab {
  try {
    return Dtab.read(text);
  } catch (e) {
    throw new RequestError(`invalid dtab: ${(e as Error).message}`);
  }
}

/** A request namerd will not serve: answered with the method's IDL failure. */
class RequestError extends Error {}

class NamerService {
  readonly #stamper = new Stamper();
  readonly #binds: ObserverCache<NameTree<NameBound>, thrift.BoundTree>;
  readonly #addrs: ObserverCache<Addr, thrift.AddrVal>;
  readonly #dtabs: ObserverCache<Dtab, string>;

  constructor(
    readonly namespaces: Namespaces,
    cache: ThriftInterfaceConfig["cache"],
  ) {
    this.#binds = new ObserverCache(
      cache.bindingCacheActive,
      cache.bindingCacheInactive,
      cache.bindingCacheInactiveTTLSecs * 1000,
    );
    this.#addrs = new ObserverCache(
      cache.addrCacheActive,
      cache.addrCacheInactive,
      cache.addrCacheInactiveTTLSecs * 1000,
    );
    // Linkerd keeps 10 active and 1 inactive dtab observers; a namespace each is plenty
    this.#dtabs = new ObserverCache(100, 10, 600_000);
  }

  #observeBind(ns: string, path: Path, local: Dtab) {
    return (onWaiters: (delta: 1 | -1) => void) =>
      new StampedObserver<NameTree<NameBound>, thrift.BoundTree>(
        this.namespaces.bind(ns, path, local),
        (s) => {
          if (s.kind === "pending") return null;
          if (s.kind === "failed") return { error: s.error };
          const tree = idl.boundTreeToThrift(s.value);
          const w = new idl.ThriftWriter();
          idl.writeBound(w, { stamp: Buffer.alloc(0), tree, ns: "" });
          return { ok: tree, print: Buffer.from(w.bytes()) };
        },
        this.#stamper,
        onWaiters,
      );
  }

  #observeAddr(id: Path) {
    return (onWaiters: (delta: 1 | -1) => void) =>
      new StampedObserver<Addr, thrift.AddrVal>(
        this.namespaces.addr(id),
        (s) => {
          if (s.kind === "pending") return null;
          if (s.kind === "failed") return { error: s.error };
          const a = s.value;
          if (a.type === "pending") return null;
          if (a.type === "failed") return { error: a.cause };
          const v = idl.addrToThrift(a);
          const w = new idl.ThriftWriter();
          idl.writeAddrVal(w, v);
          return { ok: v, print: Buffer.from(w.bytes()) };
        },
        this.#stamper,
        onWaiters,
      );
  }

  #observeDtab(ns: string) {
    return (onWaiters: (delta: 1 | -1) => void) =>
      new StampedObserver<Dtab, string>(
        this.namespaces.dtab(ns),
        (s) => {
          if (s.kind === "pending") return null;
          if (s.kind === "failed") return { error: s.error };
          const text = s.value.show;
          return { ok: text, print: Buffer.from(text, "utf8") };
        },
        this.#stamper,
        onWaiters,
      );
  }

  sweep(): void {
    this.#binds.sweep();
    this.#addrs.sweep();
    this.#dtabs.sweep();
  }

  close(): void {
    this.#binds.close();
    this.#addrs.close();
    this.#dtabs.close();
  }

  /** Answers one ThriftMux request body with a thrift reply body. */
  async handle(body: Buffer, signal: AbortSignal): Promise<Buffer> {
    let head: ReturnType<typeof idl.readCallHeader>;
    try {
      head = idl.readCallHeader(body);
    } catch (e) {
      return idl.encodeApplicationException(
        "",
        0,
        PROTOCOL_ERROR,
        `malformed thrift message: ${(e as Error).message}`,
      );
    }
    const { header, reader } = head;
    if (!idl.namerMethod(header.name))
      return idl.encodeApplicationException(
        header.name,
        header.seqid,
        UNKNOWN_METHOD,
        `Invalid method name: '${header.name}'`,
      );
    let call: thrift.DecodedCall;
    try {
      call = idl.readCallArgs(header, reader);
    } catch (e) {
      return idl.encodeApplicationException(
        header.name,
        header.seqid,
        PROTOCOL_ERROR,
        `malformed ${header.name} request: ${(e as Error).message}`,
      );
    }
    try {
      switch (call.method) {
        case "bind":
          return idl.encodeReply(idl.bindMethod, call.seqid, await this.#bind(call.req, signal));
        case "addr":
          return idl.encodeReply(idl.addrMethod, call.seqid, await this.#addr(call.req, signal));
        case "dtab":
          return idl.encodeReply(idl.dtabMethod, call.seqid, await this.#dtab(call.req, signal));
        case "delegate":
          return idl.encodeReply(
            idl.delegateMethod,
            call.seqid,
            await this.#delegate(call.req, signal),
          );
      }
    } catch (e) {
      if (signal.aborted) throw e;
      return idl.encodeApplicationException(
        header.name,
        header.seqid,
        INTERNAL_ERROR,
        (e as Error).message || String(e),
      );
    }
  }

  async #bind(
    req: thrift.BindReq,
    signal: AbortSignal,
  ): Promise<{ ok: thrift.Bound } | { failure: thrift.BindFailure }> {
    const { ns, name: path, stamp } = req.name;
    const fail = (reason: string) => ({
      failure: { reason, retryInSeconds: 0, name: req.name, ns },
    });
    const bad = namespaceProblem(ns);
    if (bad) return fail(bad);
    if (path.isEmpty) return fail("empty path");
    let local: Dtab;
    try {
      local = readDtab(req.dtab);
    } catch (e) {
      return fail((e as Error).message);
    }
    let obs: StampedObserver<NameTree<NameBound>, thrift.BoundTree>;
    try {
      obs = this.#binds.get(
        `${ns}\n${local.show}\n${path.show}`,
        this.#observeBind(ns, path, local),
      );
    } catch (e) {
      return fail((e as Error).message);
    }
    const o = await obs.next(stamp, signal);
    return "ok" in o ? { ok: { stamp: o.stamp, tree: o.ok, ns } } : fail(o.error.message);
  }

  async #addr(
    req: thrift.AddrReq,
    signal: AbortSignal,
  ): Promise<{ ok: thrift.ThriftAddr } | { failure: thrift.AddrFailure }> {
    const fail = (reason: string) => ({ failure: { reason, retryInSeconds: 0, name: req.name } });
    const id = req.name.name;
    if (id.isEmpty) return fail("empty path");
    let obs: StampedObserver<Addr, thrift.AddrVal>;
    try {
      obs = this.#addrs.get(id.show, this.#observeAddr(id));
    } catch (e) {
      return fail((e as Error).message);
    }
    const o = await obs.next(req.name.stamp, signal);
    return "ok" in o ? { ok: { stamp: o.stamp, value: o.ok } } : fail(o.error.message);
  }

  async #dtab(
    req: thrift.DtabReq,
    signal: AbortSignal,
  ): Promise<{ ok: thrift.DtabRef } | { failure: thrift.DtabFailure }> {
    const bad = namespaceProblem(req.ns);
    if (bad) return { failure: { reason: bad } };
    let obs: StampedObserver<Dtab, string>;
    try {
      obs = this.#dtabs.get(req.ns, this.#observeDtab(req.ns));
    } catch (e) {
      return { failure: { reason: (e as Error).message } };
    }
    const o = await obs.next(req.stamp, signal);
    return "ok" in o
      ? { ok: { stamp: o.stamp, dtab: o.ok } }
      : { failure: { reason: o.error.message } };
  }

  async #delegate(
    req: thrift.DelegateReq,
    signal: AbortSignal,
  ): Promise<{ ok: thrift.Delegation } | { failure: thrift.DelegationFailure }> {
    const ns = req.delegation.ns;
    if (req.delegation.stamp.length > 0) {
      // Linkerd: an old long-polling client's second request is never answered, so it keeps
      // the first explanation; it is held until the client discards it
      await new Promise<never>((_, reject) => {
        if (signal.aborted) reject(new Error("discarded"));
        signal.addEventListener("abort", () => reject(new Error("discarded")), { once: true });
      });
    }
    const bad = namespaceProblem(ns);
    if (bad) return { failure: { reason: bad } };
    let local: Dtab;
    let path: Path;
    try {
      local = readDtab(req.dtab);
      path = idl.delegateRequestPath(req.delegation.tree);
    } catch (e) {
      return { failure: { reason: (e as Error).message } };
    }
    try {
      const tree = await this.namespaces.delegate(ns, path, local);
      return { ok: { stamp: STAMP_ONE, tree: idl.delegateTreeToThrift(tree), ns } };
    } catch (e) {
      return { failure: { reason: (e as Error).message } };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// the server

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`tls.${what}: cannot read ${path}: ${(e as Error).message}`);
  }
}

async function listenThrift(
  config: ThriftInterfaceConfig,
  ctx: InterfaceContext,
): Promise<ListeningInterface> {
  const service = new NamerService(ctx.namespaces, config.cache);
  const sessions = new Set<thrift.MuxServerSession>();
  const opts = config.socketOptions ?? {};
  const onSocket = (socket: Socket) => {
    socket.setNoDelay(opts.noDelay !== false);
    // a linker that vanished without a FIN must not hold its long polls forever
    socket.setKeepAlive(opts.keepAlive !== false, 30_000);
    const session: thrift.MuxServerSession = new thrift.MuxServerSession(
      socket,
      (req, signal) => service.handle(req.body, signal),
      {
        onClose: (cause) => {
          sessions.delete(session);
          if (cause && !(cause as NodeJS.ErrnoException).code)
            ctx.log.debug({ peer: session.remote, err: cause.message }, "thrift session closed");
        },
      },
    );
    sessions.add(session);
  };
  const tls = config.tls;
  const server: Server = tls
    ? createTlsServer(
        {
          cert: readPem(tls.certPath, "certPath"),
          key: readPem(tls.keyPath, "keyPath"),
          ...(tls.caCertPath ? { ca: readPem(tls.caCertPath, "caCertPath") } : {}),
          requestCert: tls.requireClientAuth,
          rejectUnauthorized: tls.requireClientAuth,
        },
        onSocket,
      )
    : createNetServer(onSocket);
  // each connection may hold one frame in assembly (at most 16 MiB): a bounded number of them
  server.maxConnections = config.maxConnections;
  // a failed TLS handshake is the client's problem, not the server's
  server.on("tlsClientError", (e: Error) => ctx.log.debug({ err: e.message }, "thrift TLS error"));
  const a = await listenOn(server, config.port, config.ip);
  const sweeper = setInterval(() => service.sweep(), 60_000);
  sweeper.unref();
  ctx.log.info({ ip: a.address, port: a.port }, "namerd thrift interface listening");
  let closing: Promise<void> | undefined;
  return {
    host: a.address,
    port: a.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(sweeper);
        server.close(() => resolve());
        for (const s of [...sessions]) s.close();
        service.close();
      });
      return closing;
    },
  };
}
