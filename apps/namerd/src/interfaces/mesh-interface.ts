/**
 * `io.l5d.mesh` (default 127.0.0.1:4321): namerd's gRPC mesh API, wire-compatible with
 * Linkerd 1.x's (proto package `io.linkerd.mesh`, protos in proto/io/linkerd/mesh), served with
 * grpc-js over h2c (or TLS with `tls:`):
 *
 *   Interpreter  GetBoundTree / StreamBoundTree    bind `name` in namespace `root` (+ `dtab`)
 *   Resolver     GetReplicas / StreamReplicas      the addresses of a bound id
 *   Delegator    GetDtab / StreamDtab              the namespace's stored dtab and version
 *                GetDelegateTree (StreamDelegateTree, deprecated: one answer)
 *   Codec        ReadDtab / ShowDtab / ReadPath / ShowPath
 *
 * `root` is a one-element path naming the namespace (`/default` ↔ `default`); a namespace that
 * does not exist binds through an empty dtab. Streams send the current value, then a message
 * on every change (repeats suppressed), and release their observation when the call ends or is
 * cancelled. A malformed request is INVALID_ARGUMENT naming the problem; a binding that fails
 * ends the call FAILED_PRECONDITION with the binding's error; a store that cannot be read is
 * UNAVAILABLE.
 */
import { readFileSync } from "node:fs";
import {
  type handleServerStreamingCall,
  type handleUnaryCall,
  Server,
  ServerCredentials,
  type ServerErrorResponse,
  type ServerUnaryCall,
  type ServerWritableStream,
  status,
} from "@grpc/grpc-js";
import { bool, nonEmptyString, type PluginFactory, pluginCommonShape, port } from "@l5d/config";
import { type Activity, type ActivityState, type Addr, Dtab, NameTree, Path } from "@l5d/dtab";
import {
  addrToReplicas,
  boundTreeToProto,
  delegateTreeToProto,
  dtabFromProto,
  dtabToProto,
  MeshCodecError,
  namespaceFromRoot,
  pathFromProto,
  pathToProto,
  pathTreeFromProto,
} from "@l5d/namerd-client";
import { mesh } from "@l5d/proto";
import { z } from "zod";
import {
  DtabStoreUnavailableError,
  NAMESPACE_RE,
  type VersionedDtab,
} from "../storage/dtab-store.js";
import { MeshAccessLog, type MeshCall } from "./mesh-access-log.js";
import type { InterfaceContext, ListeningInterface, NamerdInterface } from "./namerd-interface.js";
import { interfaceTlsSchema } from "./server-tls.js";

export const MESH_INTERFACE_PORT = 4321;
/** How long a Get* call waits for a binding's first answer before UNAVAILABLE. */
export const MESH_READ_TIMEOUT_MS = 10_000;

export const meshInterfaceSchema = z.strictObject({
  ...pluginCommonShape,
  kind: z.literal("io.l5d.mesh"),
  /** Linkerd's default is the loopback address; `0.0.0.0` serves every IPv4 interface. */
  ip: z.string().default("127.0.0.1"),
  port: port().default(MESH_INTERFACE_PORT),
  /** Accepted for Linkerd configs; grpc-js manages its own sockets, so nothing here applies. */
  socketOptions: z.looseObject({}).optional(),
  /** Linkerd's server TLS (the key in PKCS#8 PEM). */
  tls: interfaceTlsSchema.optional(),
  h2AccessLog: nonEmptyString().optional(),
  h2AccessLogRollPolicy: z.string().optional(),
  h2AccessLogAppend: bool().default(true),
  h2AccessLogRotateCount: z.number().int().optional(),
});
export type MeshInterfaceConfig = z.infer<typeof meshInterfaceSchema>;

export const meshInterfaceFactory: PluginFactory<MeshInterfaceConfig, NamerdInterface> = {
  kind: "io.l5d.mesh",
  schema: meshInterfaceSchema,
  make: (config) => ({ kind: config.kind, listen: (ctx) => listenMesh(config, ctx) }),
};

/** A gRPC error status for a call. */
class CallError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

