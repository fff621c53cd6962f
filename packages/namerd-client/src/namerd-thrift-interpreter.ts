/**
 * `io.l5d.namerd`: a router's names are bound by namerd through its ThriftMux interface
 * (`io.l5d.thriftNameInterpreter`, port 4100), as Linkerd 1's namerd interpreter does, so a
 * fleet can mix Linkerd 1 and l5d-ts linkers on one namerd. Each (dtab, name) is one bind
 * long-poll and each bound id one addr long-poll (`thrift/long-poll.ts`), shared by every
 * observer and released (Tdiscarded) when the last one leaves. The request's dtab (the
 * router's `dtab` plus the request's `l5d-dtab`) travels in BindReq.dtab, so namerd binds
 * through its namespace's dtab followed by it.
 *
 * While namerd is unreachable the linker keeps the last trees and addresses it had, retries
 * with backoff (`retry`), and says so in `state()`. A bind namerd never answered fails with an
 * error naming namerd and its address (the router answers UNAVAILABLE with it) and keeps
 * retrying: namerd's first answer makes it succeed.
 */
import { readFileSync } from "node:fs";
import { nonEmptyString, type PluginFactory, pluginCommonShape } from "@l5d/config";
import {
  Activity,
  type ActivityState,
  Addr,
  type DelegateTree,
  Dtab,
  markSelected,
  type NameBound,
  type NameInterpreter,
  type NameTree,
  Path,
  resolveDelegateAddrs,
  type Var,
} from "@l5d/dtab";
import { z } from "zod";
import { FeedVar } from "./feed-var.js";
import { FeedVarCache } from "./feed-var-cache.js";
import {
  failureThresholdSchema,
  namespaceSchema,
  orderedRetrySchema,
  pathSchema,
  retryMs,
} from "./namerd-client-schema.js";
import type { NamerdClientState } from "./namerd-client-status.js";
import { NamerdConnection } from "./namerd-watch.js";
import { LongPoll } from "./thrift/long-poll.js";
import { type NamerClientTls, ThriftNamerClient } from "./thrift/namer-client.js";
import { addrMethod, bindMethod, delegateMethod, dtabMethod } from "./thrift/namer-idl.js";
import {
  addrFromThrift,
  boundTreeFromThrift,
  delegateRequestTree,
  delegateTreeFromThrift,
} from "./thrift/namer-trees.js";
import { withStateAndTransformers } from "./with-transformers.js";

/** How long `delegate` waits for namerd's answer, then for the leaves' first addresses. */
export const THRIFT_DELEGATE_TIMEOUT_MS = 10_000;
const EMPTY = Buffer.alloc(0);

export const namerdThriftInterpreterSchema = z.strictObject({
  ...pluginCommonShape,
  kind: z.literal("io.l5d.namerd"),
  /** Where namerd's thrift interface is: a path the `/$` namers bind (`/$/inet/namerd/4100`). */
  dst: pathSchema("/$/inet/namerd/4100"),
  namespace: namespaceSchema,
  /** Linkerd's defaults: 5 s doubling with jitter up to 10 minutes (fractions allowed here). */
  retry: orderedRetrySchema(5),
  /** Linkerd's namerd client TLS: the name to check, and the CA to trust (else the system's). */
  tls: z
    .strictObject({ commonName: nonEmptyString(), caCert: nonEmptyString().optional() })
    .optional(),
  /** Mux pings to namerd (Linkerd's threshold failure detector). */
  failureThreshold: failureThresholdSchema,
});
export type NamerdThriftInterpreterConfig = z.infer<typeof namerdThriftInterpreterSchema>;

export interface NamerdThriftInterpreterOptions {
  readonly dst: Path;
  readonly namespace: string;
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
  readonly tls?: NamerClientTls;
  readonly pingIntervalMs?: number;
  readonly pingTimeoutMs?: number;
  /** Sent as every request's clientId (Linkerd sends the empty path). */
  readonly clientId?: Path;
}

export class NamerdThriftInterpreter implements NameInterpreter {
  readonly #conn: NamerdConnection;
  readonly #client: ThriftNamerClient;
  readonly #clientId: Path;
  /** One long-poll per (dtab, name) and per bound id, each shared by its observers. */
  readonly #binds = new FeedVarCache<ActivityState<NameTree<NameBound>>>();
  readonly #addrs = new FeedVarCache<Addr>();
  #dtab: FeedVar<ActivityState<Dtab>> | undefined;

