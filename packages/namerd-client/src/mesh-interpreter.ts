/**
 * `io.l5d.mesh`: a router's names are bound by namerd through its gRPC mesh API (Linkerd's
 * mesh interpreter), not by the linker's own namers. Each (dtab, name) is one
 * StreamBoundTree call, each bound id one StreamReplicas call, both shared by every observer
 * and cancelled when the last one leaves. The request's dtab (the router's `dtab` plus the
 * request's `l5d-dtab`) travels in BindReq.dtab, so namerd binds through its namespace's dtab
 * followed by it.
 *
 * While namerd is unreachable the linker keeps the last trees and addresses it had, retries
 * with backoff (`retry`), and says so in `state()`. A bind namerd never answered fails with an
 * error naming namerd and its address (the router answers UNAVAILABLE with it), and keeps
 * retrying: the first answer makes it succeed.
 */
import { type ChannelCredentials, type ChannelOptions, credentials, Metadata } from "@grpc/grpc-js";
import {
  Activity,
  type ActivityState,
  Addr,
  type DelegateTree,
  type Dtab,
  markSelected,
  type NameBound,
  type NameInterpreter,
  type NameTree,
  type Path,
  resolveDelegateAddrs,
  type Var,
} from "@l5d/dtab";
import type { mesh } from "@l5d/proto";
import { FeedVar } from "./feed-var.js";
import { FeedVarCache } from "./feed-var-cache.js";
import {
  boundTreeFromProto,
  delegateTreeFromProto,
  dtabFromProto,
  dtabToProto,
  namespaceFromRoot,
  pathToProto,
  pathTreeToProto,
  replicasToAddr,
} from "./mesh-codec.js";
import { MeshConnection } from "./mesh-connection.js";
import {
  type MeshInterpreterConfig,
  type MeshTlsFiles,
  readMeshTlsFiles,
} from "./mesh-interpreter-schema.js";
import { MeshStream } from "./mesh-stream.js";
import type { NamerdClientState } from "./namerd-client-status.js";

/** How long `delegate` waits for namerd's answer, then for the leaves' first addresses. */
export const MESH_DELEGATE_TIMEOUT_MS = 10_000;

export interface MeshInterpreterOptions {
  readonly dst: Path;
  /** The one-element namespace path (`/default`). */
  readonly root: Path;
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
  readonly credentials?: ChannelCredentials;
  readonly channelOptions?: ChannelOptions;
}

export class MeshInterpreter implements NameInterpreter {
  readonly #conn: MeshConnection;
  readonly #root: mesh.Path;
  /** One stream per (dtab, name) and per bound id, each shared by its observers. */
  readonly #binds = new FeedVarCache<ActivityState<NameTree<NameBound>>>();
  readonly #addrs = new FeedVarCache<Addr>();
  #dtab: FeedVar<ActivityState<Dtab>> | undefined;

