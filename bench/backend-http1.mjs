#!/usr/bin/env node
// Minimal node:http HTTP/1.1 backend for `bench --http1`.
//   node bench/backend-http1.mjs <port> [host]
// Every request, any method and path, is answered 200 with the 10-byte body "hello l5d\n"
// (content-length, keep-alive). Idle keep-alive connections stay open for 10 minutes: the
// proxies' pooled upstream connections idle between rounds and must not race the backend's
// close. Prints "listening <port>" on stdout once bound.
import http from "node:http";

const port = Number(process.argv[2] ?? 0);
const host = process.argv[3] ?? "127.0.0.1";

const body = Buffer.from("hello l5d\n");
const headers = { "content-type": "text/plain", "content-length": String(body.length) };

const server = http.createServer((req, res) => {
  req.resume(); // a request body, if any, is read and dropped
  res.writeHead(200, headers);
  res.end(body);
});
server.keepAliveTimeout = 600_000;
server.headersTimeout = 610_000;
server.requestTimeout = 0;
server.listen(port, host, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