  constructor(opts: NamerdThriftInterpreterOptions) {
    this.#conn = new NamerdConnection(opts.dst, opts.namespace, opts.retry);
    this.#clientId = opts.clientId ?? Path.empty;
    this.#client = new ThriftNamerClient({
      dst: opts.dst,
      ...(opts.tls ? { tls: opts.tls } : {}),
      ...(opts.pingIntervalMs !== undefined ? { pingIntervalMs: opts.pingIntervalMs } : {}),
      ...(opts.pingTimeoutMs !== undefined ? { pingTimeoutMs: opts.pingTimeoutMs } : {}),
      onSession: (ev) => {
        if (ev.address) this.#conn.address = ev.address;
        this.#conn.connected = ev.up;
        if (!ev.up) {
          this.#conn.reconnects++;
          this.#conn.lastError = ev.cause?.message ?? "namerd closed the session";
        }
      },
    });
  }

  /** The bound tree of `path` under namerd's namespace dtab followed by `dtab`, long-polled. */
  bind(dtab: Dtab, path: Path): Activity<NameTree<NameBound>> {
    const ns = this.#conn.namespace;
    return this.#binds.get(`${dtab.show}\n${path.show}`, Activity.pending, (emit, current) => {
      // until namerd has answered, an outage or a refusal is this bind's failure; after,
      // the last tree stands (Linkerd keeps routing with it) and state() tells the story
      const failUnlessAnswered = (e: Error) => {
        if (current().kind !== "ok") emit(Activity.failed(e));
      };
      return new LongPoll(
        this.#conn,
        this.#client,
        bindMethod,
        (stamp) => ({
          dtab: dtab.show,
          name: { stamp, name: path, ns },
          clientId: this.#clientId,
        }),
        {
          value: (rep) => emit(Activity.ok(boundTreeFromThrift(rep.tree, (id) => this.#addr(id)))),
          refused: failUnlessAnswered,
          lost: failUnlessAnswered,
        },
      );
    });
  }

  /** The addresses of a bound id, long-polled from namerd, shared per id. */
  #addr(id: Path): Var<Addr> {
    const ns = this.#conn.namespace;
    return this.#addrs.get(id.show, Addr.pending, (emit, current) => {
      const failUnlessAnswered = (e: Error) => {
        const c = current();
        if (c.type === "pending" || c.type === "failed") emit(Addr.failed(e));
      };
      return new LongPoll(
        this.#conn,
        this.#client,
        addrMethod,
        (stamp) => ({ name: { stamp, name: id, ns }, clientId: this.#clientId }),
        {
          value: (rep) => emit(addrFromThrift(rep.value)),
          refused: failUnlessAnswered,
          lost: failUnlessAnswered,
        },
      );
    });
  }

  /** namerd's dtab for the namespace, long-polled (e.g. for the admin dtab page). */
  dtab(): Activity<Dtab> {
    if (this.#dtab) return this.#dtab;
    const ns = this.#conn.namespace;
    const v = new FeedVar<ActivityState<Dtab>>(
      Activity.pending,
      (emit, current) =>
        new LongPoll(
          this.#conn,
          this.#client,
          dtabMethod,
          (stamp) => ({ stamp, ns, clientId: this.#clientId }),
          {
            value: (rep) => emit(Activity.ok(Dtab.read(rep.dtab))),
            // namerd refusing the namespace is a failure even after an answer
            refused: (e) => emit(Activity.failed(e)),
            lost: (e) => {
              if (current().kind !== "ok") emit(Activity.failed(e));
            },
          },
        ),
      () => {},
    );
    this.#dtab = v;
    return v;
  }

  /** namerd's explanation of how `path` delegates (one `delegate` call, not long-polled). */
  async delegate(dtab: Dtab, path: Path): Promise<DelegateTree> {
    const signal = AbortSignal.timeout(THRIFT_DELEGATE_TIMEOUT_MS);
    const reply = await this.#client
      .call(
        delegateMethod,
        {
          dtab: dtab.show,
          delegation: { stamp: EMPTY, tree: delegateRequestTree(path), ns: this.#conn.namespace },
          clientId: this.#clientId,
        },
        signal,
      )
      .catch((e: Error) => {
        this.#conn.address = this.#client.address;
        throw this.#conn.unreachable(e.message);
      });
    const where = `namerd ${this.#conn.dst.show} (${this.#client.address ?? "?"})`;
    if (reply.kind === "failure") throw new Error(`${where}: ${reply.failure.reason}`);
    if (reply.kind === "exception") throw new Error(`${where}: ${reply.error.message}`);
    const tree = delegateTreeFromThrift(reply.value.tree, (id) => this.#addr(id));
    await resolveDelegateAddrs(tree, THRIFT_DELEGATE_TIMEOUT_MS);
    markSelected(tree);
    return tree;
  }

  /** For the admin page: where namerd is, whether it answers, the last error. */
  state(): NamerdClientState {
    return this.#conn.state();
  }

  /** Releases every long-poll and closes the session. */
  close(): void {
    this.#client.close();
  }
}

export const namerdThriftInterpreterFactory: PluginFactory<
  NamerdThriftInterpreterConfig,
  NameInterpreter
> = {
  kind: "io.l5d.namerd",
  schema: namerdThriftInterpreterSchema,
  make(config, ctx) {
    const tls = config.tls;
    const interp = new NamerdThriftInterpreter({
      dst: config.dst,
      namespace: config.namespace,
      retry: retryMs(config.retry),
      pingIntervalMs: config.failureThreshold.minPeriodMs,
      pingTimeoutMs: config.failureThreshold.closeTimeoutMs,
      ...(tls
        ? {
            tls: {
              commonName: tls.commonName,
              ...(tls.caCert ? { ca: readCaCert(tls.caCert) } : {}),
            },
          }
        : {}),
    });
    ctx.onClose(() => interp.close());
    return withStateAndTransformers(interp, ctx);
  },
};

function readCaCert(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`tls.caCert: cannot read ${path}: ${(e as Error).message}`);
  }
}