function toStatus(e: unknown): ServerErrorResponse {
  if (e instanceof CallError)
    return Object.assign(new Error(e.message), { code: e.code, details: e.message });
  const err = e instanceof Error ? e : new Error(String(e));
  const code =
    e instanceof MeshCodecError
      ? status.INVALID_ARGUMENT
      : e instanceof DtabStoreUnavailableError
        ? status.UNAVAILABLE
        : status.FAILED_PRECONDITION;
  return Object.assign(new Error(err.message), { code, details: err.message });
}

/** The namespace a request's root names (Linkerd: a one-element path). */
function namespaceOf(root: mesh.Path | undefined): string {
  if (root === undefined)
    throw new CallError(status.INVALID_ARGUMENT, "no namespace specified (root)");
  const ns = namespaceFromRoot(pathFromProto(root, "root"));
  if (!NAMESPACE_RE.test(ns))
    throw new CallError(
      status.INVALID_ARGUMENT,
      `invalid namespace '${ns}': letters, digits, _ . - only`,
    );
  return ns;
}

function requiredPath(p: mesh.Path | undefined, what: string): Path {
  const path = pathFromProto(p, what);
  if (path.isEmpty) throw new CallError(status.INVALID_ARGUMENT, `no ${what} given`);
  return path;
}

/** Live observations, closed when the interface closes (grpc-js may not report every cancel). */
type Releases = Set<() => void>;

/**
 * Answers a unary call with the first settled state of `act`, or UNAVAILABLE after the read
 * timeout; the observation ends as soon as there is an answer or the call goes away.
 */
function answerFirst<T, R>(
  call: ServerUnaryCall<unknown, unknown>,
  cb: (err: ServerErrorResponse | null, value?: R) => void,
  act: Activity<T>,
  encode: (v: T) => R,
  releases: Releases,
  onTimeout: () => R | CallError = () =>
    new CallError(status.UNAVAILABLE, `no answer within ${MESH_READ_TIMEOUT_MS} ms`),
): void {
  let done = false;
  let sub: { close(): void } | undefined;
  const release = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    releases.delete(release);
    queueMicrotask(() => sub?.close());
  };
  const timer = setTimeout(() => {
    if (done) return;
    release();
    const v = onTimeout();
    if (v instanceof CallError) cb(toStatus(v));
    else cb(null, v);
  }, MESH_READ_TIMEOUT_MS);
  releases.add(release);
  call.once("cancelled", release);
  sub = act.observe((s: ActivityState<T>) => {
    if (done || s.kind === "pending") return;
    release();
    if (s.kind === "failed") cb(toStatus(s.error));
    else {
      try {
        cb(null, encode(s.value));
      } catch (e) {
        cb(toStatus(e));
      }
    }
  });
  if (done) sub.close();
}

/**
 * Streams every settled state of `act` to `call` (repeats suppressed by their encoding), until
 * the call ends; a failed state ends the call with its status. A client that does not read
 * never grows our memory: while the call is backed up only the newest message is kept.
 */
function streamStates<T, R>(
  call: ServerWritableStream<unknown, R>,
  act: Activity<T>,
  fns: { encode(message: R): { finish(): Uint8Array } },
  encode: (v: T) => R | undefined,
  releases: Releases,
): void {
  let ended = false;
  let sub: { close(): void } | undefined;
  let last: Buffer | undefined;
  let queued: R | undefined;
  const release = () => {
    if (ended) return;
    ended = true;
    releases.delete(release);
    queueMicrotask(() => sub?.close());
  };
  const fail = (e: unknown) => {
    if (ended) return;
    release();
    call.emit("error", toStatus(e));
  };
  releases.add(release);
  call.once("cancelled", release);
  call.on("drain", () => {
    if (ended || queued === undefined) return;
    const m = queued;
    queued = undefined;
    call.write(m);
  });
  if (call.cancelled) {
    release();
    return;
  }
  sub = act.observe((s) => {
    if (ended || s.kind === "pending") return;
    if (s.kind === "failed") return fail(s.error);
    let msg: R | undefined;
    try {
      msg = encode(s.value);
    } catch (e) {
      return fail(e);
    }
    if (msg === undefined) return;
    const bytes = Buffer.from(fns.encode(msg).finish());
    if (last?.equals(bytes)) return;
    last = bytes;
    if (call.writableNeedDrain) queued = msg;
    else call.write(msg);
  });
  if (ended) sub.close();
}

