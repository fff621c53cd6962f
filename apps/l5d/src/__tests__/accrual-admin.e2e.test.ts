/**
 * An endpoint's failure-accrual state in the admin server (issue #19): a daemon whose client
 * ejects an endpoint answering 503, then `/routers.json` (the dashboard's source) says it is
 * dead, since when and why, and `/admin/metrics.json` and the Prometheus exposition count it
 * under Linkerd's names (`rt/<r>/client/<id>/failure_accrual/...`).
 */
import { createServer, type Http2Server } from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { parsePrometheusText } from "../telemetry/prometheus-parse.testkit.js";
import { EMPTY_GRPC_FRAME, freePort, h2request, startTestDaemon } from "./support.js";

const cleanup: Array<() => PromiseLike<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** A backend answering every request with HTTP 503 (a failure for `nonRetryable5XX`). */
async function broken(): Promise<number> {
  const server: Http2Server = createServer();
  server.on("stream", (stream) => {
    stream.on("error", () => {});
    stream.resume();
    stream.respond({ ":status": 503 }, { endStream: true });
  });
  server.on("session", (s) => s.on("error", () => {}));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as { port: number }).port;
}

interface EndpointJson {
  key: string;
  state: string;
  available: boolean;
  accrual: { state: string; since?: number; reason?: string; backoffMs?: number };
}

describe("failure accrual in the admin server", () => {
  it("/routers.json, /admin/metrics.json and Prometheus show an ejected endpoint's state and why", async () => {
    const port = await broken();
    const d = await startTestDaemon(`
admin: {port: ${await freePort()}}
telemetry:
- kind: io.l5d.prometheus
routers:
- protocol: h2
  label: outgoing
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: /svc => /$/inet/127.0.0.1/${port};
  client:
    kind: io.l5d.global
    failureAccrual:
      kind: io.l5d.consecutiveFailures
      failures: 3
      backoff: {kind: constant, ms: 60000}
  servers: [{port: ${await freePort()}}]
`);
    cleanup.push(() => d[Symbol.asyncDispose]());
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) {
      const res = await h2request(
        d.addr("outgoing"),
        {
          ":method": "POST",
          ":path": "/broken.Svc/Call",
          "content-type": "application/grpc",
        },
        EMPTY_GRPC_FRAME,
      );
      expect(res.headers[":status"]).toBe(503);
    }
    const id = `$/inet/127.0.0.1/${port}`;

    const routers = (await (await fetch(`${d.adminUrl}/routers.json`)).json()) as Array<{
      clients: Array<{ id: string; endpoints: EndpointJson[] }>;
    }>;
    const ep = routers[0]!.clients.find((c) => c.id === `/${id}`)!.endpoints[0]!;
    expect(ep.key).toBe(`127.0.0.1:${port}`);
    expect(ep.state).toBe("dead");
    expect(ep.available).toBe(false);
    expect(ep.accrual.state).toBe("dead");
    expect(ep.accrual.reason).toContain("3 consecutive failures");
    expect(ep.accrual.reason).toContain("HTTP 503");
    expect(ep.accrual.backoffMs).toBe(60_000);
    expect(ep.accrual.since).toBeGreaterThanOrEqual(t0);

    const m = await d.metrics();
    const scope = `rt/outgoing/client/${id}/failure_accrual`;
    expect(m[`${scope}/removals`]).toBe(1);
    expect(m[`${scope}/removed`]).toBe(1);
    expect(m[`${scope}/dead`]).toBe(1);
    expect(m[`${scope}/probing`]).toBe(0);
    expect(m[`${scope}/probes`]).toBe(0);
    expect(m[`${scope}/revivals`]).toBe(0);
    // per endpoint: 1 in the state it is in
    const epScope = `rt/outgoing/client/${id}/endpoint/127.0.0.1:${port}/failure_accrual`;
    expect(m[`${epScope}/dead`]).toBe(1);
    expect(m[`${epScope}/probing`]).toBe(0);

    const prom = parsePrometheusText(
      await (await fetch(`${d.adminUrl}/admin/metrics/prometheus`)).text(),
    );
    expect(prom.get("rt:client:failure_accrual:removals")?.samples).toContainEqual({
      name: "rt:client:failure_accrual:removals",
      labels: { rt: "outgoing", client: id },
      value: 1,
    });
    expect(prom.get("rt:client:failure_accrual:dead")?.samples[0]?.value).toBe(1);
    expect(prom.get("rt:client:endpoint:failure_accrual:dead")?.samples).toEqual([
      {
        name: "rt:client:endpoint:failure_accrual:dead",
        labels: { rt: "outgoing", client: id, endpoint: `127.0.0.1:${port}` },
        value: 1,
      },
    ]);

    // the dashboard renders the endpoints table from /routers.json
    const js = await (await fetch(`${d.adminUrl}/files/dashboard.js`)).text();
    expect(js).toContain("endpointsTable(r.clients)");
  });
});
