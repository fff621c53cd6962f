/**
 * Test rig shared by the relay's router tests (`relay-retries.test.ts`,
 * `relay-connect-timeout.test.ts`, `relay-upstreams.test.ts`): a frame-level relay on
 * 127.0.0.1 whose requests go through an `H2Router` to a set of loopback endpoints (round
 * robin, retries with a generous budget and no backoff, failure accrual that never ejects; the
 * set can be changed through `addrs`), the router steering the relay's upstream connections
 * (`RelayUpstreams`), and a node:http2 client session to it. Every request with
 * `:authority: svc` is routed to client `/#/test/svc`.
 */
import type * as http2 from "node:http2";
import { Activity, Addr, address, Dtab, NameBound, NameTree, Path, VarCell } from "@l5d/dtab";
import { h2Client } from "../dataplane/test-support.js";
import { MetricsRegistry } from "../metrics/metrics-registry.js";
import { RoundRobinBalancer } from "../router/balancer-round-robin.js";
import { grpcClassifierFactories } from "../router/classifier-grpc.js";
import { ConsecutiveFailuresPolicy } from "../router/failure-accrual-policies.js";
import { headerTokenIdentifier } from "../router/identifier-header-token.js";
import type { ResponseClassifier } from "../router/response-classifier.js";
import { H2Router, ServerScope } from "../router/router.js";
import type { ClientPolicy, ServicePolicy } from "../router/service-policy.js";
import { type RelayServer, startRelayServer } from "./relay-server.js";
import { RelayUpstreams } from "./upstream.js";

/** The bound client id every rig request is routed to (metrics scope `rt/rt/client/<id>/…`). */
export const RIG_CLIENT_ID = "#/test/svc";

/** `io.l5d.h2.grpc.retryableStatusCodes` with `codes`, made by its factory as the config would. */
export function retryableStatusCodes(codes: number[]): ResponseClassifier {
  const f = grpcClassifierFactories.find((x) => x.kind === "io.l5d.h2.grpc.retryableStatusCodes");
  if (f === undefined) throw new Error("no retryableStatusCodes classifier");
  return (f.make as (cfg: unknown) => ResponseClassifier)({
    kind: "io.l5d.h2.grpc.retryableStatusCodes",
    retryableStatusCodes: codes,
  });
}

export interface RelayRouterRigOptions {
  readonly classifier: ResponseClassifier;
  /** Overrides of the service policy (retries, buffers, timeouts). */
  readonly policy?: Partial<ServicePolicy> | undefined;
  /** Overrides of the client policy (requeue budget...). */
  readonly client?: Partial<ClientPolicy> | undefined;
  /** The relay's upstream connect timeout (its default when undefined). */
  readonly connectTimeoutMs?: number | undefined;
}

/** `127.0.0.1:<port>` addresses as a namer would bind them. */
export function loopbackAddr(ports: readonly number[]): Addr {
  return Addr.bound(ports.map((p) => address("127.0.0.1", p)));
}

export interface RelayRouterRig {
  readonly relay: RelayServer;
  readonly router: H2Router;
  /** The relay's upstream connections, shared with the router (`upstreams`). */
  readonly upstreams: RelayUpstreams;
  /** The bound name's addresses: set a new `Addr` to change the endpoints. */
  readonly addrs: VarCell<Addr>;
  readonly metrics: MetricsRegistry;
  readonly session: http2.ClientHttp2Session & AsyncDisposable;
  /** Closes the session, the router and the relay. */
  close(): Promise<void>;
}

/** Starts a relay behind a router over `ports` (see the file comment). */
export async function startRelayRouterRig(
  ports: readonly number[],
  opts: RelayRouterRigOptions,
): Promise<RelayRouterRig> {
  const addrs = new VarCell<Addr>(loopbackAddr(ports));
  const upstreams = new RelayUpstreams(opts.connectTimeoutMs);
  const bound = new NameBound(Path.read(`/${RIG_CLIENT_ID}`), addrs, Path.empty);
  const metrics = new MetricsRegistry();
  const router = new H2Router({
    label: "rt",
    baseDtab: Dtab.empty,
    identifier: headerTokenIdentifier({ header: ":authority" })(Path.read("/svc")),
    interpreter: { bind: () => Activity.value(NameTree.leaf(bound)) },
    loadBalancer: () => new RoundRobinBalancer(),
    metrics,
    upstreams,
    service: () => ({
      classifier: opts.classifier,
      retries: {
        budget: { minRetriesPerSec: 100, percentCanRetry: 0.5, ttlSecs: 10 },
        backoff: { kind: "constant", ms: 0 },
      },
      ...opts.policy,
    }),
    client: () => ({
      failureAccrual: () => new ConsecutiveFailuresPolicy(1000, { kind: "constant", ms: 100 }),
      ...opts.client,
    }),
  });
  const scope = new ServerScope(metrics, "rt", "127.0.0.1", 0);
  const relay = await startRelayServer({
    host: "127.0.0.1",
    port: 0,
    upstreams,
    onRequest: (req) => router.handle(req, scope),
  });
  const session = h2Client(relay.port);
  return {
    relay,
    router,
    upstreams,
    addrs,
    metrics,
    session,
    async close() {
      await session[Symbol.asyncDispose]();
      router.close();
      await relay.close();
      upstreams.close();
    },
  };
}
