/**
 * A server's options through a real l5d daemon: maxConcurrentRequests (RESOURCE_EXHAUSTED above it, the slot
 * is free again once the response is over), initialStreamWindowBytes advertised, clearContext,
 * and the graceful close of the daemon (an in-flight request finishes).
 */
import {
  connect,
  createServer as createH2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, h2request, startTestDaemon } from "./support.js";

const cleanup: Array<() => PromiseLike<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()?.();
});

/** A gRPC backend that holds calls with `x-hold` until released, and records headers. */
async function holdingBackend() {
  const seen: IncomingHttpHeaders[] = [];
  const held: ServerHttp2Stream[] = [];
  const server = createH2Server();
  server.on("stream", (stream, headers) => {
    seen.push(headers);
    stream.on("error", () => {});
    stream.on("data", () => {});
    if (headers["x-hold"] !== undefined) {
      held.push(stream);
      return;
    }
    stream.respond(
      { ":status": 200, "content-type": "application/grpc", "grpc-status": "0" },
      {
        endStream: true,
      },
    );
  });
  const sessions = new Set<ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(() => {
    for (const s of sessions) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return { port: (server.address() as AddressInfo).port, seen, held };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

const GRPC = {
  ":method": "POST",
  ":path": "/test.Svc/Call",
  "content-type": "application/grpc",
  te: "trailers",
};
const EMPTY = Buffer.from([0, 0, 0, 0, 0]);

describe("server options through l5d", () => {
  it("maxConcurrentRequests, initialStreamWindowBytes, clearContext, graceful close", async () => {
    const backend = await holdingBackend();
    const port = await freePort();
    const d = await startTestDaemon(`
admin: {port: ${await freePort()}}
routers:
- protocol: h2
  label: rt
  identifier: {kind: io.l5d.header.path, segments: 1}
  dtab: /svc => /$/inet/127.0.0.1/${backend.port};
  servers:
  - port: ${port}
    maxConcurrentRequests: 1
    initialStreamWindowBytes: 262144
    clearContext: true
`);
    let disposed = false;
    cleanup.push(() => (disposed ? Promise.resolve() : d[Symbol.asyncDispose]()));

    // the advertised per-stream window
    const session = connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    cleanup.push(async () => session.destroy());
    const settings = await new Promise<{ initialWindowSize?: number | undefined }>((r) =>
      session.once("remoteSettings", r),
    );
    expect(settings.initialWindowSize).toBe(262_144);

    // one request in flight (held by the backend): a second one is over the limit
    const first = session.request({ ...GRPC, "x-hold": "1" });
    first.on("error", () => {});
    let firstTrailers: IncomingHttpHeaders | undefined;
    first.on("trailers", (t) => {
      firstTrailers = t;
    });
    first.on("data", () => {});
    first.end(EMPTY);
    await until(() => backend.held.length === 1, "the held request at the backend");
    const over = await h2request(`127.0.0.1:${port}`, GRPC, EMPTY);
    const status = over.headers["grpc-status"] ?? over.trailers["grpc-status"];
    expect(status).toBe("8");
    expect(String(over.headers["grpc-message"])).toMatch(/maxConcurrentRequests \(1\)/);
    // the slot is free again once the held response is over
    (backend.held[0] as ServerHttp2Stream).respond(
      { ":status": 200, "content-type": "application/grpc", "grpc-status": "0" },
      { endStream: true },
    );
    await until(() => firstTrailers !== undefined || first.closed, "the first response");
    const again = await h2request(
      `127.0.0.1:${port}`,
      { ...GRPC, "l5d-ctx-deadline": "1", "l5d-dtab": "/svc=>/x", "l5d-ctx-foo": "bar" },
      EMPTY,
    );
    expect(again.headers["grpc-status"] ?? again.trailers["grpc-status"]).toBe("0");
    // clearContext: the incoming context headers were dropped
    const last = backend.seen.at(-1) as IncomingHttpHeaders;
    expect(last["l5d-dtab"]).toBeUndefined();
    expect(last["l5d-ctx-foo"]).toBeUndefined();

    // graceful close: an in-flight request still completes
    const inflight = session.request({ ...GRPC, "x-hold": "2" });
    inflight.on("error", () => {});
    let done = false;
    let grpcStatus: unknown;
    inflight.on("response", (h) => {
      grpcStatus = h["grpc-status"];
    });
    inflight.on("data", () => {});
    inflight.on("close", () => {
      done = true;
    });
    inflight.end(EMPTY);
    await until(() => backend.held.length === 2, "the second held request");
    disposed = true;
    const closing = d[Symbol.asyncDispose]();
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    (backend.held[1] as ServerHttp2Stream).respond(
      { ":status": 200, "content-type": "application/grpc", "grpc-status": "0" },
      { endStream: true },
    );
    await until(() => done, "the in-flight request during the close");
    expect(grpcStatus).toBe("0");
    await closing;
  });
});
