/**
 * How a client's RST_STREAM is classified (issue #14 item 6), with raw HTTP/2 frames from the
 * client through the relay and the router to a raw upstream, on both router paths:
 * - a complete response (trailers with grpc-status 0, END_STREAM) followed by the client's
 *   RST_STREAM(NO_ERROR) for its unfinished request half, as gRPC C-core clients send it
 *   (RFC 9113 §8.1), is a success, and nothing is counted against the endpoint;
 * - a client's RST_STREAM(CANCEL) mid-response is a failed request in the stats (under
 *   Linkerd's `failures/com.twitter.finagle.CancelledRequestException`), never the endpoint's
 *   failure in accrual (the accrual here ejects on a single counted failure).
 */
import type { Socket } from "node:net";
import { encodeFrame, encodeHeaderBlock, Flag, FrameType } from "@l5d/h2";
import { afterEach, describe, expect, it } from "vitest";
import { grpcFrame, RawH2Client, waitFor } from "../dataplane/test-support.js";
import {
  type AccrualRig,
  CLIENT_SCOPE,
  SERVER_SCOPE,
  startAccrualRig,
} from "../router/accrual-rig.js";
import { grpcDefault } from "../router/classifier-grpc.js";
import { type RawUpstream, rawUpstream } from "./raw-upstream-rig.js";

const NO_ERROR = 0;
const CANCEL = 8;
const END_HEADERS = Flag.END_HEADERS;
const END_STREAM = Flag.END_STREAM;
const CANCELLED = "failures/com.twitter.finagle.CancelledRequestException";

const REQUEST = encodeHeaderBlock([
  [":method", "POST"],
  [":scheme", "http"],
  [":path", "/test.Svc/Call"],
  [":authority", "svc"],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
]);
const RESPONSE = encodeHeaderBlock([
  [":status", "200"],
  ["content-type", "application/grpc"],
]);
const TRAILERS_OK = encodeHeaderBlock([["grpc-status", "0"]]);

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v, 0);
  return b;
}

/** An upstream answering every request at once: headers, one message, trailers (status 0). */
function completeAnswer(socket: Socket, id: number): void {
  socket.write(
    Buffer.concat([
      encodeFrame(FrameType.HEADERS, END_HEADERS, id, RESPONSE),
      encodeFrame(FrameType.DATA, 0, id, grpcFrame(Buffer.from("hello"))),
      encodeFrame(FrameType.HEADERS, END_HEADERS | END_STREAM, id, TRAILERS_OK),
    ]),
  );
}

/** An upstream answering headers and one message, then nothing more. */
function partialAnswer(socket: Socket, id: number): void {
  socket.write(
    Buffer.concat([
      encodeFrame(FrameType.HEADERS, END_HEADERS, id, RESPONSE),
      encodeFrame(FrameType.DATA, 0, id, grpcFrame(Buffer.from("part"))),
    ]),
  );
}

let open: Array<{ close(): Promise<void> } | AsyncDisposable> = [];
afterEach(async () => {
  for (const o of open.reverse()) {
    if ("close" in o) await o.close().catch(() => {});
    else await o[Symbol.asyncDispose]();
  }
  open = [];
});

async function setup(
  answer: (socket: Socket, id: number) => void,
  classifier: typeof grpcDefault | undefined,
): Promise<{ up: RawUpstream; r: AccrualRig; client: RawH2Client }> {
  const up = await rawUpstream(answer);
  open.push(up);
  // one counted failure would mark the only endpoint dead
  const r = await startAccrualRig([up.endpoint.port], {
    classifier,
    failures: 1,
    backoffMs: 60_000,
  });
  open.push(r);
  const client = await RawH2Client.connect(r.relay.port);
  open.push(client);
  return { up, r, client };
}

/** The client's stream `id` received a HEADERS frame with END_STREAM (trailers, or a trailers-only answer). */
function ended(client: RawH2Client, id: number): boolean {
  return client.received(FrameType.HEADERS, id).some((f) => (f.flags & END_STREAM) !== 0);
}

