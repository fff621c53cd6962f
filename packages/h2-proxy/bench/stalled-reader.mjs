#!/usr/bin/env node
// The stalled-reader scenario of issue #14 as a measurement (a script, not a test; loopback only):
//   node bench/stalled-reader.mjs [distDir] [requests]
// A node:http2 backend answers /big with 1 MiB and /small with "ok". Through a relay (from
// `distDir`, default ../dist), one raw client opens a stream asking for /big with
// SETTINGS_INITIAL_WINDOW_SIZE 0 and never reads; meanwhile another client sends `requests`
// (default 5) /small requests to the same backend. Prints how many were answered within 15 s and
// their latencies, then lets the stalled client read and checks its 1 MiB arrived intact.
import http2 from "node:http2";
import net from "node:net";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const dist = resolve(process.argv[2] ?? new URL("../dist", import.meta.url).pathname);
const n = Number(process.argv[3] ?? 5);
const { startRelayServer } = await import(pathToFileURL(`${dist}/index.js`).href);
const BIG = 1 << 20;
const big = Buffer.alloc(BIG);
for (let i = 0; i < BIG; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;

const backend = http2.createServer();
backend.on("stream", (s, h) => {
  s.on("error", () => {});
  s.respond({ ":status": 200 });
  s.end(h[":path"] === "/big" ? big : "ok");
});
await new Promise((r) => backend.listen(0, "127.0.0.1", r));
const to = { host: "127.0.0.1", port: backend.address().port };
const relay = await startRelayServer({
  host: "127.0.0.1",
  port: 0,
  onRequest: (req) => void req.forward(to),
});

const frame = (type, flags, id, p = Buffer.alloc(0)) => {
  const h = Buffer.alloc(9);
  h.writeUIntBE(p.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, p]);
};
const literal = (fields) => {
  const out = [];
  for (const [k, v] of fields)
    out.push(0, k.length, ...Buffer.from(k), v.length, ...Buffer.from(v));
  return Buffer.from(out);
};
// the stalled client: stream window 0 (SETTINGS_INITIAL_WINDOW_SIZE = 0), never a WINDOW_UPDATE
const raw = net.connect(relay.port, "127.0.0.1");
const got = [];
let gotEnd = false;
let rbuf = Buffer.alloc(0);
raw.on("data", (d) => {
  rbuf = Buffer.concat([rbuf, d]);
  while (rbuf.length >= 9) {
    const len = rbuf.readUIntBE(0, 3);
    if (rbuf.length < 9 + len) break;
    const [type, flags] = [rbuf[3], rbuf[4]];
    if (type === 4 && (flags & 1) === 0) raw.write(frame(4, 1, 0));
    if (type === 0 && rbuf.readUInt32BE(5) === 1) {
      got.push(Buffer.from(rbuf.subarray(9, 9 + len)));
      if (flags & 1) gotEnd = true;
    }
    rbuf = rbuf.subarray(9 + len);
  }
});
await new Promise((r) => raw.once("connect", r));
const settings = Buffer.alloc(6);
settings.writeUInt16BE(4, 0); // INITIAL_WINDOW_SIZE 0
raw.write(
  Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(4, 0, 0, settings)]),
);
const hdrs = [
  [":method", "GET"],
  [":scheme", "http"],
  [":path", "/big"],
  [":authority", "svc"],
];
raw.write(frame(1, 5, 1, literal(hdrs)));
await new Promise((r) => setTimeout(r, 300));

const client = http2.connect(`http://127.0.0.1:${relay.port}`);
client.on("error", () => {});
const t0 = performance.now();
const lat = await Promise.all(
  Array.from(
    { length: n },
    () =>
      new Promise((r) => {
        const s = performance.now();
        const req = client.request({ ":path": "/small", ":authority": "svc" });
        const timer = setTimeout(() => r(undefined), 15_000);
        req.on("error", () => {});
        req.resume();
        req.on("end", () => {
          clearTimeout(timer);
          r(performance.now() - s);
        });
      }),
  ),
);
const ok = lat.filter((x) => x !== undefined);
console.log(
  `other client: ${ok.length} of ${n} answered within 15 s; latencies ms: ${lat.map((x) => (x === undefined ? "none" : x.toFixed(1))).join(" ")} (total ${(performance.now() - t0).toFixed(0)} ms)`,
);
// now the stalled client reads: its whole response must arrive intact
const inc = Buffer.alloc(4);
inc.writeUInt32BE(1 << 30);
raw.write(Buffer.concat([frame(8, 0, 1, inc), frame(8, 0, 0, inc)]));
const deadline = Date.now() + 10_000;
while (!gotEnd && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
const body = Buffer.concat(got);
console.log(`stalled client, once reading: ${body.length} bytes, intact: ${body.equals(big)}`);
client.destroy();
raw.destroy();
await relay.close(100);
backend.close();
process.exit(0);
