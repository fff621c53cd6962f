#!/usr/bin/env node
// The naive node:http2 forwarding proxy: the performance anchor of issue #9 (~147 µs CPU/request).
// One upstream h2c session, one node:http2 stream object per request on each side, bodies piped,
// response headers and trailers copied. No routing, no retries, no metrics.
//   node bench/naive-proxy.mjs <listenPort> <upstreamHost:port>
// Prints "listening <port>" on stdout once bound.
import http2 from "node:http2";

const listenPort = Number(process.argv[2] ?? 0);
const upstream = `http://${process.argv[3] ?? "127.0.0.1:8080"}`;
const hopByHop = new Set([":method", ":path", ":scheme", ":authority", "connection", "keep-alive"]);

let session;
function upstreamSession() {
  if (session && !session.closed && !session.destroyed) return session;
  session = http2.connect(upstream, { settings: { maxConcurrentStreams: 10_000 } });
  session.on("error", () => {});
  session.on("close", () => {
    session = undefined;
  });
  return session;
}

const server = http2.createServer({ settings: { maxConcurrentStreams: 10_000 } });
server.on("stream", (down, headers) => {
  const out = {
    ":method": headers[":method"],
    ":path": headers[":path"],
    ":authority": headers[":authority"] ?? "upstream",
  };
  for (const [k, v] of Object.entries(headers)) if (!hopByHop.has(k)) out[k] = v;
  const up = upstreamSession().request(out);
  down.pipe(up);
  up.on("response", (h) => {
    const rh = {};
    for (const [k, v] of Object.entries(h)) if (k !== "connection") rh[k] = v;
    if (down.destroyed) return;
    if (up.endAfterHeaders) return down.respond(rh, { endStream: true }); // trailers-only
    down.respond(rh, { waitForTrailers: true });
    up.pipe(down);
  });
  let trailers;
  up.on("trailers", (t) => {
    trailers = t;
  });
  down.on("wantTrailers", () => {
    if (trailers) down.sendTrailers(trailers);
    else down.close();
  });
  const fail = () => {
    if (!down.destroyed && !down.headersSent) {
      const h = { ":status": 502, "content-type": "application/grpc", "grpc-status": "14" };
      down.respond(h, { endStream: true });
    } else if (!down.destroyed) down.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  };
  up.on("error", fail);
  down.on("error", () => up.close(http2.constants.NGHTTP2_CANCEL));
});
server.listen(listenPort, "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
