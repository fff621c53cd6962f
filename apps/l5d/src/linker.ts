/**
 * The linker: a validated Linkerd config turned into running parts (Linkerd's
 * `Linker.mk`): namers, telemeters, routers with their servers, then the admin server.
 */
import type {
  BuildContext,
  HttpRouterConfig,
  HttpServerConfig,
  LinkerdConfig,
  ParsedPlugin,
  PluginLogger,
  RouterConfig,
  ServerConfig,
} from "@l5d/config";
import { resolveClientParams, resolveServiceParams } from "@l5d/config";
import {
  createDefaultInterpreter,
  type MountedNamer,
  type NameInterpreter,
  type Namer,
  type NameTreeTransformer,
  transformNamer,
  withTransformers,
} from "@l5d/dtab";
import {
  AccessLog,
  type H1RejectName,
  type H1Server,
  startH1Server,
  UpstreamPools,
} from "@l5d/h1-proxy";
import {
  type ClientPolicy,
  composeIdentifiers,
  type FailureAccrualMaker,
  GrpcStatus,
  H2Router,
  type IdentifierMaker,
  LIMIT_NAMES,
  type LimitName,
  type LimitSide,
  type LoadBalancer,
  type LoadBalancerMaker,
  MetricsRegistry,
  P2cBalancer,
  type RelayRequest,
  type RelayServer,
  RelayUpstreams,
  type ResponseClassifier,
  ServerScope,
  type ServicePolicy,
  startRelayServer,
} from "@l5d/h2-proxy";
import type { Logger } from "pino";
import { clearContext } from "./clear-context.js";
import { clientTls, clientTlsFiles, watchClientTls } from "./client-tls.js";
import { serverTlsOptions } from "./server-tls.js";
import type { Telemeter } from "./telemetry/telemeter.js";
import { watchTlsFiles } from "./tls-reload.js";
import { Tracer } from "./tracing/tracer.js";

/** What the linker needs of a listening server, whatever its protocol. */
export interface ListeningServer {
  readonly port: number;
  /** Open client connections. */
  readonly connections: number;
  setTls(tls: import("node:tls").TlsOptions): void;
  close(graceMs?: number): Promise<void>;
}

export interface RunningServer {
  readonly router: string;
  readonly ip: string;
  readonly port: number;
  readonly proxy: ListeningServer;
}

export interface RunningRouter {
  readonly config: RouterConfig;
  readonly router: H2Router;
  /** The upstream connections its servers share (drained by the router as endpoints leave). */
  readonly upstreams: RelayUpstreams | UpstreamPools;
  readonly servers: RunningServer[];
}

export interface Linker {
  readonly config: LinkerdConfig;
  readonly metrics: MetricsRegistry;
  readonly namers: readonly (MountedNamer & { readonly state?: () => unknown })[];
  readonly routers: readonly RunningRouter[];
  readonly telemeters: readonly Telemeter[];
  close(graceMs?: number): Promise<void>;
}

export function pluginLogger(log: Logger): PluginLogger {
  return {
    info: (o, m) => (typeof o === "string" ? log.info(o) : log.info(o, m)),
    warn: (o, m) => (typeof o === "string" ? log.warn(o) : log.warn(o, m)),
    error: (o, m) => (typeof o === "string" ? log.error(o) : log.error(o, m)),
    debug: (o, m) => (typeof o === "string" ? log.debug(o) : log.debug(o, m)),
  };
}

