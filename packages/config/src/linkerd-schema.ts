/** The zod schema of a Linkerd 1.x config, built against a set of plugin registries. */
import { Dtab, Path } from "@l5d/dtab";
import { z } from "zod";
import { Registry } from "./plugin.js";
import { pluginListSlot, pluginSlot } from "./plugin-slot.js";
import {
  bool,
  expected,
  issueMessages,
  nonEmptyString,
  nonNegativeInt,
  numberBetween,
  port,
  positiveInt,
  regexString,
} from "./schema-helpers.js";

/** One registry per plugin family. Each `Registry` is constructed with its singular family name. */
export interface Registries {
  readonly namers: Registry<unknown>;
  readonly transformers: Registry<unknown>;
  readonly identifiers: Registry<unknown>;
  readonly interpreters: Registry<unknown>;
  readonly telemeters: Registry<unknown>;
  readonly loadBalancers: Registry<unknown>;
  readonly failureAccrual: Registry<unknown>;
  readonly responseClassifiers: Registry<unknown>;
  /** `protocol: http` routers' identifiers (Linkerd's HTTP/1.1 kinds); none registered: empty. */
  readonly httpIdentifiers?: Registry<unknown>;
  /** `protocol: http` routers' response classifiers (`io.l5d.http.*`). */
  readonly httpResponseClassifiers?: Registry<unknown>;
}

export const DEFAULT_IDENTIFIER = "io.l5d.header.token";
/** Linkerd 1.x's default `protocol: http` identifier (`io.l5d.header.token` on `Host`). */
export const DEFAULT_HTTP_IDENTIFIER = "io.l5d.header.token";
/** The protocols a router may speak, with each one's default server port. */
export const ROUTER_PROTOCOLS: Readonly<Record<string, number>> = { h2: 4142, http: 4140 };
export const DEFAULT_INTERPRETER = "default";
export const DEFAULT_LOAD_BALANCER = "p2c";

function unsupported(message: string) {
  return z.custom<never>(() => false, { error: message }).optional();
}

const ipString = () =>
  z
    .string(expected("expected an IP address"))
    .regex(/^[A-Za-z0-9.:_-]+$/, { error: "expected an IP address" });

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const pathString = (what: string) =>
  z.string(expected(`expected a ${what} such as /svc`)).transform((text, ctx) => {
    try {
      return Path.read(text);
    } catch (e) {
      ctx.issues.push({ code: "custom", message: `invalid path: ${errorText(e)}`, input: text });
      return z.NEVER;
    }
  });

const dtabString = () =>
  z
    .string(expected("expected a dtab (text such as '/svc => /#/io.l5d.fs;')"))
    .transform((text, ctx) => {
      try {
        return Dtab.read(text);
      } catch (e) {
        ctx.issues.push({ code: "custom", message: `invalid dtab: ${errorText(e)}`, input: text });
        return z.NEVER;
      }
    });

const h2Shape = (defaults: boolean) => ({
  initialStreamWindowBytes: defaults ? positiveInt().default(65535) : positiveInt().optional(),
  maxFrameBytes: defaults
    ? z.number().int().min(16384).max(16777215).default(16384)
    : z.number().int().min(16384).max(16777215).optional(),
  headerTableBytes: nonNegativeInt().optional(),
  maxHeaderListBytes: positiveInt().optional(),
  windowUpdateRatio: defaults ? numberBetween(0, 1).default(0.99) : numberBetween(0, 1).optional(),
});

/** Linkerd's server-side `tls` (TlsServerConfig), for router servers and the admin server. */
const serverTlsSchema = z.strictObject({
  certPath: nonEmptyString(),
  keyPath: nonEmptyString(),
  caCertPath: nonEmptyString().optional(),
  requireClientAuth: bool().default(false),
  ciphers: z.array(nonEmptyString()).optional(),
  enabledProtocols: z
    .array(z.enum(["TLSv1.2", "TLSv1.3"], expected("expected TLSv1.2 or TLSv1.3")))
    .min(1)
    .optional(),
});

