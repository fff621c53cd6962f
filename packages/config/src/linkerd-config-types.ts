/** The parsed Linkerd 1.x config (defaults applied). Keys and defaults follow Linkerd's docs. */
import type { Dtab, Path } from "@l5d/dtab";
import type { InterpreterEntry, NamerEntry, ParsedPlugin } from "./parsed-plugin.js";

export interface AdminConfig {
  /** Default `127.0.0.1` (Linkerd ≥1.2; 1.0.x used 0.0.0.0). */
  readonly ip: string;
  /** Default 9990. */
  readonly port: number;
  /** Time given to in-flight requests on shutdown. Default 10000. */
  readonly shutdownGraceMs: number;
  /** Accepted for compatibility (JVM worker threads); unused. Default 2. */
  readonly workerThreads: number;
  /**
   * Linkerd's admin path filter (1.4.5+): UI, control and diagnostics paths each on or off
   * (default on), whole-path regexes served regardless (`pathWhitelist`) or never
   * (`pathBlacklist`). Refused paths answer 404.
   */
  readonly security: AdminSecurityConfig;
  readonly socketOptions?: Readonly<Record<string, unknown>>;
  readonly httpIdentifierPort?: number;
  /** HTTPS on the admin port (same keys as a server's `tls`). */
  readonly tls?: ServerTlsConfig;
}

export interface AdminSecurityConfig {
  readonly uiEnabled: boolean;
  readonly controlEnabled: boolean;
  readonly diagnosticsEnabled: boolean;
  readonly pathWhitelist: readonly string[];
  readonly pathBlacklist: readonly string[];
}

/** Linkerd's server `tls` (TlsServerConfig). */
export interface ServerTlsConfig {
  /** PEM certificate (chain) of the server. */
  readonly certPath: string;
  /** Its private key: PEM, or PKCS#8 DER (Linkerd's `.pk8`). */
  readonly keyPath: string;
  /** PEM CA certificates clients' certificates are checked against (with `requireClientAuth`). */
  readonly caCertPath?: string;
  /** Clients must present a certificate signed by `caCertPath`. Default false. */
  readonly requireClientAuth: boolean;
  /** OpenSSL cipher names; node's defaults when unset. */
  readonly ciphers?: readonly string[];
  /** `TLSv1.2`, `TLSv1.3`; both when unset. */
  readonly enabledProtocols?: readonly ("TLSv1.2" | "TLSv1.3")[];
}

/** HTTP/2 settings shared by servers and clients. */
export interface H2Settings {
  /** Default 65535 (64 KiB, the HTTP/2 default). */
  readonly initialStreamWindowBytes?: number;
  /** Default 16384. */
  readonly maxFrameBytes?: number;
  /** Unset by default (HTTP/2's 4096). */
  readonly headerTableBytes?: number;
  /**
   * Unset by default: servers enforce 64 KiB (requests, trailers, and upstream responses).
   */
  readonly maxHeaderListBytes?: number;
  /** Send WINDOW_UPDATE when this fraction of the window is consumed... Linkerd default 0.99. */
  readonly windowUpdateRatio?: number;
}

export interface ServerConfig extends H2Settings {
  /** Default 4142 for h2. */
  readonly port: number;
  /** Default `127.0.0.1` (loopback). */
  readonly ip: string;
  /** Unlimited when unset. */
  readonly maxConcurrentRequests?: number;
  /** Drop incoming `l5d-ctx-*` / `l5d-dtab` headers. Default false. */
  readonly clearContext: boolean;
  /** Default 1000 (Linkerd ≥1.5.1). */
  readonly maxConcurrentStreamsPerConnection: number;
  /** Announcer names (accepted; announcers are not implemented). */
  readonly announce?: readonly string[];
  /** TLS on this server (ALPN `h2`); plaintext h2c when unset. */
  readonly tls?: ServerTlsConfig;
  // ---- abuse limits (l5d-ts extension, issue #14; the relay data plane). Unset: the default.
  // A flood limit crossed closes the connection with GOAWAY(ENHANCE_YOUR_CALM); each is counted
  // (`rt/<router>/server/<ip>/<port>/h2/limits/<name>`) and logged once.
  /** Fields per header list (requests, trailers, upstream responses). Default 1000. */
  readonly maxHeaderFields?: number;
  /** CONTINUATION frames per header block. Default 16. */
  readonly maxContinuationFrames?: number;
  /** RST_STREAMs received + streams refused per connection per second (rapid reset). Default 1000. */
  readonly maxResetsPerSecond?: number;
  /** PINGs per connection per second. Default 1000. */
  readonly maxPingsPerSecond?: number;
  /** SETTINGS frames per connection per second. Default 100. */
  readonly maxSettingsPerSecond?: number;
  /** Empty DATA/HEADERS/CONTINUATION frames (no END flag) per connection per second. Default 100. */
  readonly maxEmptyFramesPerSecond?: number;
  /** Stream errors the peer provokes (our RST_STREAMs) per connection per second. Default 100. */
  readonly maxStreamErrorsPerSecond?: number;
  /** Tiny WINDOW_UPDATEs (< 1024) and DATA frames (< 32 bytes, no END_STREAM) per second. Default 10000. */
  readonly maxSmallFramesPerSecond?: number;
  /** Control frames (ACKs, RST_STREAMs) queued to a peer that does not read. Default 10000. */
  readonly maxQueuedControlFrames?: number;
  /** Bytes written to a connection's socket and not read by the peer. Default 4 MiB. */
  readonly maxBufferedBytes?: number;
  /** Response DATA held for one client connection, waiting for its windows. Default 16 MiB. */
  readonly maxQueuedDataBytes?: number;
  /** Client preface + SETTINGS within this after accept. Default 10000. */
  readonly prefaceTimeoutMs?: number;
  /** A client connection with no open stream this long is closed. Default 180000; 0: never. */
  readonly idleTimeoutMs?: number;
  /** A stream with no frames either way this long is reset. Default 0: off. */
  readonly streamIdleTimeoutMs?: number;
  /** Client connections per server; more are refused at accept. Default 10000. */
  readonly maxConnections?: number;
}

