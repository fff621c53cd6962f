#!/usr/bin/env node
// The frame-level relay with a static route, for side-by-side CPU runs (a script, not a test):
//   node bench/static-proxy.mjs <listenPort> <upstreamHost:port>
// Every request is one attempt of an unheld exchange (a plain forward, as the router makes it
// when no retries are configured) with the header edits the router makes (l5d-dst-*,
// l5d-reqid, l5d-ctx-trace). Needs `dist/` (build first).
import { startRelayServer } from "../dist/index.js";

const [listen, upstream] = process.argv.slice(2);
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
const PLAIN = {
  holdResponses: false,
  requestBufferBytes: 16_383,
  responseBufferBytes: 16_383,
  classificationTimeoutMs: 100,
};
let n = 0;
const onRequest = async (req) => {
  const ex = req.exchange(PLAIN);
  const r = await ex.attempt(to, edits(++n));
  if (r.held) await ex.commit();
};
const server = await startRelayServer({ host: "127.0.0.1", port: Number(listen ?? 0), onRequest });
process.stdout.write(`listening ${server.port}\n`);
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