const serverSchema = z.strictObject({
  port: port().default(4142),
  ip: ipString().default("127.0.0.1"),
  maxConcurrentRequests: positiveInt().optional(),
  clearContext: bool().default(false),
  maxConcurrentStreamsPerConnection: positiveInt().default(1000),
  /** Removed (issue #14): the frame-level relay is the only data plane. */
  dataPlane: unsupported(
    "the node:http2 data plane was removed; the frame-level relay is the only data plane (delete this key)",
  ),
  announce: z.array(z.string()).optional(),
  tls: serverTlsSchema.optional(),
  ...h2Shape(true),
  // abuse limits (l5d-ts extension, issue #14; defaults in @l5d/h2 limits.ts and the relay)
  maxHeaderFields: positiveInt().optional(),
  maxContinuationFrames: positiveInt().optional(),
  maxResetsPerSecond: positiveInt().optional(),
  maxPingsPerSecond: positiveInt().optional(),
  maxSettingsPerSecond: positiveInt().optional(),
  maxEmptyFramesPerSecond: positiveInt().optional(),
  maxStreamErrorsPerSecond: positiveInt().optional(),
  maxSmallFramesPerSecond: positiveInt().optional(),
  maxQueuedControlFrames: positiveInt().optional(),
  maxBufferedBytes: positiveInt().optional(),
  maxQueuedDataBytes: positiveInt().optional(),
  prefaceTimeoutMs: positiveInt().optional(),
  idleTimeoutMs: nonNegativeInt().optional(),
  streamIdleTimeoutMs: nonNegativeInt().optional(),
  maxConnections: positiveInt().optional(),
});

const budgetSchema = z
  .strictObject({
    minRetriesPerSec: nonNegativeInt().default(10),
    percentCanRetry: numberBetween(0, 1000).default(0.2),
    ttlSecs: numberBetween(1, 60).default(10),
  })
  .prefault({});

const backoffSchema = z.discriminatedUnion(
  "kind",
  [
    z.strictObject({ kind: z.literal("constant"), ms: nonNegativeInt().default(0) }),
    z.strictObject({ kind: z.literal("jittered"), minMs: nonNegativeInt(), maxMs: positiveInt() }),
  ],
  {
    error: (iss) =>
      iss.input === undefined ? "required" : "expected backoff kind 'constant' or 'jittered'",
  },
);

/**
 * Linkerd's client TLS keys (`client.tls`, and the namerd interpreters' `tls`): the server's
 * name to check, the CAs to trust, the client certificate to present.
 */
export const clientTlsSchema = z.strictObject({
  commonName: nonEmptyString().optional(),
  trustCerts: z.array(nonEmptyString()).optional(),
  trustCertsBundle: nonEmptyString().optional(),
  disableValidation: bool().optional(),
  clientAuth: z.strictObject({ certPath: nonEmptyString(), keyPath: nonEmptyString() }).optional(),
});

function clientShape(r: Registries, defaults: boolean) {
  return {
    loadBalancer: pluginSlot(
      r.loadBalancers,
      defaults ? { defaultKind: DEFAULT_LOAD_BALANCER } : {},
    ),
    failureAccrual: pluginSlot(r.failureAccrual),
    requeueBudget: defaults ? budgetSchema : budgetSchema.optional(),
    failFast: defaults ? bool().default(false) : bool().optional(),
    requestAttemptTimeoutMs: positiveInt().optional(),
    /** l5d-ts: upstream TCP connect + HTTP/2 handshake bound (ms); a timeout is a failed connect. */
    connectTimeoutMs: defaults ? positiveInt().default(3000) : positiveInt().optional(),
    hostConnectionPool: z
      .strictObject({
        minSize: nonNegativeInt().default(0),
        maxSize: positiveInt().optional(),
        idleTimeMs: positiveInt().optional(),
        maxWaiters: nonNegativeInt().optional(),
      })
      .optional(),
    clientSession: z
      .strictObject({ idleTimeMs: positiveInt().optional(), lifeTimeMs: positiveInt().optional() })
      .optional(),
    forwardClientCert: bool().optional(),
    tls: clientTlsSchema.optional(),
    ...h2Shape(false),
  };
}