export interface RetryBudget {
  /** Default 10. */
  readonly minRetriesPerSec: number;
  /** Default 0.2. */
  readonly percentCanRetry: number;
  /** Default 10. */
  readonly ttlSecs: number;
}

export type Backoff =
  | { readonly kind: "constant" /** Default 0. */; readonly ms: number }
  | { readonly kind: "jittered"; readonly minMs: number; readonly maxMs: number };

export interface HostConnectionPool {
  /** Default 0. */
  readonly minSize: number;
  readonly maxSize?: number;
  readonly idleTimeMs?: number;
  readonly maxWaiters?: number;
}

export interface ClientParams extends H2Settings {
  /** Default `p2c` (when registered). */
  readonly loadBalancer?: ParsedPlugin;
  /** Default: the protocol's (5 consecutive failures, jittered backoff 5 s → 300 s). */
  readonly failureAccrual?: ParsedPlugin;
  /** Connection-level retries. Defaults as RetryBudget. */
  readonly requeueBudget: RetryBudget;
  /** Default false. */
  readonly failFast: boolean;
  /** No per-attempt timeout by default. */
  readonly requestAttemptTimeoutMs?: number;
  /**
   * l5d-ts: the upstream connect timeout (TCP connect + the server's HTTP/2 SETTINGS), ms.
   * Default 3000. A timeout is a failed connect (connect backoff; the request is requeued).
   */
  readonly connectTimeoutMs: number;
  readonly hostConnectionPool?: HostConnectionPool;
  readonly clientSession?: { readonly idleTimeMs?: number; readonly lifeTimeMs?: number };
  /** Default false. */
  readonly forwardClientCert?: boolean;
  /** TLS to the client's endpoints (Linkerd's TlsClientConfig); plaintext when unset. */
  readonly tls?: ClientTlsConfig;
}

/** Linkerd's client `tls`. */
export interface ClientTlsConfig {
  /**
   * The name the upstream's certificate must carry (SNI too); `{name}` segments of the static
   * client `prefix` are filled in from the client id (`commonName: "{service}"`).
   */
  readonly commonName?: string;
  /** PEM CA certificates to trust (node's defaults when unset). */
  readonly trustCerts?: readonly string[];
  /** One PEM bundle of CA certificates (with `trustCerts`, both are trusted). */
  readonly trustCertsBundle?: string;
  /** No certificate check at all (testing only). Default false. */
  readonly disableValidation?: boolean;
  /** A client certificate for mutual TLS. */
  readonly clientAuth?: { readonly certPath: string; readonly keyPath: string };
}

/** One `io.l5d.static` entry: a prefix (with `*` and `{var}` segments) and the keys it sets. */
export type ClientStaticEntry = { readonly prefix: string } & Partial<ClientParams>;

export type ClientSection =
  | { readonly kind: "io.l5d.global"; readonly params: ClientParams }
  | {
      readonly kind: "io.l5d.static";
      readonly configs: readonly ClientStaticEntry[];
      readonly defaults: ClientParams;
    };

export interface Retries {
  readonly budget: RetryBudget;
  /** Default `{ kind: constant, ms: 0 }`. */
  readonly backoff: Backoff;
}

export interface ServiceParams {
  /** Default: the h2 protocol's (5xx and exceptions are non-retryable failures). */
  readonly responseClassifier?: ParsedPlugin;
  readonly retries: Retries;
  /** No total timeout by default. */
  readonly totalTimeoutMs?: number;
  /** Default 100. */
  readonly classificationTimeoutMs: number;
  /** Default 16383 / 16383. */
  readonly retryBufferSize: { readonly requestBytes: number; readonly responseBytes: number };
}

export type ServiceStaticEntry = { readonly prefix: string } & Partial<ServiceParams>;

export type ServiceSection =
  | { readonly kind: "io.l5d.global"; readonly params: ServiceParams }
  | {
      readonly kind: "io.l5d.static";
      readonly configs: readonly ServiceStaticEntry[];
      readonly defaults: ServiceParams;
    };

