#!/usr/bin/env node
// One data plane with a static route, for side-by-side CPU runs (a script, not a test):
//   node bench/static-proxy.mjs <relay|dataplane> <listenPort> <upstreamHost:port>
// Every request is forwarded with the header edits the router makes (l5d-dst-*, l5d-reqid,
// l5d-ctx-trace), so both data planes carry the same bytes. Needs `dist/` (build first).
import { installFastAsyncBind, startProxyServer, startRelayServer } from "../dist/index.js";

const [mode, listen, upstream] = process.argv.slice(2);
const [host, port] = (upstream ?? "127.0.0.1:8080").split(":");
const to = { host, port: Number(port) };
const edits = (n) => ({
  set: {
    "l5d-dst-service": "/svc/hello",
    "l5d-dst-client": "/$/inet/127.0.0.1/8080",
    "l5d-reqid": (n >>> 0).toString(16).padStart(16, "0"),
    "l5d-ctx-trace": Buffer.alloc(32, n & 0xff).toString("base64"),
  },
  remove: ["l5d-dtab"],
});
let n = 0;
const onRequest = (req) => {
  void req.forward(to, edits(++n));
};
const opts = { host: "127.0.0.1", port: Number(listen ?? 0), onRequest };
if (mode === "dataplane") installFastAsyncBind();
const server = mode === "relay" ? await startRelayServer(opts) : await startProxyServer(opts);
process.stdout.write(`listening ${server.port}\n`);
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
