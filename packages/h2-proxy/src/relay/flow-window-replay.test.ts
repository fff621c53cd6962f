/**
 * Stream windows given back in halves across a retry: a retried request whose client is still sending its body after the first
 * attempt failed carries the stream window written-but-not-given-back to the replay.
 */
import type * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { payload, SVC_CALL, startH2Backend } from "../dataplane/test-support.js";
import { retryableStatusCodes, startRelayRouterRig } from "./relay-router-rig.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
});

describe("half-window WINDOW_UPDATE across a retry", () => {
  it("attempt 1 fails (grpc 14) after 20 KB of a 150 KB body still being sent; the retry gets all of it", async () => {
    let calls = 0;
    const seen: number[] = [];
    const b = await startH2Backend((stream) => {
      const n = ++calls;
      let got = 0;
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => {
        got += c.length;
        chunks.push(c);
        if (n === 1 && got >= 20_000 && !stream.headersSent) {
          stream.respond(
            { ":status": 200, "content-type": "application/grpc", "grpc-status": "14" },
            { endStream: true },
          );
        }
      });
      stream.on("end", () => {
        if (n === 1 || stream.destroyed) return;
        seen.push(got);
        stream.respond(
          { ":status": 200, "content-type": "application/grpc" },
          { waitForTrailers: true },
        );
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(Buffer.concat(chunks));
      });
    });
    cleanup.push(() => b.close());
    const r = await startRelayRouterRig([b.port], {
      classifier: retryableStatusCodes([14]),
      policy: { retryBufferSize: { requestBytes: 1 << 20, responseBytes: 1 << 20 } } as never,
    });
    cleanup.push(r.close);
    const body = payload(150_000, 4);
    const res = await new Promise<{ status: string | undefined; len: number }>((resolve) => {
      const req = r.session.request({ ...SVC_CALL } as http2.OutgoingHttpHeaders);
      let len = 0;
      let status: string | undefined;
      req.on("response", (h) => {
        status = h["grpc-status"] as string | undefined;
      });
      req.on("trailers", (t) => {
        status = t["grpc-status"] as string | undefined;
      });
      req.on("data", (c: Buffer) => {
        len += c.length;
      });
      req.on("error", () => {});
      req.on("close", () => resolve({ status, len }));
      // the body in 10 KB pieces, 20 ms apart: the client is still sending after attempt 1
      let off = 0;
      const tick = setInterval(() => {
        if (off >= body.length) {
          clearInterval(tick);
          req.end();
          return;
        }
        req.write(body.subarray(off, off + 10_000));
        off += 10_000;
      }, 20);
      cleanup.push(async () => clearInterval(tick));
    });
    expect(calls).toBe(2);
    expect(res.status).toBe("0");
    expect(seen).toEqual([150_000]);
    expect(res.len).toBe(150_000);
  }, 15_000);
});