export class LinkerBuildError extends Error {
  constructor(
    readonly keyPath: string,
    cause: unknown,
  ) {
    super(`${keyPath}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** Builds one plugin, naming its key path if its factory throws. */
function make<T>(p: ParsedPlugin, ctx: BuildContext): T {
  try {
    return p.factory.make(p.config, ctx) as T;
  } catch (e) {
    throw new LinkerBuildError(p.path, e);
  }
}

export interface LinkOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /**
   * A worker process's interpreters (`workers/remote-interpreter.ts`): when given, no namer or
   * interpreter is built here; every router binds through the one this returns for its label.
   */
  readonly remoteInterpreter?: (router: string) => NameInterpreter;
  /** Whether routers open their servers (default true; the primary of `workers: n` does not). */
  readonly serve?: boolean;
}

/** Builds every plugin (may throw LinkerBuildError) without opening any port. */
export function buildPlugins(config: LinkerdConfig, opts: LinkOptions) {
  const closers: Array<() => void | Promise<void>> = [];
  const metrics = new MetricsRegistry();
  const ctxFor = (services: Record<string, unknown>, scope: string): BuildContext => ({
    env: opts.env ?? process.env,
    log: pluginLogger(opts.log.child({ plugin: scope })),
    onClose: (f) => closers.push(f),
    services: { metrics, ...services },
  });

  const mounted: Array<MountedNamer & { state?: () => unknown }> = [];
  for (const n of opts.remoteInterpreter ? [] : config.namers) {
    const ctx = ctxFor({}, n.path);
    type Built = Namer & { state?: () => unknown; close?: () => void };
    const made = make<Built | (MountedNamer & { namer: Built })>(n, ctx);
    // a factory may return the namer itself or the namer already mounted at its prefix
    const built: Built =
      "namer" in made && typeof made.namer?.lookup === "function" ? made.namer : (made as Built);
    let namer: Namer = built;
    for (const t of n.transformers)
      namer = transformNamer(
        namer,
        make<NameTreeTransformer>(t, ctxFor({ namers: mounted }, t.path)),
      );
    if (typeof built.close === "function") closers.push(() => built.close?.());
    mounted.push({
      prefix: n.mountPrefix,
      namer,
      kind: n.kind,
      ...(typeof built.state === "function" ? { state: () => built.state?.() } : {}),
    });
  }

  const telemeters = config.telemetry.map((t) => make<Telemeter>(t, ctxFor({}, t.path)));

  const routers = config.routers.map((r) => {
    const makers = r.identifiers.map((p) => make<IdentifierMaker>(p, ctxFor({}, p.path)));
    const identifier = composeIdentifiers(makers.map((m) => m(r.dstPrefix)));
    const transformers = opts.remoteInterpreter
      ? []
      : (r.interpreter?.transformers ?? []).map((t) =>
          make<NameTreeTransformer>(t, ctxFor({ namers: mounted }, t.path)),
        );
    let interpreter: NameInterpreter;
    if (opts.remoteInterpreter) {
      interpreter = opts.remoteInterpreter(r.label);
    } else if (r.interpreter) {
      // interpreter factories apply `ctx.services.transformers` themselves (see @l5d/namers)
      interpreter = make<NameInterpreter>(
        r.interpreter,
        ctxFor({ namers: mounted, transformers }, r.interpreter.path),
      );
      registerInterpreterGauges(metrics, r.label, r.interpreter.kind, interpreter);
    } else {
      interpreter = withTransformers(createDefaultInterpreter(mounted), transformers);
    }
    const balancerFor = (clientId: import("@l5d/dtab").Path): LoadBalancer => {
      const params = resolveClientParams(r.client, clientId);
      const lb = params.loadBalancer;
      if (!lb) return new P2cBalancer();
      return make<LoadBalancerMaker>(lb, ctxFor({}, lb.path))();
    };
    // client TLS files are read now: a missing CA or key stops the daemon at start, naming it
    const tlsConfigs =
      r.client.kind === "io.l5d.global"
        ? [{ at: "client.tls", tls: r.client.params.tls }]
        : [
            { at: "client.tls", tls: r.client.defaults.tls },
            ...r.client.configs.map((c, i) => ({ at: `client.configs[${i}].tls`, tls: c.tls })),
          ];
    const tlsFiles: string[] = [];
    for (const { at, tls } of tlsConfigs) {
      if (tls === undefined) continue;
      try {
        clientTls(tls);
      } catch (e) {
        throw new LinkerBuildError(`routers[${r.label}].${at.replace(/\.tls$/, "")}`, e);
      }
      tlsFiles.push(...clientTlsFiles(tls));
    }
    if (tlsFiles.length > 0) {
      const log = opts.log.child({ router: r.label });
      const reloader = watchClientTls(
        tlsFiles,
        () => log.info("client TLS credentials reloaded"),
        (why) => log.warn({ err: why }, "client TLS credentials not reloaded: the old ones stay"),
      );
      closers.push(() => reloader.close());
    }
    const clientPolicy = (clientId: import("@l5d/dtab").Path): ClientPolicy => {
      const params = resolveClientParams(r.client, clientId);
      const fa = params.failureAccrual;
      return {
        requeueBudget: params.requeueBudget,
        connectTimeoutMs: params.connectTimeoutMs,
        tls: params.tls === undefined ? undefined : clientTls(params.tls),
        ...(fa ? { failureAccrual: make<FailureAccrualMaker>(fa, ctxFor({}, fa.path)) } : {}),
      };
    };
    const servicePolicy = (name: import("@l5d/dtab").Path): ServicePolicy => {
      const params = resolveServiceParams(r.service, name);
      const rc = params.responseClassifier;
      return {
        retries: params.retries,
        totalTimeoutMs: params.totalTimeoutMs,
        classificationTimeoutMs: params.classificationTimeoutMs,
        retryBufferSize: params.retryBufferSize,
        ...(rc ? { classifier: make<ResponseClassifier>(rc, ctxFor({}, rc.path)) } : {}),
      };
    };
    return { config: r, identifier, interpreter, balancerFor, clientPolicy, servicePolicy };
  });
  return { metrics, mounted, telemeters, routers, closers };
}

/** Builds everything and opens the routers' ports. */
export async function link(config: LinkerdConfig, opts: LinkOptions): Promise<Linker> {
  const built = buildPlugins(config, opts);
  const { metrics, telemeters, closers } = built;
  const running: RunningRouter[] = [];
  // trace context is always propagated; spans are recorded when a tracing telemeter is configured
  const tracer = new Tracer({ sinks: telemeters.flatMap((t) => (t.spans ? [t.spans] : [])) });
  const closeAll = async (graceMs = config.admin.shutdownGraceMs) => {
    await Promise.all(
      running.flatMap((r) => r.servers.map((s) => s.proxy.close(graceMs).catch(() => {}))),
    );
    for (const r of running) {
      r.router.close();
      r.upstreams.close();
    }
    for (const t of telemeters) await t.close?.();
    for (const c of closers.reverse()) await c();
  };
  try {
    for (const b of built.routers) {
      const r = b.config;
      // the router-level connect timeout; io.l5d.static prefixes set theirs per client (ClientPolicy)
      const connectTimeoutMs =
        r.client.kind === "io.l5d.global"
          ? r.client.params.connectTimeoutMs
          : r.client.defaults.connectTimeoutMs;
      let upstreams: RelayUpstreams | UpstreamPools;
      let accessLog: AccessLog | undefined;
      if (r.protocol === "http") {
        upstreams = new UpstreamPools();
        if (r.httpAccessLog !== undefined) {
          const log = new AccessLog(r.httpAccessLog, r.httpAccessLogAppend ?? true);
          accessLog = log;
          closers.push(() => log.close());
        }
      } else upstreams = new RelayUpstreams(connectTimeoutMs);
      const tlsFailures = metrics.counter(`rt/${r.label}/tls/upstream_handshake_failures`);
      upstreams.onTlsError = (message, peer) => {
        tlsFailures.incr();
        opts.log.warn({ router: r.label, peer, err: message }, "upstream TLS handshake failed");
      };
      const log = opts.log.child({ router: r.label });
      const router = new H2Router({
        label: r.label,
        baseDtab: r.dtab,
        identifier: b.identifier,
        interpreter: b.interpreter,
        loadBalancer: b.balancerFor,
        client: b.clientPolicy,
        service: b.servicePolicy,
        upstreams,
        metrics,
        bindingTimeoutMs: r.bindingTimeoutMs,
        maxCallDepth: r.maxCallDepth,
        via: r.protocol === "http" ? "1.1 linkerd" : "h2 linkerd",
        idleTtlMs: r.bindingCache.idleTtlSecs * 1000,
        cacheCapacity: r.bindingCache.trees,
        log,
        onRequestDone: telemeters.some((t) => t.onRequest)
          ? (rec) => {
              for (const t of telemeters) t.onRequest?.(rec);
            }
          : undefined,
      } as ConstructorParameters<typeof H2Router>[0]);
      const rr: RunningRouter = { config: r, router, upstreams, servers: [] };
      running.push(rr);
      for (const s of opts.serve === false ? [] : r.servers) {
        const proxy =
          r.protocol === "http"
            ? await startHttpServer(rr, r, s as HttpServerConfig, metrics, log, tracer, {
                connectTimeoutMs,
                accessLog,
              })
            : await startServer(rr, s as ServerConfig, metrics, log, tracer);
        const tls = s.tls;
        if (tls !== undefined) {
          const where = `${s.ip}:${proxy.port}`;
          const reloader = watchTlsFiles(
            [tls.certPath, tls.keyPath, ...(tls.caCertPath === undefined ? [] : [tls.caCertPath])],
            () => serverTlsOptions(tls),
            (o) => {
              proxy.setTls(o);
              log.info({ server: where }, "TLS credentials reloaded");
            },
            (why) =>
              log.warn(
                { server: where, err: why },
                "TLS credentials not reloaded: the old ones stay",
              ),
          );
          closers.push(() => reloader.close());
        }
        rr.servers.push({ router: r.label, ip: s.ip, port: proxy.port, proxy });
        log.info({ ip: s.ip, port: proxy.port }, `serving ${r.label} on ${s.ip}:${proxy.port}`);
      }
    }
  } catch (e) {
    await closeAll(0);
    throw e;
  }
  return {
    config,
    metrics,
    namers: built.mounted,
    routers: running,
    telemeters,
    close: closeAll,
  };
}

/**
 * A server of a router: the frame-level relay with the server config's stream limit, windows,
 * header list size, `maxConcurrentRequests` (read from the relay's open stream count: no
 * per-request listener), `clearContext` and graceful close; its requests go to the router
 * (through the tracer), upstream connections are the router's (`RelayUpstreams`).
 */
async function startServer(
  rr: RunningRouter,
  s: ServerConfig,
  metrics: MetricsRegistry,
  log: Logger,
  tracer: Tracer,
): Promise<RelayServer> {
  const scope = new ServerScope(metrics, rr.config.label, s.ip, s.port);
  const traced = { router: rr.config.label, ip: s.ip, port: s.port };
  const max = s.maxConcurrentRequests;
  // The relay counts its open streams (this request included, until its response is over).
  let open = (): number => 0;
  try {
    const tls = s.tls === undefined ? undefined : serverTlsOptions(s.tls);
    const tlsFailures = metrics.counter(
      `rt/${rr.config.label}/server/${s.ip}/${s.port}/tls/handshake_failures`,
    );
    const relay = await startRelayServer({
      host: s.ip,
      port: s.port,
      tls,
      onTlsError(message, peer) {
        tlsFailures.incr();
        log.warn(
          { router: rr.config.label, server: `${s.ip}:${s.port}`, peer, err: message },
          "TLS handshake failed",
        );
      },
      maxConcurrentStreams: s.maxConcurrentStreamsPerConnection,
      initialWindowSize: s.initialStreamWindowBytes,
      maxHeaderListSize: s.maxHeaderListBytes,
      upstreams: rr.upstreams as RelayUpstreams,
      limits: {
        maxHeaderFields: s.maxHeaderFields,
        maxContinuationFrames: s.maxContinuationFrames,
        maxResetsPerSecond: s.maxResetsPerSecond,
        maxPingsPerSecond: s.maxPingsPerSecond,
        maxSettingsPerSecond: s.maxSettingsPerSecond,
        maxEmptyFramesPerSecond: s.maxEmptyFramesPerSecond,
        maxStreamErrorsPerSecond: s.maxStreamErrorsPerSecond,
        maxSmallFramesPerSecond: s.maxSmallFramesPerSecond,
        maxQueuedControlFrames: s.maxQueuedControlFrames,
        maxBufferedBytes: s.maxBufferedBytes,
        maxQueuedDataBytes: s.maxQueuedDataBytes,
      },
      prefaceTimeoutMs: s.prefaceTimeoutMs,
      idleTimeoutMs: s.idleTimeoutMs,
      streamIdleTimeoutMs: s.streamIdleTimeoutMs,
      maxConnections: s.maxConnections,
      onLimit: limitReporter(rr, s, metrics, log),
      onRequest(incoming: RelayRequest) {
        const req = tracer.wrap(s.clearContext ? clearContext(incoming) : incoming, traced);
        if (max !== undefined && open() > max) {
          req.respondError({
            grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED,
            httpStatus: 503,
            message: `[${rr.config.label}] server ${s.ip}:${s.port} is at maxConcurrentRequests (${max})`,
          });
          return;
        }
        rr.router.handle(req, scope);
      },
    });
    open = () => relay.streams;
    traced.port = relay.port;
    metrics.gauge(
      `rt/${rr.config.label}/server/${s.ip}/${s.port}/connections`,
      () => relay.connections,
    );
    metrics.gauge(`rt/${rr.config.label}/server/${s.ip}/${s.port}/streams`, () => relay.streams);
    return relay;
  } catch (e) {
    log.error({ err: (e as Error).message }, "cannot start server");
    throw new LinkerBuildError(`routers[${rr.config.label}].servers ${s.ip}:${s.port}`, e);
  }
}

/**
 * The relay's `onLimit` for one server: a counter per limit and side,
 * `rt/<router>/server/<ip>/<port>/h2/limits/<name>` (client connections) and
 * `.../h2/limits/upstream/<name>` (upstream connections), and one structured log line per event
 * (warn; info for the routine idle-connection close).
 */
function limitReporter(
  rr: RunningRouter,
  s: ServerConfig,
  metrics: MetricsRegistry,
  log: Logger,
): (name: LimitName, detail: string, side: LimitSide) => void {
  const scope = `rt/${rr.config.label}/server/${s.ip}/${s.port}/h2/limits`;
  const client = new Map(LIMIT_NAMES.map((n) => [n, metrics.counter(`${scope}/${n}`)]));
  const upstream = new Map(LIMIT_NAMES.map((n) => [n, metrics.counter(`${scope}/upstream/${n}`)]));
  return (name, detail, side) => {
    (side === "client" ? client : upstream).get(name)?.incr();
    const fields = { limit: name, side, server: `${s.ip}:${s.port}`, detail };
    if (name === "idle_timeout") log.info(fields, "h2 limit: idle connection closed");
    else log.warn(fields, `h2 limit ${name} fired (${side})`);
  };
}

/**
 * A server of a `protocol: http` router: HTTP/1.1 through node's parser and the proxy's checks
 * (`@l5d/h1-proxy`), its requests to the router (through `clearContext` and the tracer) as the
 * h2 servers'; what it refuses itself is counted as `rt/<router>/server/<ip>/<port>/http/rejected/<name>`.
 */
async function startHttpServer(
  rr: RunningRouter,
  r: HttpRouterConfig,
  s: HttpServerConfig,
  metrics: MetricsRegistry,
  log: Logger,
  tracer: Tracer,
  shared: { readonly connectTimeoutMs: number; readonly accessLog: AccessLog | undefined },
): Promise<H1Server> {
  const scope = new ServerScope(metrics, r.label, s.ip, s.port);
  const traced = { router: r.label, ip: s.ip, port: s.port };
  const max = s.maxConcurrentRequests;
  const where = `rt/${r.label}/server/${s.ip}/${s.port}`;
  const rejected = new Map<H1RejectName, ReturnType<MetricsRegistry["counter"]>>();
  const retryBuffer =
    r.service.kind === "io.l5d.global"
      ? r.service.params.retryBufferSize.requestBytes
      : r.service.defaults.retryBufferSize.requestBytes;
  let server: H1Server | undefined;
  try {
    const tlsFailures = metrics.counter(`${where}/tls/handshake_failures`);
    server = await startH1Server({
      host: s.ip,
      port: s.port,
      tls: s.tls === undefined ? undefined : serverTlsOptions(s.tls),
      onTlsError(message, peer) {
        tlsFailures.incr();
        log.warn(
          { router: r.label, server: `${s.ip}:${s.port}`, peer, err: message },
          "TLS handshake failed",
        );
      },
      upstreams: rr.upstreams as UpstreamPools,
      routerLabel: r.label,
      maxInitialLineBytes: r.maxInitialLineKB * 1024,
      maxHeadersBytes: r.maxHeadersKB * 1024,
      maxRequestBytes: r.maxRequestKB * 1024,
      maxResponseBytes: r.maxResponseKB * 1024,
      streaming: r.streamingEnabled,
      headersTimeoutMs: s.headersTimeoutMs,
      idleTimeoutMs: s.idleTimeoutMs,
      maxConnections: s.maxConnections,
      connectTimeoutMs: shared.connectTimeoutMs,
      accessLog: shared.accessLog,
      addForwardedHeader: s.addForwardedHeader,
      requestBufferBytes: retryBuffer,
      onReject(name, detail) {
        let c = rejected.get(name);
        if (c === undefined) {
          c = metrics.counter(`${where}/http/rejected/${name}`);
          rejected.set(name, c);
        }
        c.incr();
        log.info(
          { router: r.label, server: `${s.ip}:${s.port}`, reason: name, detail },
          "http request refused",
        );
      },
      onRequest(incoming) {
        const req = tracer.wrap(s.clearContext ? clearContext(incoming) : incoming, traced);
        if (max !== undefined && (server?.requests ?? 0) > max) {
          req.respondError({
            grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED,
            httpStatus: 503,
            message: `[${r.label}] server ${s.ip}:${s.port} is at maxConcurrentRequests (${max})`,
          });
          return;
        }
        rr.router.handle(req, scope);
      },
    });
  } catch (e) {
    log.error({ err: (e as Error).message }, "cannot start server");
    throw new LinkerBuildError(`routers[${r.label}].servers ${s.ip}:${s.port}`, e);
  }
  const srv = server;
  traced.port = srv.port;
  metrics.gauge(`${where}/connections`, () => srv.connections);
  metrics.gauge(`${where}/requests_in_flight`, () => srv.requests);
  return srv;
}

/**
 * An interpreter with a `state()` (the namerd ones) is watched through metrics:
 * `rt/<router>/interpreter/<kind>/connected` (1 while namerd answers), `…/reconnects`,
 * `…/streams`.
 */
function registerInterpreterGauges(
  metrics: MetricsRegistry,
  label: string,
  kind: string,
  interpreter: NameInterpreter,
): void {
  const state = (interpreter as { state?: () => Record<string, unknown> }).state;
  if (typeof state !== "function") return;
  const read = (k: string) => () => {
    const v = state.call(interpreter)[k];
    return typeof v === "boolean" ? Number(v) : typeof v === "number" ? v : 0;
  };
  const scope = `rt/${label}/interpreter/${kind}`;
  metrics.gauge(`${scope}/connected`, read("connected"));
  metrics.gauge(`${scope}/reconnects`, read("reconnects"));
  metrics.gauge(`${scope}/streams`, read("streams"));
}
