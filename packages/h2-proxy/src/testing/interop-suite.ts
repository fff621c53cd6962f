/** The gRPC interop matrix as a reusable suite (see defineInteropSuite). */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GrpcBackend,
  payload,
  sized,
  startGrpcBackend,
  type TestClient,
  testClient,
  waitFor,
} from "../dataplane/test-support.js";
import type { Address as Endpoint } from "../router/address.js";

type Unary = (
  req: Buffer,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
) => grpc.ClientUnaryCall;

function unary(
  client: TestClient,
  name: "EmptyCall" | "UnaryCall" | "UnimplementedCall",
  req: Buffer,
  md = new grpc.Metadata(),
  opts: grpc.CallOptions = {},
): Promise<{ res: Buffer; initial: grpc.Metadata; trailing: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    let initial = new grpc.Metadata();
    let trailing = new grpc.Metadata();
    const call = (client[name] as unknown as Unary).call(client, req, md, opts, (err, res) => {
      if (err !== null) reject(err);
      else setImmediate(() => resolve({ res: res as Buffer, initial, trailing }));
    });
    call.on("metadata", (m) => {
      initial = m;
    });
    call.on("status", (s) => {
      trailing = s.metadata;
    });
  });
}

function expectStatus(p: Promise<unknown>, code: number): Promise<grpc.ServiceError> {
  return p.then(
    () => {
      throw new Error(`expected status ${code}, got OK`);
    },
    (err: grpc.ServiceError) => {
      expect(err.code).toBe(code);
      return err;
    },
  );
}

/** A chain of proxies in front of the interop backend, as a suite sees it. */
export interface InteropChain {
  /** The port clients connect to (127.0.0.1). */
  readonly port: number;
  /** Open streams across the chain's proxies; must return to 0 after every case. */
  streams(): number;
  /** How the client connects (TLS to the first hop); plaintext when unset. */
  readonly credentials?: grpc.ChannelCredentials;
  /** Extra client options (e.g. `grpc.ssl_target_name_override`). */
  readonly clientOptions?: grpc.ClientOptions;
  close(): Promise<void>;
}

/**
 * gRPC's interop cases (empty_unary, large_unary, client_streaming, server_streaming,
 * ping_pong, empty_stream, cancel_after_begin, cancel_after_first_response,
 * timeout_on_sleeping_server, custom_metadata, status_code_and_message,
 * special_status_message, unimplemented_method) through whatever `setup` puts in front of a
 * real grpc-js backend. Used for the bare data plane and for l5d daemons alike.
 */