/** Runs a handler body, turning a thrown error into the call's status. */
function guardUnary<Req, Rsp>(
  body: (
    call: Parameters<handleUnaryCall<Req, Rsp>>[0],
    cb: Parameters<handleUnaryCall<Req, Rsp>>[1],
  ) => void,
): handleUnaryCall<Req, Rsp> {
  return (call, cb) => {
    try {
      body(call, cb);
    } catch (e) {
      cb(toStatus(e));
    }
  };
}

function guardStream<Req, Rsp>(
  body: (call: ServerWritableStream<Req, Rsp>) => void,
): handleServerStreamingCall<Req, Rsp> {
  return (call) => {
    try {
      body(call);
    } catch (e) {
      call.emit("error", toStatus(e));
    }
  };
}

function dtabRsp(v: VersionedDtab): mesh.DtabRsp {
  return {
    dtab: { version: { id: Buffer.from(v.version, "utf8") }, dtab: dtabToProto(v.dtab) },
  };
}

function notFound(ns: string): CallError {
  return new CallError(status.NOT_FOUND, `dtab namespace '${ns}' does not exist`);
}

/** The four services, answering from `ctx.namespaces`. */
function services(ctx: InterfaceContext, releases: Releases) {
  const ns = ctx.namespaces;
  const bindOf = (req: mesh.BindReq) =>
    ns.bind(namespaceOf(req.root), requiredPath(req.name, "name"), dtabFromProto(req.dtab));
  const addrOf = (req: mesh.ReplicasReq) => ns.addr(requiredPath(req.id, "id"));

  const interpreter: mesh.InterpreterServer = {
    getBoundTree: guardUnary((call, cb) =>
      answerFirst(call, cb, bindOf(call.request), (t) => ({ tree: boundTreeToProto(t) }), releases),
    ),
    streamBoundTree: guardStream((call) =>
      streamStates(
        call,
        bindOf(call.request),
        mesh.BoundTreeRsp,
        (t) => ({ tree: boundTreeToProto(t) }),
        releases,
      ),
    ),
  };

  const resolver: mesh.ResolverServer = {
    // Linkerd answers a missing id with a Failed replica set, not an error status
    getReplicas: guardUnary((call, cb) => {
      if (!call.request.id?.elems.length)
        return cb(null, { failed: { message: "No ID provided" } });
      answerFirst(call, cb, addrOf(call.request), addrToReplicas, releases, () => ({
        pending: {},
      }));
    }),
    streamReplicas: guardStream((call) => {
      if (!call.request.id?.elems.length) {
        call.write({ failed: { message: "No ID provided" } });
        call.end();
        return;
      }
      // a namer's failure is part of the replica set (Failed), not the end of the stream
      const act = addrOf(call.request);
      const states: Activity<mesh.Replicas> = {
        sample: () => wrapReplicas(act.sample()),
        observe: (f) => act.observe((s) => f(wrapReplicas(s))),
      };
      streamStates(call, states, mesh.Replicas, (r) => r, releases);
    }),
  };

  const delegator: mesh.DelegatorServer = {
    getDtab: guardUnary((call, cb) => {
      const name = namespaceOf(call.request.root);
      answerFirst(
        call,
        cb,
        ns.versioned(name),
        (v) => {
          if (v === null) throw notFound(name);
          return dtabRsp(v);
        },
        releases,
      );
    }),
    streamDtab: guardStream((call) => {
      const name = namespaceOf(call.request.root);
      // as Linkerd: a namespace that is (or becomes) absent ends the stream NOT_FOUND
      streamStates(
        call,
        ns.versioned(name),
        mesh.DtabRsp,
        (v) => {
          if (v === null) throw notFound(name);
          return dtabRsp(v);
        },
        releases,
      );
    }),
    getDelegateTree: guardUnary((call, cb) =>
      delegateTree(call.request).then(
        (t) => cb(null, t),
        (e) => cb(toStatus(e)),
      ),
    ),
    streamDelegateTree: guardStream((call) => {
      delegateTree(call.request).then(
        (t) => {
          call.write(t);
          call.end();
        },
        (e) => call.emit("error", toStatus(e)),
      );
    }),
  };

  async function delegateTree(req: mesh.DelegateTreeReq): Promise<mesh.DelegateTreeRsp> {
    const name = namespaceOf(req.root);
    if (req.tree === undefined)
      throw new CallError(status.INVALID_ARGUMENT, "no name given (tree)");
    const tree = pathTreeFromProto(req.tree);
    // Linkerd's linkers always ask about one name; a whole tree is not explained here
    if (tree.type !== "leaf")
      throw new CallError(
        status.INVALID_ARGUMENT,
        `only a single path can be delegated, not ${NameTree.show(tree)}`,
      );
    const explained = await ns.delegate(name, tree.value, dtabFromProto(req.dtab));
    return { tree: delegateTreeToProto(explained) };
  }

  const codec: mesh.CodecServer = {
    readDtab: guardUnary((call, cb) =>
      cb(null, { dtab: dtabToProto(parse(() => Dtab.read(call.request.text))) }),
    ),
    showDtab: guardUnary((call, cb) => cb(null, { text: dtabFromProto(call.request.dtab).show })),
    readPath: guardUnary((call, cb) =>
      cb(null, { path: pathToProto(parse(() => Path.read(call.request.text))) }),
    ),
    showPath: guardUnary((call, cb) => cb(null, { text: pathFromProto(call.request.path).show })),
  };

  return { interpreter, resolver, delegator, codec };
}

