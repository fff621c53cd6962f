/**
 * A client's `connectTimeoutMs` through a real l5d daemon, on loopback: an upstream that accepts
 * TCP but never speaks HTTP/2 fails the request (UNAVAILABLE, `l5d-err` naming the handshake
 * timeout) after the configured time, router-level (`client.connectTimeoutMs`) and per
 * `io.l5d.static` prefix (that client's value, the others keep the default).
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EMPTY_GRPC_FRAME, freePort, h2request, startTestDaemon } from "./support.js";

const cleanup: Array<() => PromiseLike<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()?.();
});

/** A TCP listener that accepts and never answers (no HTTP/2 SETTINGS). */
async function silentUpstream(): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(() => r(undefined)));
  });
  return (server.address() as { port: number }).port;
}

const GRPC = {
  ":method": "POST",
  ":path": "/test.Svc/Call",
  "content-type": "application/grpc",
  te: "trailers",
};

/** One gRPC call through the daemon: its grpc-status, l5d-err and duration. */
async function call(port: number): Promise<{ status: string; err: string; ms: number }> {
  const t0 = performance.now();
  const r = await h2request(`127.0.0.1:${port}`, GRPC, EMPTY_GRPC_FRAME);
  return {
    status: String(r.headers["grpc-status"] ?? r.trailers["grpc-status"]),
    err: decodeURIComponent(String(r.headers["l5d-err"] ?? "")),
    ms: performance.now() - t0,
  };
}

describe("client.connectTimeoutMs through l5d", () => {
  it("router-level: a silent upstream fails after the configured connect timeout", async () => {
    const silent = await silentUpstream();
    const port = await freePort();
    const d = await startTestDaemon(`
admin: {port: ${await freePort()}}
routers:
- protocol: h2
  label: rt
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: /svc => /$/inet/127.0.0.1/${silent};
  client:
    connectTimeoutMs: 250
  servers: [{port: ${port}}]
`);
    cleanup.push(() => d[Symbol.asyncDispose]());
    const r = await call(port);
    expect(r.status).toBe("14");
    expect(r.err).toContain(`127.0.0.1:${silent}`);
    expect(r.err).toContain("HTTP/2 handshake timed out after 250 ms");
    expect(r.ms).toBeGreaterThanOrEqual(240);
    expect(r.ms).toBeLessThan(2500);
  });

  it("per io.l5d.static prefix: the matching client's timeout, the default (3000 ms) elsewhere", async () => {
    const fast = await silentUpstream();
    const other = await silentUpstream();
    const port = await freePort();
    const d = await startTestDaemon(`
admin: {port: ${await freePort()}}
routers:
- protocol: h2
  label: rt
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: |
    /svc/test.Svc => /$/inet/127.0.0.1/${fast};
    /svc/other.Svc => /$/inet/127.0.0.1/${other};
  client:
    kind: io.l5d.static
    configs:
    - prefix: /$/inet/127.0.0.1/${fast}
      connectTimeoutMs: 300
  servers: [{port: ${port}}]
`);
    cleanup.push(() => d[Symbol.asyncDispose]());
    const r = await call(port);
    expect(r.status).toBe("14");
    expect(r.err).toContain("HTTP/2 handshake timed out after 300 ms");
    expect(r.ms).toBeLessThan(2500);
    const t0 = performance.now();
    const o = await h2request(
      `127.0.0.1:${port}`,
      { ...GRPC, ":path": "/other.Svc/Call" },
      EMPTY_GRPC_FRAME,
    );
    expect(String(o.headers["grpc-status"])).toBe("14");
    expect(decodeURIComponent(String(o.headers["l5d-err"]))).toContain(
      "HTTP/2 handshake timed out after 3000 ms",
    );
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2900);
  }, 15_000);
});