function serviceShape(classifiers: Registry<unknown>, defaults: boolean) {
  const retries = z
    .strictObject({
      budget: budgetSchema,
      backoff: backoffSchema.default({ kind: "constant", ms: 0 }),
    })
    .prefault({});
  const buffer = z
    .strictObject({
      requestBytes: nonNegativeInt().default(16383),
      responseBytes: nonNegativeInt().default(16383),
    })
    .prefault({});
  return {
    responseClassifier: pluginSlot(classifiers),
    retries: defaults ? retries : retries.optional(),
    totalTimeoutMs: positiveInt().optional(),
    classificationTimeoutMs: defaults ? positiveInt().default(100) : positiveInt().optional(),
    retryBufferSize: defaults ? buffer : buffer.optional(),
  };
}

/** `kind: io.l5d.global` (keys directly) or `kind: io.l5d.static` (`configs` with prefixes). */
function sectionSchema(global: z.ZodObject, entry: z.ZodObject, defaults: z.ZodType) {
  return z
    .unknown()
    .transform((raw, ctx) => {
      const input = raw === undefined ? {} : raw;
      const kind =
        typeof input === "object" && input !== null && !Array.isArray(input)
          ? ((input as { kind?: unknown }).kind ?? "io.l5d.global")
          : undefined;
      const push = (issues: readonly z.core.$ZodIssue[], prefix: (string | number)[]) => {
        for (const i of issues) {
          for (const m of issueMessages(i)) {
            ctx.issues.push({
              code: "custom",
              message: m.message,
              path: [...prefix, ...m.path],
              input: raw,
            });
          }
        }
      };
      if (kind === "io.l5d.static") {
        const s = z
          .strictObject({
            kind: z.literal("io.l5d.static"),
            configs: z.array(entry, expected("expected a list")),
          })
          .safeParse(input, { reportInput: true });
        const d = defaults.safeParse({}, { reportInput: true });
        if (!s.success) push(s.error.issues, []);
        if (!s.success || !d.success) return z.NEVER;
        return { kind: "io.l5d.static" as const, configs: s.data.configs, defaults: d.data };
      }
      if (kind !== "io.l5d.global") {
        ctx.issues.push({
          code: "custom",
          path: typeof kind === "string" ? ["kind"] : [],
          message:
            kind === undefined
              ? "expected a map"
              : `unknown kind '${String(kind)}' (known: io.l5d.global, io.l5d.static)`,
          input: raw,
        });
        return z.NEVER;
      }
      const { kind: _k, ...rest } = input as Record<string, unknown>;
      const g = global.safeParse(rest, { reportInput: true });
      if (!g.success) {
        push(g.error.issues, []);
        return z.NEVER;
      }
      return { kind: "io.l5d.global" as const, params: g.data };
    })
    .prefault(undefined);
}

/** Keys every router has, whatever its protocol. */
function commonRouterShape(r: Registries, classifiers: Registry<unknown>) {
  const clientDefaults = z.strictObject(clientShape(r, true));
  const clientEntry = z.strictObject({ prefix: nonEmptyString(), ...clientShape(r, false) });
  const serviceDefaults = z.strictObject(serviceShape(classifiers, true));
  const serviceEntry = z.strictObject({
    prefix: nonEmptyString(),
    ...serviceShape(classifiers, false),
  });
  return {
    label: nonEmptyString().optional(),
    experimental: bool().default(false),
    dtab: dtabString().default(Dtab.empty),
    dstPrefix: pathString("path").default(Path.read("/svc")),
    interpreter: pluginSlot(r.interpreters, {
      defaultKind: DEFAULT_INTERPRETER,
      role: "interpreter",
      transformers: r.transformers,
    }),
    client: sectionSchema(clientDefaults, clientEntry, clientDefaults),
    service: sectionSchema(serviceDefaults, serviceEntry, serviceDefaults),
    bindingTimeoutMs: positiveInt().default(10_000),
    bindingCache: z
      .strictObject({
        paths: positiveInt().default(1000),
        trees: positiveInt().default(1000),
        bounds: positiveInt().default(1000),
        clients: positiveInt().default(1000),
        idleTtlSecs: positiveInt().default(600),
      })
      .prefault({}),
    originator: bool().default(false),
    announcers: z.array(z.looseObject({ kind: z.string() })).default([]),
    maxCallDepth: positiveInt().default(10),
  };
}