function wrapReplicas(s: ActivityState<Addr>): ActivityState<mesh.Replicas> {
  if (s.kind === "pending") return { kind: "ok", value: { pending: {} } };
  if (s.kind === "failed") return { kind: "ok", value: { failed: { message: s.error.message } } };
  return { kind: "ok", value: addrToReplicas(s.value) };
}

function parse<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new CallError(status.INVALID_ARGUMENT, (e as Error).message);
  }
}

function credentials(config: MeshInterfaceConfig): ServerCredentials {
  const tls = config.tls;
  if (tls === undefined) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(
    tls.caCertPath === undefined ? null : readFileSync(tls.caCertPath),
    [{ private_key: readFileSync(tls.keyPath), cert_chain: readFileSync(tls.certPath) }],
    tls.requireClientAuth,
  );
}

async function listenMesh(
  config: MeshInterfaceConfig,
  ctx: InterfaceContext,
): Promise<ListeningInterface> {
  if (config.socketOptions !== undefined)
    ctx.log.warn({}, "io.l5d.mesh: socketOptions are not applied (grpc-js manages its sockets)");
  if (config.h2AccessLogRollPolicy !== undefined || config.h2AccessLogRotateCount !== undefined)
    ctx.log.warn(
      {},
      "io.l5d.mesh: h2AccessLog is not rolled by namerd; rotate it with logrotate (copytruncate)",
    );
  const releases: Releases = new Set();
  const accessLog =
    config.h2AccessLog === undefined
      ? undefined
      : new MeshAccessLog(config.h2AccessLog, config.h2AccessLogAppend);
  const server = new Server({
    // linkers hold their streams for days and ping to detect a dead namerd: let them
    "grpc.keepalive_permit_without_calls": 1,
  });
  const svc = services(ctx, releases);
  // the access log sees every call of every service: wrap each handler
  const wrap = <S extends object>(impl: S): S => {
    if (accessLog === undefined) return impl;
    const entries = Object.entries(impl).map(([k, f]) => {
      const handler = f as (call: MeshCall, ...rest: unknown[]) => void;
      return [
        k,
        (call: MeshCall, ...rest: unknown[]) => {
          accessLog.track(call);
          handler(call, ...rest);
        },
      ];
    });
    return Object.fromEntries(entries) as S;
  };
  server.addService(mesh.InterpreterService, wrap(svc.interpreter));
  server.addService(mesh.ResolverService, wrap(svc.resolver));
  server.addService(mesh.DelegatorService, wrap(svc.delegator));
  server.addService(mesh.CodecService, wrap(svc.codec));
  const host = config.ip.includes(":") ? `[${config.ip}]` : config.ip;
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${config.port}`, credentials(config), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  }).catch(async (e: Error) => {
    await accessLog?.close();
    throw new Error(`io.l5d.mesh cannot listen on ${config.ip}:${config.port}: ${e.message}`);
  });
  ctx.log.info({ ip: config.ip, port: boundPort }, "namerd mesh interface listening");
  let closed: Promise<void> | undefined;
  return {
    host: config.ip,
    port: boundPort,
    close: () => {
      closed ??= (async () => {
        for (const r of [...releases]) r();
        server.forceShutdown();
        await accessLog?.close();
      })();
      return closed;
    },
  };
}