const PATHS = [
  ["forward path (io.l5d.h2.nonRetryable5XX)", undefined],
  ["exchange path (io.l5d.h2.grpc.default)", grpcDefault],
] as const;

for (const [pathName, classifier] of PATHS)
  describe(`a client's RST_STREAM through the relay: ${pathName}`, () => {
    it("a complete response then the client's RST_STREAM(NO_ERROR) is a success, not the endpoint's failure", async () => {
      const { up, r, client } = await setup(completeAnswer, classifier);
      const N = 15;
      for (let i = 0; i < N; i++) {
        const id = 1 + 2 * i;
        // the request half stays open: HEADERS and a message without END_STREAM
        client.send(FrameType.HEADERS, END_HEADERS, id, REQUEST);
        client.send(FrameType.DATA, 0, id, grpcFrame(Buffer.from("hi")));
        await waitFor(() => ended(client, id), 2_000, `the trailers of stream ${id}`);
        // as gRPC C-core does once it has the trailers (RFC 9113 §8.1)
        client.send(FrameType.RST_STREAM, 0, id, u32(NO_ERROR));
        await waitFor(() => r.records.length === i + 1, 2_000, `request ${i + 1} to finish`);
      }
      expect(up.requests).toBe(N);
      expect(r.records.filter((x) => x.error !== undefined)).toEqual([]);
      expect(r.records.every((x) => x.grpcStatus === 0)).toBe(true);
      expect(r.metric(`${SERVER_SCOPE}/success`)).toBe(N);
      expect(r.metric(`${SERVER_SCOPE}/failures`)).toBe(0);
      expect(r.metric(`${CLIENT_SCOPE}/success`)).toBe(N);
      expect(r.metric(`${SERVER_SCOPE}/${CANCELLED}`)).toBe(0);
      expect(r.accrual(up.endpoint.port).state).toBe("alive");
      expect(r.metric(`${CLIENT_SCOPE}/failure_accrual/removals`)).toBe(0);
      // the relay still answered the client and has no stream left open
      expect(client.received(FrameType.GOAWAY)).toEqual([]);
      await waitFor(() => r.relay.streams === 0, 2_000, "the relay's streams to close");
    });

    it("a client's RST_STREAM(CANCEL) mid-response is a failed (cancelled) request, not the endpoint's failure", async () => {
      const { up, r, client } = await setup(partialAnswer, classifier);
      const N = 5;
      for (let i = 0; i < N; i++) {
        const id = 1 + 2 * i;
        client.send(FrameType.HEADERS, END_HEADERS, id, REQUEST);
        client.send(FrameType.DATA, END_STREAM, id, grpcFrame(Buffer.from("hi")));
        // mid-response: the headers and a message arrived, the trailers never will
        await waitFor(
          () => client.received(FrameType.DATA, id).length > 0,
          2_000,
          `response DATA on stream ${id}`,
        );
        client.send(FrameType.RST_STREAM, 0, id, u32(CANCEL));
        await waitFor(() => r.records.length === i + 1, 2_000, `request ${i + 1} to finish`);
      }
      expect(
        r.records.every((x) => x.error?.includes("the client reset the stream (CANCEL)")),
      ).toBe(true);
      expect(r.metric(`${SERVER_SCOPE}/success`)).toBe(0);
      expect(r.metric(`${SERVER_SCOPE}/failures`)).toBe(N);
      expect(r.metric(`${SERVER_SCOPE}/${CANCELLED}`)).toBe(N);
      expect(r.metric(`${CLIENT_SCOPE}/failures`)).toBe(N);
      expect(r.metric(`${CLIENT_SCOPE}/${CANCELLED}`)).toBe(N);
      expect(r.accrual(up.endpoint.port).state).toBe("alive");
      expect(r.metric(`${CLIENT_SCOPE}/failure_accrual/removals`)).toBe(0);
      // the upstream stream was cancelled too
      await waitFor(
        () =>
          up.frames.filter(
            (f) => f.type === FrameType.RST_STREAM && f.payload.readUInt32BE(0) === CANCEL,
          ).length === N,
        2_000,
        "RST_STREAM(CANCEL) upstream for each request",
      );
    });
  });
