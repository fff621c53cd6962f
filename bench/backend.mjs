#!/usr/bin/env node
// Minimal node:http2 gRPC backend for the benchmark (h2c, prior knowledge; optionally also TLS
// with ALPN h2 on a second port, for the `-tls` cases: the same routes, the same process).
//   node bench/backend.mjs <port> [host] [--tls=<port>,<certFile>,<keyFile>]
// Routes (any other path answers grpc-status 12 UNIMPLEMENTED):
//   /helloworld.World/Greeting  unary: reads the length-prefixed request, answers SvcResponse{message:"world!"}
//   /bench.Bench/Stream         server stream: N SvcResponse messages (header x-bench-count, default 1000),
//                               each written separately (one DATA frame each, modulo coalescing)
//   /bench.Bench/Echo           unary: answers the request message back (the 1 MiB case)
// Prints "listening <port>" (and "listening tls <port>") on stdout once bound.
import { readFileSync } from "node:fs";
import http2 from "node:http2";

const flags = process.argv.slice(2).filter((a) => a.startsWith("--"));
const positional = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const port = Number(positional[0] ?? 0);
const host = positional[1] ?? "127.0.0.1";
const tlsFlag = flags.find((f) => f.startsWith("--tls="));
const unknown = flags.filter((f) => f !== tlsFlag);
if (unknown.length > 0) {
  process.stderr.write(`backend: unknown flag ${unknown[0]}\n`);
  process.exit(2);
}

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

const settings = { maxConcurrentStreams: 10_000 };

function onStream(stream, headers) {
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
}

const server = http2.createServer({ settings });
server.on("stream", onStream);
server.listen(port, host, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

if (tlsFlag !== undefined) {
  const [tlsPort, certFile, keyFile] = tlsFlag.slice("--tls=".length).split(",");
  if (!tlsPort || !certFile || !keyFile) {
    process.stderr.write("backend: --tls=<port>,<certFile>,<keyFile>\n");
    process.exit(2);
  }
  // ALPN h2 only (node's default for a secure HTTP/2 server without allowHTTP1)
  const tls = http2.createSecureServer({
    settings,
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
  });
  tls.on("stream", onStream);
  tls.listen(Number(tlsPort), host, () => {
    process.stdout.write(`listening tls ${tls.address().port}\n`);
  });
}
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
