/**
 * The h2 router: identify → per-request dtab → bind (cached) → pick a union branch → pick an
 * endpoint of that bound name → forward with Linkerd's headers, counting everything under
 * Linkerd's metric names. Failures are answered locally with a message that says which router,
 * which name and why (Linkerd 1 answered REFUSED_STREAM; we explain).
 */
import { randomBytes } from "node:crypto";
import type { Dtab, NameBound, NameInterpreter, NameTree, Path } from "@l5d/dtab";

import type { Histogram } from "../metrics/histogram.js";
import { type Counter, type MetricsRegistry, scopeOf } from "../metrics/metrics-registry.js";
import { BindingCache } from "./binding-cache.js";
import { BoundClient } from "./bound-client.js";
import { readLocalDtab, USER_DTAB } from "./dtab-headers.js";
import { GrpcStatus } from "../dataplane/errors.js";
import type { Identifier } from "./identifier.js";
import type { Endpoint, LoadBalancer } from "./load-balancer.js";
import { nonRetryable5XX, type ResponseClass, type ResponseClassifier } from "./response-classifier.js";
import type { ForwardOutcome, LocalError, RoutableRequest } from "./routable-request.js";

export interface RouterLogger {
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface RouterOptions {
  readonly label: string;
  readonly baseDtab: Dtab;
  readonly identifier: Identifier;
  readonly interpreter: NameInterpreter;
  /** The balancer for a new client; gets the client id (per-client `io.l5d.static` configs). */
  readonly loadBalancer: (clientId: Path) => LoadBalancer;
  readonly metrics: MetricsRegistry;
  /** Linkerd `bindingTimeoutMs` (10 s). */
  readonly bindingTimeoutMs?: number;
  /** Linkerd `bindingCache.idleTtlSecs` (600 s), in ms. */
  readonly idleTtlMs?: number;
  /** Linkerd `bindingCache.trees`/`clients` (1000). */
  readonly cacheCapacity?: number;
  readonly classifier?: ResponseClassifier;
  readonly log?: RouterLogger;
  /** Called with every endpoint any client uses, when that set changes (to drain the others). */
  readonly onEndpointsChanged?: (inUse: readonly Endpoint[]) => void;
  /** Called after each request (recent-requests telemeter, tracing). */
  readonly onRequestDone?: (r: RequestRecord) => void;
}

export interface RequestRecord {
  readonly router: string;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly service?: string;
  readonly client?: string;
  readonly endpoint?: string;
  readonly status?: number;
  readonly grpcStatus?: number;
  readonly error?: string;
  readonly durationMs: number;
  readonly at: number;
}

interface ScopeStats {
  requests: Counter;
  success: Counter;
  failures: Counter;
  latency: Histogram;
}

/** Per-server stats (`rt/<router>/server/<ip>/<port>`), created by the daemon per listener. */
export class ServerScope {
  readonly stats: ScopeStats;
  constructor(metrics: MetricsRegistry, label: string, ip: string, port: number) {
    this.stats = scopeStats(metrics, `rt/${label}/server/${ip}/${port}`);
  }
}

function scopeStats(m: MetricsRegistry, scope: string): ScopeStats {
  return {
    requests: m.counter(`${scope}/requests`),
    success: m.counter(`${scope}/success`),
    failures: m.counter(`${scope}/failures`),
    latency: m.histogram(`${scope}/request_latency_ms`),
  };
}

class RouteError extends Error {
  constructor(readonly local: LocalError) {
    super(local.message);
  }
}

const REQID_POOL_SIZE = 4096;

export class H2Router {
  readonly label: string;
  readonly bindings: BindingCache;
  readonly #clients = new Map<string, BoundClient>();
  readonly #services = new Map<string, ScopeStats>();
  readonly #clientStats = new Map<string, ScopeStats>();
  readonly #classifier: ResponseClassifier;
  readonly #bindingTimeoutMs: number;
  readonly #idleTtlMs: number;
  readonly #sweep: NodeJS.Timeout;
  #reqIds = randomBytes(8 * REQID_POOL_SIZE);
  #reqIdNext = 0;