  constructor(opts: MeshInterpreterOptions) {
    const namespace = namespaceFromRoot(opts.root);
    this.#root = pathToProto(opts.root);
    this.#conn = new MeshConnection({
      dst: opts.dst,
      namespace,
      retry: opts.retry,
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      ...(opts.channelOptions ? { channelOptions: opts.channelOptions } : {}),
    });
  }

  /** The bound tree of `path` under namerd's namespace dtab followed by `dtab`, streamed. */
  bind(dtab: Dtab, path: Path): Activity<NameTree<NameBound>> {
    return this.#binds.get(`${dtab.show}\n${path.show}`, Activity.pending, (emit, current) => {
      const req: mesh.BindReq = {
        root: this.#root,
        name: pathToProto(path),
        dtab: dtabToProto(dtab),
      };
      // until namerd has answered, an outage or a refusal is this bind's failure; after,
      // the last tree stands (Linkerd keeps routing with it) and state() tells the story
      const failUnlessAnswered = (e: Error) => {
        if (current().kind !== "ok") emit(Activity.failed(e));
      };
      return new MeshStream(this.#conn, (c) => c.interpreter.streamBoundTree(req), {
        message: (rsp: mesh.BoundTreeRsp) =>
          emit(Activity.ok(boundTreeFromProto(rsp.tree, (id) => this.#addr(id)))),
        lost: failUnlessAnswered,
        refused: failUnlessAnswered,
      });
    });
  }

  /** The addresses of a bound id, streamed from namerd's Resolver, shared per id. */
  #addr(id: Path): Var<Addr> {
    return this.#addrs.get(id.show, Addr.pending, (emit, current) => {
      const req: mesh.ReplicasReq = { id: pathToProto(id) };
      const failUnlessAnswered = (e: Error) => {
        if (current().type === "pending") emit(Addr.failed(e));
      };
      return new MeshStream(this.#conn, (c) => c.resolver.streamReplicas(req), {
        message: (r: mesh.Replicas) => emit(replicasToAddr(r)),
        lost: failUnlessAnswered,
        refused: failUnlessAnswered,
      });
    });
  }

  /** namerd's dtab for the namespace (Delegator.StreamDtab), e.g. for the admin dtab page. */
  dtab(): Activity<Dtab> {
    if (this.#dtab) return this.#dtab;
    const req: mesh.DtabReq = { root: this.#root };
    const v = new FeedVar<ActivityState<Dtab>>(
      Activity.pending,
      (emit, current) => {
        const failUnlessAnswered = (e: Error) => {
          if (current().kind !== "ok") emit(Activity.failed(e));
        };
        return new MeshStream(this.#conn, (c) => c.delegator.streamDtab(req), {
          message: (rsp: mesh.DtabRsp) => emit(Activity.ok(dtabFromProto(rsp.dtab?.dtab))),
          lost: failUnlessAnswered,
          // a namespace that does not exist (NOT_FOUND) is a failure even after an answer
          refused: (e) => emit(Activity.failed(e)),
        });
      },
      () => {},
    );
    this.#dtab = v;
    return v;
  }

  /** namerd's explanation of how `path` delegates (Delegator.GetDelegateTree). */
  async delegate(dtab: Dtab, path: Path): Promise<DelegateTree> {
    const clients = await this.#conn.clients().catch((e: Error) => {
      throw this.#conn.unreachable(e.message);
    });
    const req: mesh.DelegateTreeReq = {
      root: this.#root,
      tree: pathTreeToProto({ type: "leaf", value: path }),
      dtab: dtabToProto(dtab),
    };
    const rsp = await new Promise<mesh.DelegateTreeRsp>((resolve, reject) => {
      clients.delegator.getDelegateTree(
        req,
        new Metadata(),
        { deadline: Date.now() + MESH_DELEGATE_TIMEOUT_MS },
        (err, value) => {
          if (err)
            reject(
              new Error(
                `namerd ${this.#conn.dst.show} (${clients.address}): ${err.details || err.message}`,
              ),
            );
          else resolve(value);
        },
      );
    });
    const tree = delegateTreeFromProto(rsp.tree, (id) => this.#addr(id));
    await resolveDelegateAddrs(tree, MESH_DELEGATE_TIMEOUT_MS);
    markSelected(tree);
    return tree;
  }

  /** For the admin page: where namerd is, whether it answers, the last error. */
  state(): NamerdClientState {
    return this.#conn.state();
  }

  /** Cancels every stream and closes the channel. */
  close(): void {
    this.#conn.close();
  }
}

/** Channel credentials and options for a config (TLS, pings, flow-control window, backoff). */
export function meshChannel(
  config: MeshInterpreterConfig,
  files: MeshTlsFiles | undefined = readMeshTlsFiles(config),
): {
  credentials: ChannelCredentials;
  channelOptions: ChannelOptions;
} {
  const baseMs = config.retry.baseSeconds * 1000;
  const maxMs = config.retry.maxSeconds * 1000;
  const channelOptions: ChannelOptions = {
    // reconnecting is one TCP connect per linker: keep it prompt so streams resume soon
    // after namerd comes back, whatever the per-stream backoff has grown to
    "grpc.initial_reconnect_backoff_ms": Math.min(baseMs, 1_000),
    "grpc.max_reconnect_backoff_ms": Math.min(maxMs, 30_000),
    "grpc.keepalive_time_ms": config.failureThreshold.minPeriodMs,
    "grpc.keepalive_timeout_ms": config.failureThreshold.closeTimeoutMs,
  };
  if (config.initialStreamWindowSizeKB !== undefined)
    channelOptions["grpc-node.flow_control_window"] = config.initialStreamWindowSizeKB * 1024;
  const tls = config.tls;
  if (tls === undefined) return { credentials: credentials.createInsecure(), channelOptions };
  if (tls.commonName !== undefined) {
    channelOptions["grpc.ssl_target_name_override"] = tls.commonName;
    channelOptions["grpc.default_authority"] = tls.commonName;
  }
  const creds = credentials.createSsl(
    files?.roots ?? null,
    files?.key ?? null,
    files?.cert ?? null,
    tls.disableValidation
      ? { rejectUnauthorized: false, checkServerIdentity: () => undefined }
      : {},
  );
  return { credentials: creds, channelOptions };
}
