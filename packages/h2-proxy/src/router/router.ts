/**
 * The h2 router: identify → per-request dtab → bind (cached) → pick a union branch → pick an
 * endpoint of that bound name → forward with Linkerd's headers, counting everything under
 * Linkerd's metric names. Failures are answered locally with a message that says which router,
 * which name and why (Linkerd 1 answered REFUSED_STREAM; we explain).
 */
import { randomBytes } from "node:crypto";
import {
  BindBudgetExceededError,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_LOOKUPS,
  type Dtab,
  delegationWithin,
  type NameBound,
  type NameInterpreter,
  NamerExceededMaxDepthError,
  type NameTree,
  type Path,
} from "@l5d/dtab";
import { GrpcStatus } from "../dataplane/errors.js";
import { type Counter, type MetricsRegistry, scopeOf } from "../metrics/metrics-registry.js";
import { isClientReset } from "./accrual-verdict.js";
import { BindingCache } from "./binding-cache.js";
import { BoundClient } from "./bound-client.js";
import { readLocalDtab, USER_DTAB } from "./dtab-headers.js";
import { type EndpointAccrualView, FailureAccrual } from "./failure-accrual.js";
import { defaultFailureAccrual } from "./failure-accrual-policies.js";
import { type ForwardHost, Forwarding } from "./forward-loop.js";
import { headerValue } from "./header-list.js";
import type { Identifier } from "./identifier.js";
import type { Endpoint, LoadBalancer } from "./load-balancer.js";
import {
  nonRetryable5XX,
  type ResponseClass,
  type ResponseClassifier,
} from "./response-classifier.js";
import { RetryBudget } from "./retry-budget.js";
import type {
  ForwardOutcome,
  HeaderEdits,
  LocalError,
  RoutableRequest,
  Upstreams,
} from "./routable-request.js";
import {
  type ClientState,
  countDone,
  type ScopeStats,
  ServerScope,
  type ServiceState,
  scopeStats,
} from "./scope-state.js";
import type { ClientPolicy, ServicePolicy } from "./service-policy.js";
import { maxCallDepthMessage, viaForwarded, viaHops } from "./via.js";

export interface RouterLogger {
  warn(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
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
  /** The default response classifier (h2: `io.l5d.h2.nonRetryable5XX`). */
  readonly classifier?: ResponseClassifier;
  /** Per-service policy (classifier, retries, totalTimeoutMs, buffers); per `io.l5d.static` prefix. */
  readonly service?: (serviceName: Path) => ServicePolicy;
  /** Per-client policy (failure accrual, requeue budget); per `io.l5d.static` prefix. */
  readonly client?: (clientId: Path) => ClientPolicy;
  /**
   * The data plane's upstream connections: told every endpoint any client still balances over
   * whenever that set changes (`retain`), so connections to departed endpoints close.
   */
  readonly upstreams?: Upstreams | undefined;
  readonly log?: RouterLogger;
  /** Called after each request (recent-requests telemeter, tracing). */
  readonly onRequestDone?: (r: RequestRecord) => void;
  /** Linkerd `maxCallDepth` (10): requests with more `Via` hops are refused (`via.ts`). */
  readonly maxCallDepth?: number;
  /** This router's `Via` entry: `h2 linkerd` (the default) or `1.1 linkerd` (http routers). */
  readonly via?: string;
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

class RouteError extends Error {
  constructor(readonly local: LocalError) {
    super(local.message);
  }
}

const REQID_POOL_SIZE = 4096;
/** Characters of an override dtab an error message shows. */
const OVERRIDE_SHOWN = 200;

export { ServerScope };

export class H2Router {
  readonly label: string;
  readonly bindings: BindingCache;
  readonly #clients = new Map<string, BoundClient>();
  readonly #services = new Map<string, ServiceState>();
  readonly #clientStats = new Map<string, ClientState>();
  readonly #classifier: ResponseClassifier;
  readonly #bindingTimeoutMs: number;
  readonly #idleTtlMs: number;
  readonly #sweep: NodeJS.Timeout;
  /** Requests that carried a dtab override (`l5d-dtab` or `l5d-ctx-dtab`): `rt/<label>/dtab_overrides`. */
  readonly #overrides: Counter;
  readonly #maxCallDepth: number;
  /** What each request's loop (`forward-loop.ts`) hands back: its end, counted and reported. */
  readonly #host: ForwardHost = {
    finish: (req, server, t0, outcome, cls, service, client, endpoint) =>
      this.#finish(req, server, t0, outcome, cls, service, client, endpoint),
    failed: (req, server, t0, e) => this.#failed(req, server, t0, e),
  };
  readonly #via: string;
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
    this.#overrides = opts.metrics.counter(`rt/${opts.label}/dtab_overrides`);
    this.#maxCallDepth = opts.maxCallDepth ?? 10;
    this.#via = opts.via ?? "h2 linkerd";
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
    try {
      this.#route(req, server, t0);
    } catch (e) {
      this.#failed(req, server, t0, e);
    }
  }