  constructor(private readonly opts: RouterOptions) {
    this.label = opts.label;
    this.#bindingTimeoutMs = opts.bindingTimeoutMs ?? 10_000;
    this.#idleTtlMs = opts.idleTtlMs ?? 600_000;
    this.#classifier = opts.classifier ?? nonRetryable5XX;
    this.bindings = new BindingCache(opts.interpreter, {
      timeoutMs: this.#bindingTimeoutMs,
      idleTtlMs: this.#idleTtlMs,
      capacity: opts.cacheCapacity ?? 1000,
    });
    this.#sweep = setInterval(() => this.sweepClients(), Math.min(this.#idleTtlMs, 30_000));
    this.#sweep.unref();
  }

  get baseDtab(): Dtab {
    return this.opts.baseDtab;
  }

  get interpreter(): NameInterpreter {
    return this.opts.interpreter;
  }

  /** Routes one request. Never throws: every failure is answered on the request. */
  handle(req: RoutableRequest, server: ServerScope): void {
    const t0 = performance.now();
    server.stats.requests.incr();
    this.#route(req).then(
      (r) => this.#finish(req, server, t0, r.outcome, r.service, r.client, r.endpoint),
      (e: unknown) => {
        const local =
          e instanceof RouteError
            ? e.local
            : { grpcStatus: GrpcStatus.INTERNAL, httpStatus: 502, message: `[${this.label}] ${String(e)}` };
        try {
          req.respondError(local);
        } catch {
          // the client is gone; nothing to answer
        }
        this.#finish(req, server, t0, { error: new Error(local.message), status: local.httpStatus }, undefined, undefined, undefined);
      },
    );
  }