export function defineInteropSuite(
  title: string,
  setup: (backend: Endpoint) => Promise<InteropChain>,
): void {
  describe(title, () => {
    let backend: GrpcBackend;
    let chain: InteropChain;
    let client: TestClient;

    beforeAll(async () => {
      backend = await startGrpcBackend();
      chain = await setup(backend.endpoint);
      client = testClient(chain.port, chain.clientOptions, chain.credentials);
    });

    afterAll(async () => {
      client.close();
      await chain.close();
      await backend.close();
    });

    const settle = (): Promise<void> =>
      waitFor(() => chain.streams() === 0, 5000, "proxy streams to reach 0");

    it("empty_unary", async () => {
      const { res } = await unary(client, "EmptyCall", Buffer.alloc(0));
      expect(res.length).toBe(0);
      await settle();
    });

    it("large_unary", async () => {
      const md = new grpc.Metadata();
      md.set("x-response-size", "314159");
      const req = payload(271828);
      const { res } = await unary(client, "UnaryCall", req, md);
      expect(res.equals(payload(314159, 271828 & 0xff))).toBe(true);
      await settle();
    });

    it("client_streaming", async () => {
      const sizes = [27182, 8, 1828, 45904];
      const res = await new Promise<Buffer>((resolve, reject) => {
        const call = client.makeClientStreamRequest(
          TestPath.StreamingInputCall,
          (b: Buffer) => b,
          (b: Buffer) => b,
          new grpc.Metadata(),
          {},
          (err, r) => (err === null ? resolve(r as Buffer) : reject(err)),
        );
        for (const [i, s] of sizes.entries()) call.write(payload(s, i));
        call.end();
      });
      expect(res.readUInt32BE(0)).toBe(74922);
      await settle();
    });

    it("server_streaming", async () => {
      const md = new grpc.Metadata();
      md.set("x-response-sizes", "31415,9,2653,58979");
      const got = await collect(
        client.makeServerStreamRequest(
          TestPath.StreamingOutputCall,
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.alloc(0),
          md,
        ),
      );
      expect(got.map((m) => m.length)).toEqual([31415, 9, 2653, 58979]);
      for (const [i, m] of got.entries()) expect(m.equals(payload(m.length, i))).toBe(true);
      await settle();
    });

    it("ping_pong", async () => {
      const call = duplex(client);
      const sizes: Array<[number, number]> = [
        [27182, 31415],
        [8, 9],
        [1828, 2653],
        [45904, 58979],
      ];
      const it = call[Symbol.asyncIterator]();
      for (const [reqSize, resSize] of sizes) {
        call.write(sized(resSize, payload(reqSize - 4)));
        const next = await it.next();
        expect((next.value as Buffer).length).toBe(resSize);
      }
      call.end();
      expect((await it.next()).done).toBe(true);
      await settle();
    });

    it("empty_stream", async () => {
      const call = duplex(client);
      call.end();
      expect(await collect(call)).toEqual([]);
      await settle();
    });

    it("cancel_after_begin", async () => {
      const before = backend.cancelled;
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        const call = client.makeClientStreamRequest(
          TestPath.StreamingInputCall,
          (b: Buffer) => b,
          (b: Buffer) => b,
          new grpc.Metadata(),
          {},
          (e) => resolve(e as grpc.ServiceError),
        );
        setTimeout(() => call.cancel(), 50);
      });
      expect(err.code).toBe(grpc.status.CANCELLED);
      // The cancellation travels through every hop to the backend.
      await waitFor(() => backend.cancelled > before, 5000, "backend to see the cancel");
      await settle();
    });

    it("cancel_after_first_response", async () => {
      const before = backend.cancelled;
      const call = duplex(client);
      const it = call[Symbol.asyncIterator]();
      call.write(sized(31415, payload(27178)));
      expect(((await it.next()).value as Buffer).length).toBe(31415);
      const status = new Promise<grpc.StatusObject>((r) => call.on("status", r));
      call.on("error", () => {});
      call.cancel();
      expect((await status).code).toBe(grpc.status.CANCELLED);
      await waitFor(() => backend.cancelled > before, 5000, "backend to see the cancel");
      await settle();
    });

    it("timeout_on_sleeping_server", async () => {
      const md = new grpc.Metadata();
      md.set("x-sleep-ms", "2000");
      const call = client.makeBidiStreamRequest(
        TestPath.FullDuplexCall,
        (b: Buffer) => b,
        (b: Buffer) => b,
        md,
        { deadline: Date.now() + 200 },
      );
      call.on("data", () => {});
      const status = new Promise<grpc.StatusObject>((r) => call.on("status", r));
      call.on("error", () => {});
      call.write(sized(27182));
      expect((await status).code).toBe(grpc.status.DEADLINE_EXCEEDED);
      await settle();
    });

    it("custom_metadata", async () => {
      const md = new grpc.Metadata();
      md.set("x-grpc-test-echo-initial", "test_initial_metadata_value");
      md.set("x-grpc-test-echo-trailing-bin", Buffer.from([0xab, 0xab, 0xab]));
      md.set("x-response-size", "314159");
      const { res, initial, trailing } = await unary(client, "UnaryCall", payload(271828), md);
      expect(res.length).toBe(314159);
      expect(initial.get("x-grpc-test-echo-initial")).toEqual(["test_initial_metadata_value"]);
      expect(trailing.get("x-grpc-test-echo-trailing-bin")).toEqual([
        Buffer.from([0xab, 0xab, 0xab]),
      ]);
      await settle();
    });

    it("status_code_and_message", async () => {
      const md = new grpc.Metadata();
      md.set("x-status-code", "2");
      md.set("x-status-message-bin", Buffer.from("test status message"));
      const err = await expectStatus(unary(client, "UnaryCall", Buffer.alloc(1), md), 2);
      expect(err.details).toBe("test status message");
      await settle();
    });

    it("special_status_message", async () => {
      const message = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";
      const md = new grpc.Metadata();
      md.set("x-status-code", "2");
      md.set("x-status-message-bin", Buffer.from(message));
      const err = await expectStatus(unary(client, "UnaryCall", Buffer.alloc(1), md), 2);
      expect(err.details).toBe(message);
      await settle();
    });

    it("unimplemented_method", async () => {
      await expectStatus(
        unary(client, "UnimplementedCall", Buffer.alloc(0)),
        grpc.status.UNIMPLEMENTED,
      );
      await settle();
    });
  });
}

const TestPath = {
  StreamingInputCall: "/grpc.testing.TestService/StreamingInputCall",
  StreamingOutputCall: "/grpc.testing.TestService/StreamingOutputCall",
  FullDuplexCall: "/grpc.testing.TestService/FullDuplexCall",
} as const;

function duplex(client: TestClient): grpc.ClientDuplexStream<Buffer, Buffer> {
  return client.makeBidiStreamRequest(
    TestPath.FullDuplexCall,
    (b: Buffer) => b,
    (b: Buffer) => b,
  );
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const m of stream) out.push(m as Buffer);
  return out;
}
