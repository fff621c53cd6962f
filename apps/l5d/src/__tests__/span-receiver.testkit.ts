/** A test Zipkin + OTLP/HTTP receiver on loopback: records every span POSTed to it. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ZipkinSpanJson {
  traceId: string;
  id: string;
  parentId?: string;
  kind: "SERVER" | "CLIENT";
  name: string;
  timestamp: number;
  duration: number;
  localEndpoint: { serviceName?: string; ipv4?: string; port?: number };
  remoteEndpoint?: { ipv4?: string; port?: number };
  tags?: Record<string, string>;
}

export interface OtlpSpanJson {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: string } }>;
  status: { code: number };
  service: string;
}

export interface SpanReceiver {
  readonly port: number;
  readonly zipkin: ZipkinSpanJson[];
  readonly otlp: OtlpSpanJson[];
  readonly contentTypes: string[];
  /** Waits (bounded) until `pred` holds. */
  waitFor(pred: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSpanReceiver(): Promise<SpanReceiver> {
  const zipkin: ZipkinSpanJson[] = [];
  const otlp: OtlpSpanJson[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      contentTypes.push(String(req.headers["content-type"]));
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
      if (req.method === "POST" && req.url === "/api/v2/spans") {
        zipkin.push(...(body as ZipkinSpanJson[]));
        res.writeHead(202).end();
      } else if (req.method === "POST" && req.url === "/v1/traces") {
        const r = body as {
          resourceSpans: Array<{
            resource: { attributes: Array<{ key: string; value: { stringValue: string } }> };
            scopeSpans: Array<{ spans: Omit<OtlpSpanJson, "service">[] }>;
          }>;
        };
        for (const rs of r.resourceSpans) {
          const service =
            rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "";
          for (const ss of rs.scopeSpans) for (const s of ss.spans) otlp.push({ ...s, service });
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    zipkin,
    otlp,
    contentTypes,
    async waitFor(pred, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > until) throw new Error("timed out waiting for spans");
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
