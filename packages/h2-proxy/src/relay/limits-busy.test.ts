/**
 * The rate limits are ratios, not plain rates (issue #14 review): a busy, well-behaved client
 * connection and the shared upstream connection under gRPC load never reach them. A unary gRPC
 * response is a small DATA frame (a 5-byte message) then trailers, and busy clients cancel some
 * requests; counting small DATA frames and every reset per second closed healthy upstream
 * connections at ~10k req/s (every in-flight request failed, failure accrual ejected the
 * backend). Here the limits are set 100× lower so that ordinary load crosses the old counts.
 */
import * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import {
  grpcFrame,
  h2Client,
  relayForward,
  SVC_CALL,
  startH2Backend,
} from "../dataplane/test-support.js";
import { type RelayServer, startRelayServer } from "./relay-server.js";

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe("abuse limits under ordinary load", () => {
  it("2,000 gRPC calls (10 % cancelled by the client) cross no limit at 100/s limits", async () => {
    const backend = await startH2Backend((stream) => {
      stream.on("error", () => {});
      stream.respond(
        { ":status": 200, "content-type": "application/grpc" },
        { waitForTrailers: true },
      );
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      // a gRPC message of 0 bytes: 5 bytes of DATA without END_STREAM, then the trailers
      stream.end(grpcFrame(Buffer.alloc(0)));
    });
    const fired: string[] = [];
    const relay: RelayServer = await startRelayServer({
      host: "127.0.0.1",
      port: 0,
      limits: { maxSmallFramesPerSecond: 100, maxResetsPerSecond: 100 },
      onLimit: (name, detail, side) => fired.push(`${side} ${name}: ${detail}`),
      onRequest: (req) => void relayForward(req, backend.endpoint),
    });
    cleanup.push(
      () => backend.close(),
      () => relay.close(500),
    );
    const session = h2Client(relay.port);
    cleanup.push(() => void session.destroy());
    let ok = 0;
    let cancelled = 0;
    const call = (i: number): Promise<void> =>
      new Promise((resolve) => {
        const req = session.request({ ...SVC_CALL });
        req.on("error", () => {});
        req.on("trailers", (t) => {
          if (t["grpc-status"] === "0") ok++;
        });
        req.on("close", () => resolve());
        req.resume();
        req.end(grpcFrame(Buffer.from("hi")));
        if (i % 10 === 0) {
          // a cancel before the answer: the client's RST_STREAM(CANCEL)
          cancelled++;
          req.close(http2.constants.NGHTTP2_CANCEL);
        }
      });
    const t0 = Date.now();
    for (let b = 0; b < 2_000; b += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, k) => call(b + k)));
    }
    const ms = Date.now() - t0;
    console.log(
      `[limits-busy] ${ok} ok + ${cancelled} cancelled in ${ms} ms; limits fired: ${fired.length}`,
    );
    expect(fired).toEqual([]);
    expect(ok).toBe(2_000 - cancelled);
  }, 60_000);
});