/** An `h2` router (gRPC and HTTP/2). */
export function h2RouterSchema(r: Registries) {
  return z.strictObject({
    protocol: z.literal("h2"),
    identifier: pluginListSlot(r.identifiers, { defaultKind: DEFAULT_IDENTIFIER }),
    servers: z
      .array(serverSchema, expected("expected a list of servers"))
      .min(1, { error: "expected at least one server" }),
    ...commonRouterShape(r, r.responseClassifiers),
  });
}

/** Linkerd's RFC 7239 endpoint labelers (`addForwardedHeader.by` / `.for`). */
const labelerSchema = z
  .strictObject({
    kind: z.enum(["ip", "ip:port", "connectionRandom", "requestRandom", "router", "static"], {
      error: (iss) =>
        iss.input === undefined
          ? "required"
          : `unknown labeler kind '${String(iss.input)}' (known: ip, ip:port, connectionRandom, requestRandom, router, static)`,
    }),
    label: z
      .string(expected("expected a label"))
      .regex(/^[A-Za-z0-9._-]+$/, { error: "expected a label of letters, digits, '.', '_', '-'" })
      .optional(),
  })
  .superRefine((v, ctx) => {
    if (v.kind === "static" && v.label === undefined)
      ctx.addIssue({ code: "custom", path: ["label"], message: "required (kind static)" });
    if (v.kind !== "static" && v.label !== undefined)
      ctx.addIssue({ code: "custom", path: ["label"], message: "only kind static takes a label" });
  });

/** Accepted for compatibility: Linkerd's HTTP engine choice (netty3/netty4) has no meaning here. */
const engineSchema = z
  .strictObject({ kind: z.enum(["netty3", "netty4"], expected("expected netty3 or netty4")) })
  .optional();

/** A `protocol: http` router's server (HTTP/1.1 on a socket). */
const httpServerSchema = z.strictObject({
  port: port().default(4140),
  ip: ipString().default("127.0.0.1"),
  maxConcurrentRequests: positiveInt().optional(),
  clearContext: bool().default(false),
  announce: z.array(z.string()).optional(),
  tls: serverTlsSchema.optional(),
  addForwardedHeader: z
    .strictObject({
      by: labelerSchema.default({ kind: "requestRandom" }),
      for: labelerSchema.default({ kind: "requestRandom" }),
    })
    .optional(),
  engine: engineSchema,
  // l5d-ts extensions (slowloris and connection bounds)
  /** Time a client has to send a request's head (line and headers); default 10 000 ms. */
  headersTimeoutMs: positiveInt().default(10_000),
  /** An idle keep-alive connection is closed after this long; default 60 000 ms (0: never). */
  idleTimeoutMs: nonNegativeInt().default(60_000),
  /** Open client connections at most; default 10 000. */
  maxConnections: positiveInt().default(10_000),
});