  /**
   * A request that could not be routed or forwarded (`e`: a `RouteError`, or a bug): answered
   * locally, counted as a failure.
   */
  #failed(req: RoutableRequest, server: ServerScope, t0: number, e: unknown): void {
    const local =
      e instanceof RouteError
        ? e.local
        : {
            grpcStatus: GrpcStatus.INTERNAL,
            httpStatus: 502,
            message: `[${this.label}] ${String(e)}`,
          };
    try {
      req.respondError(local);
    } catch {
      // the client is gone; nothing to answer
    }
    this.#finish(
      req,
      server,
      t0,
      { error: new Error(local.message), status: local.httpStatus },
      "failure",
      undefined,
      undefined,
      undefined,
    );
  }

  /**
   * Identifies, binds and forwards a request; throws a `RouteError` when it cannot. Synchronous
   * up to the first attempt when the binding is cached and the client has an endpoint (the usual
   * case: no promise but the exchange's own); a binding or address still pending continues in
   * `#routeBinding` / `#routeReady`. From the first attempt on, the request's `Forwarding`
   * (`forward-loop.ts`) finishes it (`#finish`, or `#failed`): no promise chain back to `handle`.
   */
  #route(req: RoutableRequest, server: ServerScope, t0: number): void {
    const headers = req.headers;
    if (viaHops(headers) > this.#maxCallDepth) {
      throw this.#err(GrpcStatus.INVALID_ARGUMENT, 400, maxCallDepthMessage(this.#maxCallDepth));
    }
    let local: Dtab;
    try {
      local = readLocalDtab(headers);
    } catch (e) {
      throw this.#err(
        GrpcStatus.INVALID_ARGUMENT,
        400,
        `invalid l5d-dtab header: ${(e as Error).message}`,
      );
    }
    let name: Path;
    let rewrite: string | undefined;
    try {
      const id = this.opts.identifier.identify(headers);
      if (id.kind !== "ok") {
        throw this.#err(
          GrpcStatus.INVALID_ARGUMENT,
          400,
          `Unknown destination: ${headerValue(headers, ":method")} ${headerValue(headers, ":path")} / ${id.reason}`,
        );
      }
      name = id.name;
      rewrite = id.rewritePath;
    } catch (e) {
      if (e instanceof RouteError) throw e;
      throw this.#err(
        GrpcStatus.INVALID_ARGUMENT,
        400,
        `cannot identify request: ${(e as Error).message}`,
      );
    }
    if (local.dentries.length > 0) this.#overrides.incr();
    const dtab =
      local.dentries.length === 0 ? this.opts.baseDtab : this.opts.baseDtab.concat(local);
    // an override that fans out (self-referencing unions, alternatives) is refused before it is
    // bound: counting its delegation costs microseconds, binding it milliseconds
    if (
      local.dentries.length > 0 &&
      !delegationWithin(dtab, name, DEFAULT_MAX_LOOKUPS, DEFAULT_MAX_DEPTH)
    ) {
      throw this.#err(
        GrpcStatus.INVALID_ARGUMENT,
        400,
        `the l5d-dtab override cannot be bound: ${name.show}: its delegation takes more than ${DEFAULT_MAX_LOOKUPS} lookups${this.#dtabs(local)}`,
      );
    }
    let t: NameTree<NameBound> | Promise<NameTree<NameBound>>;
    try {
      t = this.bindings.bind(dtab, name);
    } catch (e) {
      throw this.#bindError(e, name, local);
    }
    if (t instanceof Promise)
      void this.#routeBinding(req, server, t0, local, name, rewrite, dtab, t);
    else this.#routeBound(req, server, t0, local, name, rewrite, dtab, t);
  }

  /** Waits for a pending binding, then routes on; never rejects (a failure is `#failed`). */
  async #routeBinding(
    req: RoutableRequest,
    server: ServerScope,
    t0: number,
    local: Dtab,
    name: Path,
    rewrite: string | undefined,
    dtab: Dtab,
    pending: Promise<NameTree<NameBound>>,
  ): Promise<void> {
    try {
      let tree: NameTree<NameBound>;
      try {
        tree = await pending;
      } catch (e) {
        throw this.#bindError(e, name, local);
      }
      this.#routeBound(req, server, t0, local, name, rewrite, dtab, tree);
    } catch (e) {
      this.#failed(req, server, t0, e);
    }
  }

  #bindError(e: unknown, name: Path, local: Dtab): RouteError {
    // the work bounds (depth, lookups) crossed with the request's own override: the request's
    // fault (a self-referencing override), not the service's
    if (
      local.dentries.length > 0 &&
      (e instanceof BindBudgetExceededError || e instanceof NamerExceededMaxDepthError)
    ) {
      return this.#err(
        GrpcStatus.INVALID_ARGUMENT,
        400,
        `the l5d-dtab override cannot be bound: ${name.show}: ${(e as Error).message}${this.#dtabs(local)}`,
      );
    }
    return this.#err(
      GrpcStatus.UNAVAILABLE,
      502,
      `cannot bind ${name.show}: ${(e as Error).message}${this.#dtabs(local)}`,
    );
  }

  #routeBound(
    req: RoutableRequest,
    server: ServerScope,
    t0: number,
    local: Dtab,
    name: Path,
    rewrite: string | undefined,
    dtab: Dtab,
    tree: NameTree<NameBound>,
  ): void {
    const service = this.#serviceStats(name);
    service.requests.incr();
    const bound = pickLeaf(tree);
    if (!bound) {
      throw this.#err(
        GrpcStatus.UNAVAILABLE,
        502,
        `no route: ${name.show} ${this.#whyNoRoute(tree, dtab, name)}${this.#dtabs(local)}`,
      );
    }
    const client = this.#client(bound);
    client.lastUsed = Date.now();
    const cstats = this.#clientScope(client);
    cstats.requests.incr();
    const endpoint = client.balancer.pick();
    if (!endpoint)
      void this.#routeReady(req, server, t0, local, name, rewrite, bound, service, client, cstats);
    else
      this.#routeTo(
        req,
        server,
        t0,
        local,
        name,
        rewrite,
        bound,
        service,
        client,
        cstats,
        endpoint,
      );
  }

  /**
   * No endpoint yet: waits up to `bindingTimeoutMs` for the client's addresses; never rejects
   * (a failure is `#failed`).
   */
  async #routeReady(
    req: RoutableRequest,
    server: ServerScope,
    t0: number,
    local: Dtab,
    name: Path,
    rewrite: string | undefined,
    bound: NameBound,
    service: ServiceState,
    client: BoundClient,
    cstats: ClientState,
  ): Promise<void> {
    try {
      const addr = await client.ready(this.#bindingTimeoutMs);
      const endpoint = client.balancer.pick();
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
        throw this.#err(
          GrpcStatus.UNAVAILABLE,
          502,
          `no hosts available for ${client.idShow} (${name.show}): ${why}`,
        );
      }
      this.#routeTo(
        req,
        server,
        t0,
        local,
        name,
        rewrite,
        bound,
        service,
        client,
        cstats,
        endpoint,
      );
    } catch (e) {
      this.#failed(req, server, t0, e);
    }
  }

  #routeTo(
    req: RoutableRequest,
    server: ServerScope,
    t0: number,
    local: Dtab,
    name: Path,
    rewrite: string | undefined,
    bound: NameBound,
    service: ServiceState,
    client: BoundClient,
    cstats: ClientState,
    endpoint: Endpoint,
  ): void {
    const set: Record<string, string> = {
      "l5d-dst-service": name.show,
      "l5d-dst-client": client.idShow,
      "l5d-reqid": req.requestId ?? this.#reqId(),
      via: viaForwarded(req.headers, this.#via),
    };
    if (!bound.residual.isEmpty) set["l5d-dst-residual"] = bound.residual.show;
    if (local.dentries.length > 0) set["l5d-ctx-dtab"] = local.show;
    // an identifier that consumed part of the path (`io.l5d.path` consume) sends the rest
    if (rewrite !== undefined) set[":path"] = rewrite;
    service.budget.deposit();
    const edits: HeaderEdits = { set, remove: REMOVE_HEADERS };
    new Forwarding(
      this.#host,
      req,
      server,
      t0,
      req.exchange(service.exchange),
      edits,
      service,
      client,
      cstats,
      endpoint,
    ).start();
  }

  #finish(
    req: RoutableRequest,
    server: ServerScope,
    t0: number,
    outcome: ForwardOutcome,
    cls: ResponseClass,
    service: ScopeStats | undefined,
    client: ScopeStats | undefined,
    endpoint: Endpoint | undefined,
  ): void {
    const ms = performance.now() - t0;
    // a request its client reset before the response completed is a failed request
    const cancelled = isClientReset(outcome);
    const ok = cls === "success" && !cancelled;
    countDone(server.stats, ok, cancelled, ms);
    if (service !== undefined) countDone(service, ok, cancelled, ms);
    if (client !== undefined) countDone(client, ok, cancelled, ms);
    if (endpoint && this.opts.log && outcome.error) {
      this.opts.log.debug(
        { router: this.label, endpoint: endpoint.key, err: outcome.error.message },
        "request failed",
      );
    }
    const done = this.opts.onRequestDone;
    if (done) {
      const h = req.headers;
      done({
        router: this.label,
        method: headerValue(h, ":method") ?? "",
        path: headerValue(h, ":path") ?? "",
        authority: headerValue(h, ":authority") ?? headerValue(h, "host") ?? "",
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
    if (local.dentries.length === 0) return "";
    // an error names the override, not all of it: the client sent it, and it may be 64 KiB
    const show = local.show;
    return ` (override dtab: ${show.length > OVERRIDE_SHOWN ? `${show.slice(0, OVERRIDE_SHOWN)}…` : show})`;
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
      const policy = this.opts.client?.(bound.id);
      c = new BoundClient(
        bound,
        this.opts.loadBalancer(bound.id),
        () => this.#endpointsChanged(key),
        policy?.connectTimeoutMs,
        policy?.tls,
      );
      this.#clients.set(key, c);
      // its first addresses were observed inside the constructor, before it was listed here
      this.#endpointsChanged(key);
      const client = c;
      const scope = `rt/${this.label}/client/${scopeOf(key)}`;
      this.opts.metrics.gauge(`${scope}/inflight`, () => client.inflight);
      const size = () => {
        let n = 0;
        for (const _ of client.endpoints) n++;
        return n;
      };
      // the endpoint set is the same in every worker of `workers: n`: the largest, not the sum
      this.opts.metrics.gauge(`${scope}/endpoints`, size, "max");
      this.opts.metrics.gauge(`${scope}/loadbalancer/size`, size, "max");
      this.opts.metrics.gauge(
        `${scope}/loadbalancer/available`,
        () => {
          let n = 0;
          for (const e of client.endpoints) if (e.available) n++;
          return n;
        },
        "max",
      );
      this.opts.metrics.gauge(`${scope}/loadbalancer/load`, () => {
        let n = 0;
        for (const e of client.endpoints)
          n += client.balancer.load ? client.balancer.load(e) : e.inflight;
        return n;
      });
      // each worker judges the endpoints itself: the most any worker has removed
      this.opts.metrics.gauge(
        `${scope}/failure_accrual/removed`,
        () => this.#clientStats.get(key)?.accrual.removed ?? 0,
        "max",
      );
      this.opts.metrics.gauge(
        `${scope}/failure_accrual/dead`,
        () => this.#clientStats.get(key)?.accrual.count("dead") ?? 0,
        "max",
      );
      this.opts.metrics.gauge(
        `${scope}/failure_accrual/probing`,
        () => this.#clientStats.get(key)?.accrual.count("probing") ?? 0,
        "max",
      );
    }
    return c;
  }

  #serviceStats(name: Path): ServiceState {
    const nameShow = name.show;
    let s = this.#services.get(nameShow);
    if (!s) {
      const m = this.opts.metrics;
      const scope = `rt/${this.label}/service/${scopeOf(nameShow)}`;
      const policy = this.opts.service?.(name) ?? {};
      const budget = new RetryBudget(policy.retries?.budget);
      const classifier = policy.classifier ?? this.#classifier;
      s = {
        ...scopeStats(m, scope),
        policy,
        exchange: {
          // a classifier that never answers "retryable": responses stream through unheld
          holdResponses: classifier.mayRetry !== false,
          requestBufferBytes: policy.retryBufferSize?.requestBytes ?? 16_383,
          responseBufferBytes: policy.retryBufferSize?.responseBytes ?? 16_383,
          classificationTimeoutMs: policy.classificationTimeoutMs ?? 100,
          deadlineMs: policy.totalTimeoutMs,
        },
        classifier,
        budget,
        retries: m.counter(`${scope}/retries/total`),
        budgetExhausted: m.counter(`${scope}/retries/budget_exhausted`),
        perRequest: m.histogram(`${scope}/retries/per_request`),
      };
      m.gauge(`${scope}/retries/budget`, () => budget.balance);
      this.#services.set(nameShow, s);
    }
    return s;
  }

  #clientScope(client: BoundClient): ClientState {
    const idShow = client.idShow;
    let s = this.#clientStats.get(idShow);
    if (!s) {
      const m = this.opts.metrics;
      const scope = `rt/${this.label}/client/${scopeOf(idShow)}`;
      const policy = this.opts.client?.(client.bound.id) ?? {};
      const removedFor = m.counter(`${scope}/failure_accrual/removed_for_ms`);
      const removals = m.counter(`${scope}/failure_accrual/removals`);
      const revivals = m.counter(`${scope}/failure_accrual/revivals`);
      const probes = m.counter(`${scope}/failure_accrual/probes`);
      s = {
        ...scopeStats(m, scope),
        accrual: new FailureAccrual(policy.failureAccrual ?? defaultFailureAccrual, {
          removal: () => removals.incr(),
          revival: () => revivals.incr(),
          removedFor: (ms) => removedFor.incr(Math.round(ms)),
          probe: () => probes.incr(),
          markedDead: (e, reason, backoffMs) =>
            this.opts.log?.warn(
              { router: this.label, client: idShow, endpoint: e.key, reason, backoffMs },
              "failure accrual marked the endpoint dead",
            ),
          revived: (e, removedMs) =>
            this.opts.log?.info?.(
              {
                router: this.label,
                client: idShow,
                endpoint: e.key,
                removedMs: Math.round(removedMs),
              },
              "failure accrual revived the endpoint (its probe succeeded)",
            ),
          // per endpoint: `.../endpoint/<host:port>/failure_accrual/{dead,probing}` (1 or 0)
          track: (e, state) => {
            const at = `${scope}/endpoint/${e.key}`;
            m.gauge(`${at}/failure_accrual/dead`, () => (state() === "dead" ? 1 : 0), "max");
            m.gauge(`${at}/failure_accrual/probing`, () => (state() === "probing" ? 1 : 0), "max");
            return () => m.removeScope(at);
          },
        }),
        requeueBudget: new RetryBudget(policy.requeueBudget),
        requeues: m.counter(`${scope}/retries/requeues`),
        requeueBudgetExhausted: m.counter(`${scope}/retries/budget_exhausted`),
      };
      this.#clientStats.set(idShow, s);
    }
    return s;
  }

  #endpointsChanged(clientKey?: string): void {
    if (clientKey !== undefined) {
      const c = this.#clients.get(clientKey);
      const st = this.#clientStats.get(clientKey);
      if (c && st) st.accrual.retain(c.endpoints);
    }
    this.opts.upstreams?.retain(this.endpointsInUse());
  }

  /** Every endpoint any client of this router currently balances over (one per `host:port`). */
  endpointsInUse(): Endpoint[] {
    const byKey = new Map<string, Endpoint>();
    for (const c of this.#clients.values()) for (const e of c.endpoints) byKey.set(e.key, e);
    return [...byKey.values()];
  }

  /** The clients (bound ids) with their endpoints, for admin pages. */
  clients(): Array<{
    id: string;
    addr: string;
    endpoints: Array<{
      key: string;
      inflight: number;
      weight: number;
      available: boolean;
      requests: number;
      load: number;
      /** Failure accrual: `alive`, `dead` or `probing` (also in `accrual.state`). */
      state: string;
      /** Failure accrual state and why (since, reason, backoff, probe in flight). */
      accrual: EndpointAccrualView;
    }>;
  }> {
    return [...this.#clients.values()].map((c) => {
      const accrual = this.#clientStats.get(c.idShow)?.accrual;
      return {
        id: c.idShow,
        addr: c.addr.type,
        endpoints: [...c.endpoints].map((e) => {
          const view = accrual?.viewOf(e) ?? ALIVE;
          return {
            key: e.key,
            inflight: e.inflight,
            weight: e.weight,
            available: e.available,
            requests: e.requests,
            load: c.balancer.load ? c.balancer.load(e) : e.inflight,
            state: view.state,
            accrual: view,
          };
        }),
      };
    });
  }

  /** Closes clients idle for longer than the idle TTL. */
  sweepClients(now = Date.now()): void {
    let changed = false;
    for (const [k, c] of this.#clients) {
      if (c.inflight === 0 && now - c.lastUsed > this.#idleTtlMs) {
        c.close();
        this.#clients.delete(k);
        // a client made again for this name starts a new accrual (a closed one records nothing)
        this.#clientStats.get(k)?.accrual.close();
        this.#clientStats.delete(k);
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
    for (const s of this.#clientStats.values()) s.accrual.close();
  }
}

const REMOVE_HEADERS: readonly string[] = [USER_DTAB];

const ALIVE: EndpointAccrualView = { state: "alive" };

/**
 * Picks the branch a request takes: a weighted random member of each union (weights normalised
 * by their sum; all zero → uniform, Finagle's Drv), returning the bound leaf, or undefined for
 * Neg/Fail/Empty.
 */
export function pickLeaf(
  tree: NameTree<NameBound>,
  random: () => number = Math.random,
): NameBound | undefined {
  let t = tree;
  for (;;) {
    switch (t.type) {
      case "leaf":
        return t.value;
      case "union": {
        const ws = t.weighted;
        if (ws.length === 0) return undefined;
        let total = 0;
        for (const w of ws) total += Math.max(w.weight, 0);
        let chosen = ws[ws.length - 1]!;
        if (total <= 0) {
          chosen = ws[Math.floor(random() * ws.length)]!;
        } else {
          let r = random() * total;
          for (const w of ws) {
            r -= Math.max(w.weight, 0);
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
