#!/usr/bin/env node
// Minimal node:http2 gRPC backend for the benchmark (h2c, prior knowledge).
//   node bench/backend.mjs <port> [host]
// Routes (any other path answers grpc-status 12 UNIMPLEMENTED):
//   /helloworld.World/Greeting  unary: reads the length-prefixed request, answers SvcResponse{message:"world!"}
//   /bench.Bench/Stream         server stream: N SvcResponse messages (header x-bench-count, default 1000),
//                               each written separately (one DATA frame each, modulo coalescing)
//   /bench.Bench/Echo           unary: answers the request message back (the 1 MiB case)
// Prints "listening <port>" on stdout once bound.
import http2 from "node:http2";

const port = Number(process.argv[2] ?? 0);
const host = process.argv[3] ?? "127.0.0.1";

/** protobuf SvcResponse{message = 1: "world!"} with the 5-byte gRPC prefix. */
function grpcFrame(payload) {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = 0;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}
const text = Buffer.from("world!");
const reply = grpcFrame(Buffer.concat([Buffer.from([0x0a, text.length]), text]));
const okHeaders = { ":status": 200, "content-type": "application/grpc" };

const server = http2.createServer({ settings: { maxConcurrentStreams: 10_000 } });
server.on("stream", (stream, headers) => {
  const path = headers[":path"];
  const chunks = [];
  stream.on("data", (c) => chunks.push(c));
  stream.on("error", () => {});
  stream.on("end", () => {
    if (stream.destroyed) return;
    if (path === "/helloworld.World/Greeting") {
      stream.respond(okHeaders, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(reply);
    } else if (path === "/bench.Bench/Stream") {
      const n = Math.min(Number(headers["x-bench-count"] ?? 1000) || 1000, 100_000);
      stream.respond(okHeaders, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      for (let i = 0; i < n; i++) stream.write(reply);
      stream.end();
    } else if (path === "/bench.Bench/Echo") {
      const body = Buffer.concat(chunks);
      stream.respond(okHeaders, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(body.length >= 5 ? body : grpcFrame(Buffer.alloc(0)));
    } else {
      stream.respond(
        { ...okHeaders, "grpc-status": "12", "grpc-message": "unknown method" },
        { endStream: true },
      );
    }
  });
});
server.listen(port, host, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
