import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { MetricsRegistry } from "@l5d/h2-proxy";
import { afterEach, describe, expect, it } from "vitest";
import type { Span } from "./span.js";
import { postJson, SpanExporter } from "./span-exporter.js";
import { toZipkinJson } from "./zipkin-json.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

const span = (i: number): Span => ({
  traceId: "00000000000000aa",
  id: i.toString(16).padStart(16, "0"),
  kind: "SERVER",
  name: "/x",
  timestampUs: 1_700_000_000_000_000 + i,
  durationUs: 5,
  localEndpoint: { serviceName: "outgoing" },
  tags: {},
});

/** A collector answering `status`, recording each body. */
async function collector(status: number) {
  const bodies: unknown[][] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown[]);
      res.writeHead(status).end("nope");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(
    () =>
      new Promise((r) => {
        server.close(r);
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2/spans`, bodies };
}

describe("SpanExporter", () => {
  it("batches, bounds its queue (dropping and counting the excess), and counts what it sent", async () => {
    const c = await collector(202);
    const metrics = new MetricsRegistry();
    const ex = new SpanExporter({
      scope: "telemetry/io.l5d.zipkin",
      metrics,
      batchSize: 4,
      maxQueueSize: 10,
      flushIntervalMs: 60_000,
      send: (spans) => postJson(c.url, toZipkinJson(spans)),
    });
    cleanup.push(() => ex.close());
    // 25 spans synchronously: the first batch of 4 starts sending, 10 wait, the rest are dropped
    for (let i = 1; i <= 25; i++) ex.add(span(i));
    await ex.flush();
    const flat = metrics.toFlatJson();
    const sent = c.bodies.flat().length;
    expect(sent + flat["telemetry/io.l5d.zipkin/spans_dropped"]!).toBe(25);
    expect(sent).toBeLessThanOrEqual(14);
    expect(flat["telemetry/io.l5d.zipkin/spans_sent"]).toBe(sent);
    expect(c.bodies.every((b) => b.length <= 4)).toBe(true);
    expect(ex.queued).toBe(0);
  });

  it("counts failed posts and drops their spans without retrying", async () => {
    const c = await collector(500);
    const metrics = new MetricsRegistry();
    const errors: Error[] = [];
    const ex = new SpanExporter({
      scope: "telemetry/io.l5d.otlp",
      metrics,
      flushIntervalMs: 60_000,
      send: (spans) => postJson(c.url, toZipkinJson(spans)),
      onError: (e) => errors.push(e),
    });
    cleanup.push(() => ex.close());
    ex.add(span(1));
    ex.add(span(2));
    await ex.flush();
    await ex.flush();
    expect(c.bodies).toHaveLength(1);
    expect(metrics.toFlatJson()["telemetry/io.l5d.otlp/send_failures"]).toBe(1);
    expect(metrics.toFlatJson()["telemetry/io.l5d.otlp/spans_dropped"]).toBe(2);
    expect(errors[0]!.message).toMatch(/answered 500/);
  });
});