export interface BindingCacheConfig {
  /** Each default 1000. */
  readonly paths: number;
  readonly trees: number;
  readonly bounds: number;
  readonly clients: number;
  /** Default 600. */
  readonly idleTtlSecs: number;
}

/** What every router has, whatever its protocol. */
export interface RouterCommonConfig {
  /** Default: the protocol name. Unique across routers. */
  readonly label: string;
  readonly experimental: boolean;
  /** Default empty. */
  readonly dtab: Dtab;
  /** Default `/svc`. */
  readonly dstPrefix: Path;
  /** Tried in order. Default `io.l5d.header.token` (`:authority` for h2, `Host` for http). */
  readonly identifiers: readonly ParsedPlugin[];
  /** Default kind `default` (when registered). */
  readonly interpreter?: InterpreterEntry;
  readonly client: ClientSection;
  readonly service: ServiceSection;
  /** Default 10000. */
  readonly bindingTimeoutMs: number;
  readonly bindingCache: BindingCacheConfig;
  /** Default false. */
  readonly originator: boolean;
  /** Accepted, not implemented. Default []. */
  readonly announcers: readonly Readonly<Record<string, unknown>>[];
  /** Maximum `Via` hops (loop protection). Default 10. */
  readonly maxCallDepth: number;
}

/** `protocol: h2`: gRPC and HTTP/2 through the frame-level relay. */
export interface H2RouterConfig extends RouterCommonConfig {
  readonly protocol: "h2";
  readonly servers: readonly ServerConfig[];
}

/** One RFC 7239 endpoint labeler (`addForwardedHeader.by` / `.for`). */
export type ForwardedLabeler =
  | { readonly kind: "ip" | "ip:port" | "connectionRandom" | "requestRandom" | "router" }
  | { readonly kind: "static"; readonly label: string };

/** A `protocol: http` router's server. */
export interface HttpServerConfig {
  /** Default 4140. */
  readonly port: number;
  readonly ip: string;
  readonly maxConcurrentRequests?: number;
  readonly clearContext: boolean;
  readonly announce?: readonly string[];
  readonly tls?: ServerTlsConfig;
  /** Adds an RFC 7239 `Forwarded` header to each request (both labelers default `requestRandom`). */
  readonly addForwardedHeader?: { readonly by: ForwardedLabeler; readonly for: ForwardedLabeler };
  /** Accepted (Linkerd's netty3/netty4 choice); no effect. */
  readonly engine?: { readonly kind: "netty3" | "netty4" };
  /** l5d-ts: time to receive a request's head (slowloris bound). Default 10000. */
  readonly headersTimeoutMs: number;
  /** l5d-ts: an idle keep-alive client connection closes after this (0: never). Default 60000. */
  readonly idleTimeoutMs: number;
  /** l5d-ts: open client connections at most. Default 10000. */
  readonly maxConnections: number;
}

/** `protocol: http`: Linkerd's HTTP/1.1 router. */
export interface HttpRouterConfig extends RouterCommonConfig {
  readonly protocol: "http";
  readonly servers: readonly HttpServerConfig[];
  /** Access log path (Linkerd's format); none: no access log. */
  readonly httpAccessLog?: string;
  /** Accepted, not implemented (Linkerd's log rolling). */
  readonly httpAccessLogRollPolicy?: string;
  readonly httpAccessLogAppend?: boolean;
  readonly httpAccessLogRotateCount?: number;
  /** Largest chunk of a chunked body passed on at once. Default 8. */
  readonly maxChunkKB: number;
  /** Largest header section of a request or response. Default 8. */
  readonly maxHeadersKB: number;
  /** Largest request or status line. Default 4. */
  readonly maxInitialLineKB: number;
  /** Largest non-chunked request body. Default 5120. */
  readonly maxRequestKB: number;
  /** Largest non-chunked response body. Default 5120. */
  readonly maxResponseKB: number;
  /** Accepted; responses are passed through as the endpoint sent them. Default -1. */
  readonly compressionLevel: number;
  /** Bodies stream through (true, the default); false: buffered up to maxRequestKB/maxResponseKB. */
  readonly streamingEnabled: boolean;
  /** Accepted (Linkerd's trace propagator choice); l5d-ts propagates `l5d-ctx-trace`. */
  readonly tracePropagator?: Readonly<Record<string, unknown>>;
}

export type RouterConfig = H2RouterConfig | HttpRouterConfig;

export interface UsageConfig {
  readonly orgId?: string;
  readonly enabled?: boolean;
}

export interface LinkerdConfig {
  readonly admin: AdminConfig;
  /** In config order (first matching prefix wins). */
  readonly namers: readonly NamerEntry[];
  readonly routers: readonly RouterConfig[];
  readonly telemetry: readonly ParsedPlugin[];
  /** Accepted and ignored (no usage reports are ever sent). */
  readonly usage: UsageConfig;
  /**
   * l5d's own key (not Linkerd's): how many processes serve the routers' ports (default 1).
   * Above 1 the daemon's first process keeps the namers, interpreters and admin server and
   * forks that many workers that share each server port and bind names through it.
   */
  readonly workers: number;
}
