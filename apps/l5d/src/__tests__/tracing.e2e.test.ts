/**
 * Tracing end to end: a three-hop call (client → l5d outgoing → l5d incoming → hello →
 * l5d outgoing → l5d incoming → world) on loopback, spans collected by a test Zipkin and OTLP
 * receiver; plus propagation of l5d-ctx-trace, l5d-sample and B3 to applications.
 */
import { callGreeting, startHelloWorldServer } from "@l5d/helloworld";
import { afterEach, describe, expect, it } from "vitest";
import { decodeL5dCtxTrace, encodeL5dCtxTrace } from "../tracing/trace-context.js";
import { startSpanReceiver, type ZipkinSpanJson } from "./span-receiver.testkit.js";
import { EMPTY_GRPC_FRAME, freePort, h2request, recorder, startTestDaemon } from "./support.js";

const cleanup: Array<() => PromiseLike<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function telemetry(receiverPort: number, sampleRate = 1) {
  return `telemetry:
- kind: io.l5d.zipkin
  host: 127.0.0.1
  port: ${receiverPort}
  sampleRate: ${sampleRate}
  flushIntervalMs: 50
- kind: io.l5d.otlp
  endpoint: http://127.0.0.1:${receiverPort}/v1/traces
  sampleRate: ${sampleRate}
  flushIntervalMs: 50
`;
}

async function linker(
  extra: string,
  outgoingDtab: string,
  incomingDtab: string,
  ports: { out: number; in: number },
) {
  const d = await startTestDaemon(`
admin: {port: ${await freePort()}}
${extra}
routers:
- protocol: h2
  label: outgoing
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: ${outgoingDtab}
  servers: [{port: ${ports.out}}]
- protocol: h2
  label: incoming
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: ${incomingDtab}
  servers: [{port: ${ports.in}}]
`);
  cleanup.push(async () => {
    await d[Symbol.asyncDispose]();
  });
  return d;
}

const grpcHeaders = (path: string, extra: Record<string, string> = {}) => ({
  ":method": "POST",
  ":path": path,
  "content-type": "application/grpc",
  te: "trailers",
  ...extra,
});