  async #route(
    req: RoutableRequest,
  ): Promise<{ outcome: ForwardOutcome; service: ScopeStats; client: ScopeStats; endpoint: Endpoint }> {
    const headers = req.headers;
    let local: Dtab;
    try {
      local = readLocalDtab(headers);
    } catch (e) {
      throw this.#err(GrpcStatus.INVALID_ARGUMENT, 400, `invalid l5d-dtab header: ${(e as Error).message}`);
    }
    let name: Path;
    try {
      const id = this.opts.identifier.identify(headers);
      if (id.kind !== "ok") {
        throw this.#err(
          GrpcStatus.INVALID_ARGUMENT,
          400,
          `Unknown destination: ${headers[":method"]} ${headers[":path"]} / ${id.reason}`,
        );
      }
      name = id.name;
    } catch (e) {
      if (e instanceof RouteError) throw e;
      throw this.#err(GrpcStatus.INVALID_ARGUMENT, 400, `cannot identify request: ${(e as Error).message}`);
    }
    const dtab = local.dentries.length === 0 ? this.opts.baseDtab : this.opts.baseDtab.concat(local);
    let tree: NameTree<NameBound>;
    try {
      const t = this.bindings.bind(dtab, name);
      tree = t instanceof Promise ? await t : t;
    } catch (e) {
      throw this.#err(GrpcStatus.UNAVAILABLE, 502, `cannot bind ${name.show}: ${(e as Error).message}${this.#dtabs(local)}`);
    }
    const service = this.#serviceStats(name.show);
    service.requests.incr();
    const bound = pickLeaf(tree);
    if (!bound) {
      throw this.#err(GrpcStatus.UNAVAILABLE, 502, `no route: ${name.show} ${this.#whyNoRoute(tree, dtab, name)}${this.#dtabs(local)}`);
    }
    const client = this.#client(bound);
    client.lastUsed = Date.now();
    const cstats = this.#clientScope(client.idShow);
    cstats.requests.incr();
    let endpoint = client.balancer.pick();
    if (!endpoint) {
      const addr = await client.ready(this.#bindingTimeoutMs);
      endpoint = client.balancer.pick();
      if (!endpoint) {
        const why =
          addr.type === "neg"
            ? "the name is negative"
            : addr.type === "failed"
              ? `address lookup failed: ${addr.cause.message}`
              : addr.type === "pending"
                ? `addresses still pending after ${this.#bindingTimeoutMs} ms`
                : "no endpoints";
        cstats.failures.incr();
        service.failures.incr();
        throw this.#err(GrpcStatus.UNAVAILABLE, 502, `no hosts available for ${client.idShow} (${name.show}): ${why}`);
      }
    }
    const set: Record<string, string> = {
      "l5d-dst-service": name.show,
      "l5d-dst-client": client.idShow,
      "l5d-reqid": this.#reqId(),
    };
    if (!bound.residual.isEmpty) set["l5d-dst-residual"] = bound.residual.show;
    if (local.dentries.length > 0) set["l5d-ctx-dtab"] = local.show;
    endpoint.inflight++;
    client.inflight++;
    try {
      const outcome = await req.forward(endpoint, { set, remove: REMOVE_HEADERS });
      return { outcome, service, client: cstats, endpoint };
    } finally {
      endpoint.inflight--;
      client.inflight--;
    }
  }

  #finish(
    req: RoutableRequest,
    server: ServerScope,
    t0: number,
    outcome: ForwardOutcome,
    service: ScopeStats | undefined,
    client: ScopeStats | undefined,
    endpoint: Endpoint | undefined,
  ): void {
    const ms = performance.now() - t0;
    const cls: ResponseClass = this.#classifier.classify(outcome, req.headers);
    const ok = cls === "success";
    for (const s of [server.stats, service, client]) {
      if (!s) continue;
      if (ok) s.success.incr();
      else s.failures.incr();
      s.latency.add(ms);
    }
    if (endpoint && this.opts.log && outcome.error) {
      this.opts.log.debug({ router: this.label, endpoint: endpoint.key, err: outcome.error.message }, "request failed");
    }
    const done = this.opts.onRequestDone;
    if (done) {
      const h = req.headers;
      done({
        router: this.label,
        method: String(h[":method"] ?? ""),
        path: String(h[":path"] ?? ""),
        authority: String(h[":authority"] ?? h.host ?? ""),
        ...(endpoint ? { endpoint: endpoint.key } : {}),
        ...(outcome.status !== undefined ? { status: outcome.status } : {}),
        ...(outcome.grpcStatus !== undefined ? { grpcStatus: outcome.grpcStatus } : {}),
        ...(outcome.error ? { error: outcome.error.message } : {}),
        durationMs: ms,
        at: Date.now(),
      });
    }
  }

  #err(grpcStatus: number, httpStatus: number, message: string): RouteError {
    return new RouteError({ grpcStatus, httpStatus, message: `[${this.label}] ${message}` });
  }

  #dtabs(local: Dtab): string {
    return local.dentries.length > 0 ? ` (override dtab: ${local.show})` : "";
  }

  #whyNoRoute(tree: NameTree<NameBound>, dtab: Dtab, name: Path): string {
    if (tree.type === "fail") return "delegated to ! (a dentry failed it)";
    if (tree.type === "empty") return "delegated to $ (an empty name set)";
    if (tree.type === "neg") {
      const first = dtab.lookup(name);
      return first.type === "neg"
        ? "delegated to ~ (no dentry matched)"
        : "delegated to ~ (every alternative was negative)";
    }
    return "no bound branch was chosen";
  }

  #reqId(): string {
    if (this.#reqIdNext >= REQID_POOL_SIZE) {
      this.#reqIds = randomBytes(8 * REQID_POOL_SIZE);
      this.#reqIdNext = 0;
    }
    const i = this.#reqIdNext++ * 8;
    return this.#reqIds.toString("hex", i, i + 8);
  }

  #client(bound: NameBound): BoundClient {
    const key = bound.id.show;
    let c = this.#clients.get(key);
    if (!c) {
      c = new BoundClient(bound, this.opts.loadBalancer(bound.id), () => this.#endpointsChanged());
      this.#clients.set(key, c);
      const client = c;
      const scope = `rt/${this.label}/client/${scopeOf(key)}`;
      this.opts.metrics.gauge(`${scope}/inflight`, () => client.inflight);
      this.opts.metrics.gauge(`${scope}/endpoints`, () => {
        let n = 0;
        for (const _ of client.endpoints) n++;
        return n;
      });
    }
    return c;
  }

  #serviceStats(nameShow: string): ScopeStats {
    let s = this.#services.get(nameShow);
    if (!s) {
      s = scopeStats(this.opts.metrics, `rt/${this.label}/service/${scopeOf(nameShow)}`);
      this.#services.set(nameShow, s);
    }
    return s;
  }

  #clientScope(idShow: string): ScopeStats {
    let s = this.#clientStats.get(idShow);
    if (!s) {
      s = scopeStats(this.opts.metrics, `rt/${this.label}/client/${scopeOf(idShow)}`);
      this.#clientStats.set(idShow, s);
    }
    return s;
  }

  #endpointsChanged(): void {
    const f = this.opts.onEndpointsChanged;
    if (f) f(this.endpointsInUse());
  }

  /** Every endpoint any client of this router currently balances over (one per `host:port`). */
  endpointsInUse(): Endpoint[] {
    const byKey = new Map<string, Endpoint>();
    for (const c of this.#clients.values()) for (const e of c.endpoints) byKey.set(e.key, e);
    return [...byKey.values()];
  }

  /** The clients (bound ids) with their endpoints, for admin pages. */
  clients(): Array<{ id: string; addr: string; endpoints: Array<{ key: string; inflight: number; weight: number; available: boolean }> }> {
    return [...this.#clients.values()].map((c) => ({
      id: c.idShow,
      addr: c.addr.type,
      endpoints: [...c.endpoints].map((e) => ({ key: e.key, inflight: e.inflight, weight: e.weight, available: e.available })),
    }));
  }

  /** Closes clients idle for longer than the idle TTL. */
  sweepClients(now = Date.now()): void {
    let changed = false;
    for (const [k, c] of this.#clients) {
      if (c.inflight === 0 && now - c.lastUsed > this.#idleTtlMs) {
        c.close();
        this.#clients.delete(k);
        changed = true;
      }
    }
    if (changed) this.#endpointsChanged();
  }

  close(): void {
    clearInterval(this.#sweep);
    this.bindings.close();
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}

const REMOVE_HEADERS: readonly string[] = [USER_DTAB];

/**
 * Picks the branch a request takes: a weighted random member of each union (weights normalised
 * by their sum; all zero → uniform, Finagle's Drv), returning the bound leaf, or undefined for
 * Neg/Fail/Empty.
 */
export function pickLeaf(tree: NameTree<NameBound>, random: () => number = Math.random): NameBound | undefined {
  let t = tree;
  for (;;) {
    switch (t.type) {
      case "leaf":
        return t.value;
      case "union": {
        const ws = t.weighted;
        if (ws.length === 0) return undefined;
        let total = 0;
        for (const w of ws) total += w.weight > 0 ? w.weight : 0;
        let chosen = ws[ws.length - 1]!;
        if (total <= 0) {
          chosen = ws[Math.floor(random() * ws.length)]!;
        } else {
          let r = random() * total;
          for (const w of ws) {
            r -= w.weight > 0 ? w.weight : 0;
            if (r < 0) {
              chosen = w;
              break;
            }
          }
        }
        t = chosen.tree;
        break;
      }
      case "alt": {
        // bind never leaves an Alt; be safe: first member that picks something
        for (const m of t.trees) {
          const r = pickLeaf(m, random);
          if (r) return r;
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }
}

