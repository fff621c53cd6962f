/**
 * Test rig of the failure-accrual suites: the frame-level relay on 127.0.0.1 in front of an
 * `H2Router` over fixed loopback endpoints (round robin: deterministic turns), with
 * `io.l5d.consecutiveFailures` at `failures` and a constant accrual backoff, and a node:http2
 * client session to the relay. Requests with `:authority: svc` go to client `/#/test/svc`.
 * The records of finished requests (`onRequestDone`) are kept.
 */
import type * as http2 from "node:http2";
import { Activity, Addr, address, Dtab, NameBound, NameTree, Path, VarCell } from "@l5d/dtab";
import { h2Client } from "../dataplane/test-support.js";
import { MetricsRegistry } from "../metrics/metrics-registry.js";
import { type RelayServer, startRelayServer } from "../relay/relay-server.js";
import { RoundRobinBalancer } from "./balancer-round-robin.js";
import type { EndpointAccrualView } from "./failure-accrual.js";
import { ConsecutiveFailuresPolicy } from "./failure-accrual-policies.js";
import { headerTokenIdentifier } from "./identifier-header-token.js";
import type { ResponseClassifier } from "./response-classifier.js";
import { H2Router, type RequestRecord, ServerScope } from "./router.js";

export const ACCRUAL_CLIENT = "#/test/svc";
/** The rig's metric scopes. */
export const SERVER_SCOPE = "rt/rt/server/127.0.0.1/0";
export const CLIENT_SCOPE = `rt/rt/client/${ACCRUAL_CLIENT}`;

export interface AccrualRigOptions {
  /** The service's classifier (undefined: the h2 default `nonRetryable5XX`, no retries). */
  readonly classifier?: ResponseClassifier | undefined;
  readonly failures: number;
  readonly backoffMs: number;
  /** The name's first binding takes this long (a slow namer); later requests use the cache. */
  readonly bindDelayMs?: number | undefined;
}

export interface AccrualRig {
  readonly relay: RelayServer;
  readonly router: H2Router;
  readonly metrics: MetricsRegistry;
  readonly session: http2.ClientHttp2Session & AsyncDisposable;
  readonly records: RequestRecord[];
  /** What the router logged (`warn` and `info`), message and fields. */
  readonly logs: Array<{ msg: string; fields: Record<string, unknown> }>;
  /** A metric's value (counter or gauge) from the registry's flat view (0 when absent). */
  metric(name: string): number;
  /** The failure-accrual view of the endpoint on `port`. */
  accrual(port: number): EndpointAccrualView;
  /** Whether the balancer may pick the endpoint on `port`. */
  available(port: number): boolean;
  close(): Promise<void>;
}

export async function startAccrualRig(
  ports: readonly number[],
  o: AccrualRigOptions,
): Promise<AccrualRig> {
  const addrs = new VarCell<Addr>(Addr.bound(ports.map((p) => address("127.0.0.1", p))));
  const bound = new NameBound(Path.read(`/${ACCRUAL_CLIENT}`), addrs, Path.empty);
  const metrics = new MetricsRegistry();
  const records: RequestRecord[] = [];
  const logs: AccrualRig["logs"] = [];
  const keep = (fields: object, msg?: string) =>
    logs.push({ msg: msg ?? "", fields: fields as Record<string, unknown> });
  const router = new H2Router({
    label: "rt",
    baseDtab: Dtab.empty,
    identifier: headerTokenIdentifier({ header: ":authority" })(Path.read("/svc")),
    interpreter: {
      bind: () => {
        if (!o.bindDelayMs) return Activity.value(NameTree.leaf(bound));
        const cell = Activity.cell<NameTree<NameBound>>();
        setTimeout(() => cell.update(Activity.ok(NameTree.leaf(bound))), o.bindDelayMs);
        return cell;
      },
    },
    loadBalancer: () => new RoundRobinBalancer(),
    metrics,
    service: () => ({
      classifier: o.classifier,
      retries: {
        budget: { minRetriesPerSec: 10, percentCanRetry: 0.2, ttlSecs: 10 },
        backoff: { kind: "constant", ms: 0 },
      },
    }),
    client: () => ({
      failureAccrual: () =>
        new ConsecutiveFailuresPolicy(o.failures, { kind: "constant", ms: o.backoffMs }),
    }),
    onRequestDone: (r) => records.push(r),
    log: { warn: keep, info: keep, debug: () => {} },
  });
  const scope = new ServerScope(metrics, "rt", "127.0.0.1", 0);
  const relay = await startRelayServer({
    host: "127.0.0.1",
    port: 0,
    onRequest: (req) => router.handle(req, scope),
  });
  const session = h2Client(relay.port);
  const endpoint = (port: number) => {
    for (const c of router.clients())
      for (const e of c.endpoints) if (e.key === `127.0.0.1:${port}`) return e;
    return undefined;
  };
  return {
    relay,
    router,
    metrics,
    session,
    records,
    logs,
    metric: (name) => metrics.toFlatJson()[name] ?? 0,
    accrual: (port) => endpoint(port)?.accrual ?? { state: "alive" },
    available: (port) => endpoint(port)?.available ?? true,
    async close() {
      await session[Symbol.asyncDispose]();
      router.close();
      await relay.close();
    },
  };
}