/** A `protocol: http` router (HTTP/1.1 and 1.0). */
export function httpRouterSchema(r: Registries) {
  const classifiers = r.httpResponseClassifiers ?? new Registry<unknown>("response classifier");
  const common = commonRouterShape(r, classifiers);
  return z.strictObject({
    protocol: z.literal("http"),
    identifier: pluginListSlot(r.httpIdentifiers ?? new Registry<unknown>("identifier"), {
      defaultKind: DEFAULT_HTTP_IDENTIFIER,
    }),
    servers: z
      .array(httpServerSchema, expected("expected a list of servers"))
      .min(1, { error: "expected at least one server" }),
    ...common,
    client: common.client,
    httpAccessLog: nonEmptyString().optional(),
    httpAccessLogRollPolicy: z.string().optional(),
    httpAccessLogAppend: bool().optional(),
    httpAccessLogRotateCount: z.number().int().optional(),
    maxChunkKB: positiveInt().default(8),
    maxHeadersKB: positiveInt().default(8),
    maxInitialLineKB: positiveInt().default(4),
    maxRequestKB: positiveInt().default(5120),
    maxResponseKB: positiveInt().default(5120),
    compressionLevel: z.number().int().min(-1).max(9).default(-1),
    streamingEnabled: bool().default(true),
    tracePropagator: z.looseObject({ kind: z.string() }).optional(),
  });
}

/** A router of any supported protocol, chosen by its `protocol` key. */
export function routerSchema(r: Registries) {
  const schemas: Record<string, z.ZodType> = { h2: h2RouterSchema(r), http: httpRouterSchema(r) };
  return z.unknown().transform((raw, ctx) => {
    const protocol =
      typeof raw === "object" && raw !== null && !Array.isArray(raw)
        ? (raw as { protocol?: unknown }).protocol
        : undefined;
    const known = Object.keys(ROUTER_PROTOCOLS).join(", ");
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      ctx.issues.push({ code: "custom", message: "expected a map", input: raw });
      return z.NEVER;
    }
    const schema = typeof protocol === "string" ? schemas[protocol] : undefined;
    if (schema === undefined) {
      ctx.issues.push({
        code: "custom",
        path: ["protocol"],
        message:
          protocol === undefined
            ? `required (one of: ${known})`
            : `unsupported protocol '${String(protocol)}' (supported: ${known})`,
        input: raw,
      });
      return z.NEVER;
    }
    const parsed = schema.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
      for (const i of parsed.error.issues)
        for (const m of issueMessages(i))
          ctx.issues.push({ code: "custom", message: m.message, path: m.path, input: raw });
      return z.NEVER;
    }
    return parsed.data as HttpRouterRaw | H2RouterRaw;
  });
}

type H2RouterRaw = z.output<ReturnType<typeof h2RouterSchema>>;
type HttpRouterRaw = z.output<ReturnType<typeof httpRouterSchema>>;

export function linkerdSchema(r: Registries) {
  return z.strictObject(
    {
      admin: z
        .strictObject({
          ip: ipString().default("127.0.0.1"),
          port: port().default(9990),
          shutdownGraceMs: nonNegativeInt().default(10_000),
          workerThreads: positiveInt().default(2),
          security: z
            .strictObject({
              uiEnabled: bool().default(true),
              controlEnabled: bool().default(true),
              diagnosticsEnabled: bool().default(true),
              pathWhitelist: z.array(regexString()).default([]),
              pathBlacklist: z.array(regexString()).default([]),
            })
            .prefault({}),
          socketOptions: z.looseObject({}).optional(),
          httpIdentifierPort: port().optional(),
          tls: serverTlsSchema.optional(),
        })
        .prefault({}),
      namers: z
        .array(
          pluginSlot(r.namers, { role: "namer", transformers: r.transformers }),
          expected("expected a list"),
        )
        .default([]),
      routers: z
        .array(routerSchema(r), expected("expected a list of routers"))
        .min(1, { error: "expected at least one router" }),
      telemetry: z.array(pluginSlot(r.telemeters), expected("expected a list")).default([]),
      usage: z
        .strictObject({ orgId: z.string().optional(), enabled: bool().optional() })
        .prefault({}),
      // l5d's own: processes serving the routers' ports (one set of namer watches, one admin)
      workers: z
        .number(expected("expected an integer between 1 and 64"))
        .int(expected("expected an integer between 1 and 64"))
        .min(1, expected("expected an integer between 1 and 64"))
        .max(64, expected("expected an integer between 1 and 64"))
        .default(1),
    },
    expected(
      "expected a map of top-level keys (admin, namers, routers, telemetry, usage, workers)",
    ),
  );
}
