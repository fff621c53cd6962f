/**
 * What the frame-level relay forwards upstream, on loopback with a real node:http2 client and
 * backend: the request's fields minus hop-by-hop ones, minus what the server hook deleted from
 * `req.headers` (the daemon's `clearContext`), with the router's edits; and the response's
 * headers and trailers as the backend sent them, over many requests on one connection (the
 * HPACK encoder's dynamic table must stay in step with node's decoder).
 */
import type * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import {
  h2Client,
  relayForward,
  simpleRequest,
  startH2Backend,
} from "../dataplane/test-support.js";
import { headerValue } from "../router/header-list.js";
import { startRelayServer } from "./relay-server.js";
import type { RelayRequest } from "./relay-stream.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A backend recording each request's headers, answering with headers, a body and trailers. */
async function recordingBackend(): Promise<{
  seen: http2.IncomingHttpHeaders[];
  endpoint: { host: string; port: number };
}> {
  const seen: http2.IncomingHttpHeaders[] = [];
  const b = await startH2Backend((stream, headers) => {
    seen.push(headers);
    stream.on("data", () => {});
    stream.on("end", () => {
      stream.respond(
        { ":status": 200, "content-type": "application/grpc", "x-n": String(seen.length) },
        { waitForTrailers: true },
      );
      stream.once("wantTrailers", () =>
        stream.sendTrailers({ "grpc-status": "0", "x-trailer": `t${seen.length}` }),
      );
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  cleanup.push(() => b.close());
  return { seen, endpoint: b.endpoint };
}

describe("relay: headers forwarded", () => {
  it("drops the fields named in the edits' removals (clearContext's), keeps the rest", async () => {
    const backend = await recordingBackend();
    const relay = await startRelayServer({
      host: "127.0.0.1",
      port: 0,
      onRequest(req: RelayRequest) {
        // what the daemon passes for a server with clearContext: true
        const remove = req.headers
          .map((f) => f[0])
          .filter((n) => n.startsWith("l5d-ctx-") || n === "l5d-dtab");
        void relayForward(req, backend.endpoint, { set: { "l5d-dst-service": "/svc/x" }, remove });
      },
    });
    cleanup.push(() => relay.close());
    await using client = h2Client(relay.port);
    const res = await simpleRequest(
      client,
      {
        ":method": "POST",
        ":path": "/x.Y/Z",
        "content-type": "application/grpc",
        te: "trailers",
        "l5d-ctx-dtab": "/svc=>/nowhere",
        "l5d-ctx-foo": "injected",
        "l5d-dtab": "/a=>/b",
        "x-keep": "yes",
      },
      Buffer.from([0, 0, 0, 0, 0]),
    );
    expect(res.trailers?.["grpc-status"]).toBe("0");
    const h = backend.seen[0] as http2.IncomingHttpHeaders;
    expect(h["l5d-ctx-dtab"]).toBeUndefined();
    expect(h["l5d-ctx-foo"]).toBeUndefined();
    expect(h["l5d-dtab"]).toBeUndefined();
    expect(h["x-keep"]).toBe("yes");
    expect(h.te).toBe("trailers");
    expect(h["l5d-dst-service"]).toBe("/svc/x");
  });

  it("relays 300 requests with changing and repeated fields both ways, all intact", async () => {
    const backend = await recordingBackend();
    const relay = await startRelayServer({
      host: "127.0.0.1",
      port: 0,
      onRequest(req: RelayRequest) {
        const n = String(headerValue(req.headers, "x-n"));
        void relayForward(req, backend.endpoint, {
          set: { "l5d-reqid": `id-${n}`, "x-set": "same" },
        });
      },
    });
    cleanup.push(() => relay.close());
    await using client = h2Client(relay.port);
    for (let i = 0; i < 300; i++) {
      const res = await simpleRequest(
        client,
        {
          ":method": "POST",
          ":path": `/x.Y/M${i % 5}`,
          "content-type": "application/grpc",
          te: "trailers",
          "x-n": String(i),
          [`x-rotating-${i % 40}`]: "v".repeat(i % 60),
        },
        Buffer.from([0, 0, 0, 0, 0]),
      );
      expect(res.headers["x-n"]).toBe(String(i + 1));
      expect(res.trailers?.["x-trailer"]).toBe(`t${i + 1}`);
      const h = backend.seen[i] as http2.IncomingHttpHeaders;
      expect(h[":path"]).toBe(`/x.Y/M${i % 5}`);
      expect(h["x-n"]).toBe(String(i));
      expect(h[`x-rotating-${i % 40}`]).toBe("v".repeat(i % 60));
      expect(h["l5d-reqid"]).toBe(`id-${i}`);
      expect(h["x-set"]).toBe("same");
    }
  });
});
