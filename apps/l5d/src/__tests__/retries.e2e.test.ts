/**
 * Router retries through a real l5d daemon: a backend that answers every other call
 * UNAVAILABLE behind a router with `io.l5d.h2.grpc.retryableStatusCodes`; every call succeeds,
 * the retries are counted, and each attempt carries the trace context and is a CLIENT span
 * under the request's SERVER span.
 */
import { createServer as createH2Server, type IncomingHttpHeaders } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { decodeL5dCtxTrace } from "../tracing/trace-context.js";
import { startSpanReceiver } from "./span-receiver.testkit.js";
import { freePort, h2request, startTestDaemon } from "./support.js";

const cleanup: Array<() => PromiseLike<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()?.();
});

/** Answers odd calls UNAVAILABLE (trailers-only) and even calls OK with the request echoed. */
async function flakyBackend() {
  const seen: IncomingHttpHeaders[] = [];
  const server = createH2Server();
  server.on("stream", (stream, headers) => {
    seen.push(headers);
    const n = seen.length;
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      if (n % 2 === 1) {
        stream.respond(
          { ":status": 200, "content-type": "application/grpc", "grpc-status": "14" },
          { endStream: true },
        );
        return;
      }
      stream.respond(
        { ":status": 200, "content-type": "application/grpc" },
        { waitForTrailers: true },
      );
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(() => new Promise((r) => server.close(r)));
  return { port: (server.address() as AddressInfo).port, seen };
}

describe("router retries through l5d", () => {
  it("retryable statuses are retried until success, each attempt traced", async () => {
    const rx = await startSpanReceiver();
    cleanup.push(() => rx.close());
    const backend = await flakyBackend();
    const port = await freePort();
    const d = await startTestDaemon(`
admin: {port: ${await freePort()}}
telemetry:
- kind: io.l5d.zipkin
  host: 127.0.0.1
  port: ${rx.port}
  sampleRate: 1
  flushIntervalMs: 50
routers:
- protocol: h2
  label: rt
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: /svc => /$/inet/127.0.0.1/${backend.port};
  service:
    responseClassifier:
      kind: io.l5d.h2.grpc.retryableStatusCodes
      retryableStatusCodes: [14]
    retries:
      budget: {minRetriesPerSec: 100, percentCanRetry: 1}
      backoff: {kind: constant, ms: 0}
  servers: [{port: ${port}}]
`);
    cleanup.push(() => d[Symbol.asyncDispose]());
    const calls = 5;
    for (let i = 0; i < calls; i++) {
      const body = Buffer.from([0, 0, 0, 0, 1, 0x40 + i]);
      const r = await h2request(
        `127.0.0.1:${port}`,
        {
          ":method": "POST",
          ":path": "/test.Svc/Call",
          "content-type": "application/grpc",
          te: "trailers",
        },
        body,
      );
      expect(r.trailers["grpc-status"]).toBe("0");
      expect(r.body.equals(body)).toBe(true);
    }
    expect(backend.seen).toHaveLength(2 * calls);
    const m = await d.metrics();
    const retries = Object.entries(m).find(([k]) =>
      /^rt\/rt\/service\/.*\/retries\/total$/.test(k),
    );
    expect(retries?.[1]).toBe(calls);
    // every attempt carries the trace context (one trace, a new span per attempt)
    const ctx = backend.seen.map((h) => decodeL5dCtxTrace(String(h["l5d-ctx-trace"])));
    for (const c of ctx) expect(c).toBeDefined();
    for (let i = 0; i < calls; i++) {
      const [a, b] = [ctx[2 * i], ctx[2 * i + 1]];
      expect(a?.traceId).toBe(b?.traceId);
      expect(a?.spanId).not.toBe(b?.spanId);
    }
    await rx.waitFor(() => rx.zipkin.length >= 3 * calls);
    const servers = rx.zipkin.filter((s) => s.kind === "SERVER");
    const clients = rx.zipkin.filter((s) => s.kind === "CLIENT");
    expect(servers).toHaveLength(calls);
    expect(clients).toHaveLength(2 * calls);
    for (const c of clients) {
      expect(servers.some((s) => s.id === c.parentId && s.traceId === c.traceId)).toBe(true);
    }
    const failed = clients.filter((c) => c.tags?.["grpc.status_code"] === "14");
    expect(failed).toHaveLength(calls);
  });
});