describe("tracing", () => {
  it("exports the eight spans of a three-hop call, one trace, each parented on the previous hop", async () => {
    const rx = await startSpanReceiver();
    cleanup.push(() => rx.close());
    const ports = { out: await freePort(), in: await freePort() };
    const world = await startHelloWorldServer({ addr: "127.0.0.1:0", text: "world" });
    cleanup.push(() => world.close());
    const hello = await startHelloWorldServer({
      addr: "127.0.0.1:0",
      text: "Hello",
      target: `127.0.0.1:${ports.out}`,
    });
    cleanup.push(() => hello.close());
    await linker(
      telemetry(rx.port),
      `/svc => /$/inet/127.0.0.1/${ports.in};`,
      `/svc/helloworld.Hello => /$/inet/127.0.0.1/${hello.port}; /svc/helloworld.World => /$/inet/127.0.0.1/${world.port};`,
      ports,
    );
    const msg = await callGreeting(`127.0.0.1:${ports.out}`, { service: "Hello" });
    expect(msg).toBe("Hello world!!");

    await rx.waitFor(() => rx.zipkin.length >= 8 && rx.otlp.length >= 8);
    await new Promise((r) => setTimeout(r, 150)); // nothing more should arrive
    const spans = rx.zipkin;
    expect(spans).toHaveLength(8);
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    expect(rx.contentTypes.every((c) => c.startsWith("application/json"))).toBe(true);

    // walk the chain from the root: SERVER/CLIENT alternate, router labels out, out, in, in, ...
    const byParent = new Map<string | undefined, ZipkinSpanJson[]>();
    for (const s of spans) byParent.set(s.parentId, [...(byParent.get(s.parentId) ?? []), s]);
    const chain: ZipkinSpanJson[] = [];
    let parent: string | undefined;
    for (let i = 0; i < 8; i++) {
      const kids = byParent.get(parent) ?? [];
      expect(kids, `children of ${parent}`).toHaveLength(1);
      chain.push(kids[0]!);
      parent = kids[0]!.id;
    }
    expect(chain.map((s) => `${s.localEndpoint.serviceName}:${s.kind}`)).toEqual([
      "outgoing:SERVER",
      "outgoing:CLIENT",
      "incoming:SERVER",
      "incoming:CLIENT",
      "outgoing:SERVER",
      "outgoing:CLIENT",
      "incoming:SERVER",
      "incoming:CLIENT",
    ]);
    expect(chain[0]!.parentId).toBeUndefined();
    expect(chain.slice(0, 4).every((s) => s.name === "/helloworld.Hello/Greeting")).toBe(true);
    expect(chain.slice(4).every((s) => s.name === "/helloworld.World/Greeting")).toBe(true);
    expect(chain[3]!.remoteEndpoint).toEqual({ ipv4: "127.0.0.1", port: hello.port });
    expect(chain[7]!.remoteEndpoint).toEqual({ ipv4: "127.0.0.1", port: world.port });
    expect(chain[1]!.tags).toMatchObject({
      "l5d.dst.service": "/svc/helloworld.Hello",
      "l5d.dst.client": `/$/inet/127.0.0.1/${ports.in}`,
      "grpc.status_code": "0",
    });
    expect(chain[0]!.tags).toMatchObject({
      "http.method": "POST",
      "http.status_code": "200",
      "grpc.status_code": "0",
      "l5d.router": "outgoing",
    });
    // server spans enclose their client spans
    for (let i = 0; i < 8; i += 2) {
      const [srv, cli] = [chain[i]!, chain[i + 1]!];
      expect(cli.timestamp).toBeGreaterThanOrEqual(srv.timestamp);
      expect(cli.timestamp + cli.duration).toBeLessThanOrEqual(srv.timestamp + srv.duration + 1);
    }
    // the outer hop encloses the inner one
    expect(chain[0]!.duration).toBeGreaterThanOrEqual(chain[4]!.duration);

    // the same eight spans over OTLP: 128-bit trace id, same span ids and parents, kinds 2/3
    const otlp = rx.otlp;
    expect(otlp).toHaveLength(8);
    expect(new Set(otlp.map((s) => s.traceId))).toEqual(
      new Set([`0000000000000000${chain[0]!.traceId}`.slice(-32)]),
    );
    for (const z of chain) {
      const o = otlp.find((s) => s.spanId === z.id)!;
      expect(o.parentSpanId).toBe(z.parentId);
      expect(o.kind).toBe(z.kind === "SERVER" ? 2 : 3);
      expect(o.service).toBe(z.localEndpoint.serviceName);
      expect(BigInt(o.endTimeUnixNano) - BigInt(o.startTimeUnixNano)).toBe(
        BigInt(z.duration) * 1000n,
      );
      expect(o.status.code).toBe(1);
    }
  });

  it("continues a caller's l5d-ctx-trace, honours its sampling decision, and hands the app l5d-ctx-trace, l5d-reqid and B3", async () => {
    const rx = await startSpanReceiver();
    cleanup.push(() => rx.close());
    const app = await recorder(cleanup);
    const ports = { out: await freePort(), in: await freePort() };
    await linker(
      telemetry(rx.port, 0),
      `/svc => /$/inet/127.0.0.1/${app.port};`,
      "/svc => /$/nil;",
      ports,
    );
    const caller = {
      traceId: "0123456789abcdef",
      spanId: "1111111111111111",
      parentId: "2222222222222222",
      sampled: true,
    };
    const res = await h2request(
      `127.0.0.1:${ports.out}`,
      grpcHeaders("/svc.Echo/Call", {
        "l5d-ctx-trace": encodeL5dCtxTrace(caller),
        "l5d-sample": "0",
      }),
      EMPTY_GRPC_FRAME,
    );
    expect(res.trailers["grpc-status"] ?? res.headers["grpc-status"]).toBe("0");
    const got = app.seen[0]!;
    const ctx = decodeL5dCtxTrace(String(got["l5d-ctx-trace"]))!;
    expect(ctx.traceId).toBe(caller.traceId);
    expect(ctx.sampled).toBe(true);
    expect(got["l5d-reqid"]).toBe(caller.traceId);
    expect(got["x-b3-traceid"]).toBe(caller.traceId);
    expect(got["x-b3-spanid"]).toBe(ctx.spanId);
    expect(got["x-b3-parentspanid"]).toBe(ctx.parentId);
    expect(got["x-b3-sampled"]).toBe("1");
    expect(got["l5d-sample"]).toBeUndefined();
    // sampled upstream, so recorded although this linker's rate is 0: server (child of the caller) and client
    await rx.waitFor(() => rx.zipkin.length >= 2);
    const server = rx.zipkin.find((s) => s.kind === "SERVER")!;
    expect(server.parentId).toBe(caller.spanId);
    expect(rx.zipkin.find((s) => s.kind === "CLIENT")!.id).toBe(ctx.spanId);
  });

  it("reads B3 from an app, samples by l5d-sample when no decision was made, and records nothing at rate 0", async () => {
    const rx = await startSpanReceiver();
    cleanup.push(() => rx.close());
    const app = await recorder(cleanup);
    const ports = { out: await freePort(), in: await freePort() };
    await linker(
      telemetry(rx.port, 0),
      `/svc => /$/inet/127.0.0.1/${app.port};`,
      "/svc => /$/nil;",
      ports,
    );
    const addr = `127.0.0.1:${ports.out}`;
    // B3 single header, no sampling decision; l5d-sample 1 forces sampling
    await h2request(
      addr,
      grpcHeaders("/svc.Echo/Call", {
        b3: "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1",
        "l5d-sample": "1.0",
      }),
      EMPTY_GRPC_FRAME,
    );
    const first = app.seen[0]!;
    expect(first["x-b3-traceid"]).toBe("80f198ee56343ba864fe8b2a57d3eff7");
    expect(String(first.b3)).toMatch(
      /^80f198ee56343ba864fe8b2a57d3eff7-[0-9a-f]{16}-1-[0-9a-f]{16}$/,
    );
    expect(decodeL5dCtxTrace(String(first["l5d-ctx-trace"]))!.traceId).toBe(
      "80f198ee56343ba864fe8b2a57d3eff7",
    );
    await rx.waitFor(() => rx.zipkin.length >= 2);
    expect(rx.zipkin.find((s) => s.kind === "SERVER")!.parentId).toBe("e457b5a2e4d86bd1");
    // a new trace at rate 0: propagated (new ids, decision "not sampled") but not recorded
    await h2request(addr, grpcHeaders("/svc.Echo/Call"), EMPTY_GRPC_FRAME);
    const second = app.seen[1]!;
    const ctx = decodeL5dCtxTrace(String(second["l5d-ctx-trace"]))!;
    expect(ctx.sampled).toBe(false);
    expect(second["x-b3-sampled"]).toBe("0");
    expect(second["l5d-reqid"]).toBe(ctx.traceId);
    await new Promise((r) => setTimeout(r, 200));
    expect(rx.zipkin).toHaveLength(2);
  });

  it("propagates trace context without any tracing telemeter (as Linkerd), leaving sampling undecided", async () => {
    const app = await recorder(cleanup);
    const ports = { out: await freePort(), in: await freePort() };
    await linker("", `/svc => /$/inet/127.0.0.1/${app.port};`, "/svc => /$/nil;", ports);
    await h2request(`127.0.0.1:${ports.out}`, grpcHeaders("/svc.Echo/Call"), EMPTY_GRPC_FRAME);
    const ctx = decodeL5dCtxTrace(String(app.seen[0]!["l5d-ctx-trace"]))!;
    expect(ctx.parentId).toMatch(/^[0-9a-f]{16}$/);
    expect(ctx.sampled).toBeUndefined();
    expect(app.seen[0]!["x-b3-sampled"]).toBeUndefined();
  });
});
