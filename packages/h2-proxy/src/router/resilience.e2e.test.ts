/**
 * Fault tests for the router's resilience (issue 6), on loopback: the router behind a real
 * frame-level relay server, node:http2 gRPC-style backends, bounded load (counted loops with a time bound). The endpoint
 * set comes from an Addr VarCell (a namer stand-in) so endpoints can be added and removed under
 * load.
 */
import type * as http2 from "node:http2";
import { Activity, Addr, address, Dtab, NameBound, NameTree, Path, VarCell } from "@l5d/dtab";
import { afterEach, describe, expect, it } from "vitest";
import {
  grpcFrame,
  type H2Backend,
  h2Client,
  SVC_CALL,
  simpleRequest,
  startH2Backend,
} from "../dataplane/test-support.js";
import { MetricsRegistry } from "../metrics/metrics-registry.js";
import { type RelayServer, startRelayServer } from "../relay/relay-server.js";
import { RelayUpstreams } from "../relay/upstream.js";
import type { BackoffConfig } from "./backoff.js";
import { EwmaBalancer } from "./balancer-ewma.js";
import { P2cBalancer } from "./balancer-p2c.js";
import { grpcDefault } from "./classifier-grpc.js";
import { ConsecutiveFailuresPolicy } from "./failure-accrual-policies.js";
import { headerTokenIdentifier } from "./identifier-header-token.js";
import type { LoadBalancer } from "./load-balancer.js";
import type { ResponseClassifier } from "./response-classifier.js";
import type { RetryBudgetConfig } from "./retry-budget.js";
import { H2Router, ServerScope } from "./router.js";

type Mode = "ok" | "fail" | "unavailable";

interface Backend {
  h2: H2Backend;
  mode: Mode;
  latencyMs: number;
  /** Response messages per call, `gapMs` apart (a server stream). */
  messages: number;
  gapMs: number;
  calls: number;
  /** When > 0, every `failEvery`-th call answers UNAVAILABLE whatever the mode. */
  failEvery: number;
}

async function backend(mode: Mode = "ok", latencyMs = 0): Promise<Backend> {
  const b: Backend = {
    mode,
    latencyMs,
    messages: 1,
    gapMs: 0,
    calls: 0,
    failEvery: 0,
    h2: undefined as unknown as H2Backend,
  };
  const handler = (stream: http2.ServerHttp2Stream) => {
    b.calls++;
    const mode = b.failEvery > 0 && b.calls % b.failEvery === 0 ? "unavailable" : b.mode;
    stream.resume();
    const answer = () => {
      if (stream.destroyed) return;
      if (mode === "unavailable" || mode === "fail") {
        stream.respond(
          {
            ":status": 200,
            "content-type": "application/grpc",
            "grpc-status": mode === "fail" ? "13" : "14",
            "grpc-message": mode,
          },
          { endStream: true },
        );
        return;
      }
      stream.respond(
        { ":status": 200, "content-type": "application/grpc" },
        { waitForTrailers: true },
      );
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      let sent = 0;
      const next = () => {
        if (stream.destroyed) return;
        stream.write(grpcFrame(Buffer.from(`hello ${b.h2.port}`)));
        if (++sent >= b.messages) stream.end();
        else setTimeout(next, b.gapMs);
      };
      next();
    };
    if (b.latencyMs > 0) setTimeout(answer, b.latencyMs);
    else answer();
  };
  b.h2 = await startH2Backend(handler);
  return b;
}

interface Rig {
  proxy: RelayServer;
  router: H2Router;
  metrics: MetricsRegistry;
  addrs: VarCell<Addr>;
  session: http2.ClientHttp2Session & AsyncDisposable;
  close(): Promise<void>;
}

interface RigOptions {
  balancer?: () => LoadBalancer;
  classifier?: ResponseClassifier;
  failures?: number;
  accrualBackoff?: BackoffConfig;
  budget?: RetryBudgetConfig;
  totalTimeoutMs?: number;
}

const CLIENT_ID = "#/test/svc";

async function rig(backends: Backend[], o: RigOptions = {}): Promise<Rig> {
  const addrs = new VarCell<Addr>(Addr.bound(backends.map((b) => address("127.0.0.1", b.h2.port))));
  const bound = new NameBound(Path.read(`/${CLIENT_ID}`), addrs, Path.empty);
  const metrics = new MetricsRegistry();
  const upstreams = new RelayUpstreams();
  const router = new H2Router({
    label: "rt",
    baseDtab: Dtab.empty,
    identifier: headerTokenIdentifier({ header: ":authority" })(Path.read("/svc")),
    interpreter: { bind: () => Activity.value(NameTree.leaf(bound)) },
    loadBalancer: o.balancer ?? (() => new P2cBalancer()),
    metrics,
    upstreams,
    service: () => ({
      classifier: o.classifier,
      retries: {
        budget: o.budget ?? { minRetriesPerSec: 10, percentCanRetry: 0.2, ttlSecs: 10 },
        backoff: { kind: "constant", ms: 0 },
      },
      totalTimeoutMs: o.totalTimeoutMs,
    }),
    client: () => ({
      failureAccrual: () =>
        new ConsecutiveFailuresPolicy(
          o.failures ?? 5,
          o.accrualBackoff ?? { kind: "constant", ms: 200 },
        ),
    }),
  });
  const scope = new ServerScope(metrics, "rt", "127.0.0.1", 0);
  const proxy = await startRelayServer({
    host: "127.0.0.1",
    port: 0,
    upstreams,
    onRequest: (req) => router.handle(req, scope),
  });
  const session = h2Client(proxy.port);
  return {
    proxy,
    router,
    metrics,
    addrs,
    session,
    async close() {
      await session[Symbol.asyncDispose]();
      router.close();
      await proxy.close(0);
      upstreams.close();
    },
  };
}

interface Call {
  grpcStatus: number | undefined;
  status: number | undefined;
  body: string;
  rst: number | undefined;
  headers: http2.IncomingHttpHeaders;
}

async function call(r: Rig, extra: http2.OutgoingHttpHeaders = {}): Promise<Call> {
  const res = await simpleRequest(
    r.session,
    {
      ...SVC_CALL,
      ...extra,
    },
    grpcFrame(Buffer.from("hi")),
  );
  const gs = res.trailers?.["grpc-status"] ?? res.headers["grpc-status"];
  return {
    grpcStatus: gs === undefined ? undefined : Number(gs),
    status: res.headers[":status"] === undefined ? undefined : Number(res.headers[":status"]),
    body: res.body.toString("latin1"),
    rst: res.rstCode,
    headers: res.headers,
  };
}

/** Runs `n` calls, `concurrency` at a time, within `timeoutMs`. */
async function load(
  r: Rig,
  n: number,
  concurrency: number,
  timeoutMs = 10_000,
  each?: (i: number) => void,
): Promise<Call[]> {
  const out: Call[] = [];
  const deadline = Date.now() + timeoutMs;
  let next = 0;
  const worker = async () => {
    while (next < n && Date.now() < deadline) {
      const i = next++;
      each?.(i);
      out.push(await call(r));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

const counter = (r: Rig, name: string) => r.metrics.counter(name).value;
const served = (c: Call) => /hello (\d+)/.exec(c.body)?.[1];

let open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close().catch(() => {});
  open = [];
});

async function setup(backends: Backend[], o: RigOptions = {}): Promise<Rig> {
  for (const b of backends) open.push(b.h2);
  const r = await rig(backends, o);
  open.push(r);
  return r;
}

describe("resilience under load (loopback, relay)", () => {
  it("a slow endpoint: p2c and ewma move load away from it", async () => {
    for (const [name, mk] of [
      ["p2c", () => new P2cBalancer()],
      ["ewma", () => new EwmaBalancer()],
    ] as const) {
      const fast = await backend("ok", 1);
      const slow = await backend("ok", 80);
      const r = await setup([fast, slow], { balancer: mk });
      const calls = await load(r, 200, 8);
      expect(calls.every((c) => c.grpcStatus === 0)).toBe(true);
      const split = { fast: fast.calls, slow: slow.calls };
      console.log(
        `[slow endpoint] ${name}: fast=${split.fast} slow=${split.slow} of ${calls.length}`,
      );
      expect(split.fast).toBeGreaterThan(split.slow * 2);
    }
  });

  it("one endpoint failing 100%: ejected by failure accrual, probed back after it heals", async () => {
    const good = await backend("ok");
    const bad = await backend("fail");
    const r = await setup([good, bad], {
      classifier: grpcDefault,
      failures: 3,
      accrualBackoff: { kind: "constant", ms: 300 },
    });
    const calls = await load(r, 100, 4);
    const failed = calls.filter((c) => c.grpcStatus !== 0).length;
    expect(failed).toBeGreaterThanOrEqual(3);
    expect(failed).toBeLessThan(10); // 3 to eject (+ a few in flight / probes)
    expect(counter(r, `rt/rt/client/${CLIENT_ID}/failure_accrual/removals`)).toBe(1);
    const eps = r.router.clients()[0]!.endpoints;
    expect(eps.find((e) => e.key.endsWith(`:${bad.h2.port}`))!.state).not.toBe("alive");
    bad.mode = "ok";
    const before = bad.calls;
    await new Promise((res) => setTimeout(res, 400));
    const after = await load(r, 100, 4);
    expect(after.every((c) => c.grpcStatus === 0)).toBe(true);
    expect(bad.calls).toBeGreaterThan(before + 5); // revived: it takes traffic again
    expect(counter(r, `rt/rt/client/${CLIENT_ID}/failure_accrual/revivals`)).toBe(1);
    console.log(
      `[accrual] failed while ejecting=${failed}, healed endpoint served ${bad.calls - before} of ${after.length} after revival`,
    );
  });

  it("a retryable gRPC UNAVAILABLE is retried and succeeds within the budget", async () => {
    const good = await backend("ok");
    const flaky = await backend("ok");
    flaky.failEvery = 2; // every other call to it answers UNAVAILABLE (never 5 in a row: not ejected)
    const r = await setup([good, flaky], { classifier: grpcDefault });
    const calls = await load(r, 100, 4);
    expect(calls).toHaveLength(100);
    expect(calls.filter((c) => c.grpcStatus !== 0)).toEqual([]);
    const retries = counter(r, "rt/rt/service/svc/svc/retries/total");
    expect(retries).toBeGreaterThan(0);
    expect(retries).toBe(Math.floor(flaky.calls / 2));
    expect(counter(r, "rt/rt/service/svc/svc/retries/budget_exhausted")).toBe(0);
    console.log(`[retries] ${retries} retries for ${calls.length} requests, all succeeded`);
  });

  it("a total outage exhausts the retry budget: retries bounded, clear errors, l5d-retryable", async () => {
    const a = await backend("unavailable");
    const b = await backend("unavailable");
    const r = await setup([a, b], {
      classifier: grpcDefault,
      failures: 1000,
      budget: { minRetriesPerSec: 1, percentCanRetry: 0.1, ttlSecs: 10 },
    });
    const calls = await load(r, 100, 4);
    expect(calls).toHaveLength(100);
    expect(calls.every((c) => c.grpcStatus === 14)).toBe(true);
    const retries = counter(r, "rt/rt/service/svc/svc/retries/total");
    expect(retries).toBeLessThanOrEqual(10 + 10); // reserve 1/s × 10 s + 10% of 100
    expect(a.calls + b.calls).toBe(100 + retries);
    // every request retried until the budget ran out, then answered with the retryable failure
    expect(counter(r, "rt/rt/service/svc/svc/retries/budget_exhausted")).toBe(100);
    expect(calls.every((c) => c.headers["l5d-retryable"] === "true")).toBe(true);
    expect(calls.every((c) => c.body === "" && c.headers["grpc-message"] === "unavailable")).toBe(
      true,
    );
    console.log(
      `[outage] ${retries} retries for 100 requests; all answered UNAVAILABLE with l5d-retryable`,
    );
  });

  it("a deadline shorter than the backend's latency: DEADLINE_EXCEEDED / 504", async () => {
    const slow = await backend("ok", 500);
    for (const classifier of [grpcDefault, undefined]) {
      const r = await setup([slow], {
        totalTimeoutMs: 100,
        ...(classifier ? { classifier } : {}),
      });
      const t0 = Date.now();
      const calls = await load(r, 6, 3);
      expect(calls.every((c) => c.grpcStatus === 4)).toBe(true);
      expect(Date.now() - t0).toBeLessThan(2000);
      const plain = await simpleRequest(r.session, {
        ":method": "GET",
        ":path": "/",
        ":authority": "svc",
      });
      expect(plain.headers[":status"]).toBe(504);
      expect(String(plain.headers["l5d-err"])).toContain("deadline");
    }
  });

  it("an endpoint killed mid-stream: only its in-flight streams fail, the rest of the load succeeds", async () => {
    const bs = [await backend(), await backend(), await backend()];
    for (const b of bs) {
      b.messages = 4;
      b.gapMs = 5;
    }
    const r = await setup(bs, {
      classifier: grpcDefault,
      failures: 2,
      accrualBackoff: { kind: "constant", ms: 5_000 },
    });
    const victim = bs[1]!;
    let killed = false;
    const calls = await load(r, 240, 6, 15_000, (i) => {
      if (i === 60 && !killed) {
        killed = true;
        void victim.h2.close();
      }
    });
    expect(calls).toHaveLength(240);
    const failed = calls.filter((c) => c.grpcStatus !== 0 || (c.rst !== undefined && c.rst !== 0));
    expect(failed.length).toBeLessThanOrEqual(6); // at most the streams in flight on the victim
    const late = calls.slice(120);
    expect(late.every((c) => c.grpcStatus === 0)).toBe(true);
    expect(late.some((c) => served(c) === String(victim.h2.port))).toBe(false);
    console.log(
      `[killed mid-stream] ${failed.length} of ${calls.length} failed (in flight on the victim)`,
    );
  });

  it("endpoints added and removed under load: no failed request to the survivors", async () => {
    const a = await backend();
    const b = await backend();
    const c = await backend();
    for (const x of [a, b, c]) x.latencyMs = 2;
    const r = await setup([a, b]);
    const set = (...xs: Backend[]) =>
      r.addrs.update(Addr.bound(xs.map((x) => address("127.0.0.1", x.h2.port))));
    let aAfterRemoval = -1;
    const calls = await load(r, 300, 6, 15_000, (i) => {
      if (i === 80) set(a, b, c);
      if (i === 160) {
        set(b, c);
        aAfterRemoval = a.calls;
      }
    });
    expect(calls).toHaveLength(300);
    expect(calls.filter((x) => x.grpcStatus !== 0)).toEqual([]);
    expect(c.calls).toBeGreaterThan(20);
    expect(a.calls - aAfterRemoval).toBeLessThanOrEqual(6); // only requests already picked
    console.log(`[add/remove] a=${a.calls} b=${b.calls} c=${c.calls}, 0 failures`);
  });
});
