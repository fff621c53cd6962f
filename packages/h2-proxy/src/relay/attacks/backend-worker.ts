/**
 * Attack-suite support: the node:http2 backend in a worker thread (its event loop apart from the
 * probe client's in the test's main thread, as a real backend would be). `/big` answers
 * `workerData.bigBytes` of body, anything else 200 "ok". Posts its port; stops on "close".
 */
import * as http2 from "node:http2";
import { parentPort, workerData } from "node:worker_threads";

if (parentPort !== null) {
  const port = parentPort;
  const bigBytes = (workerData as { bigBytes: number }).bigBytes;
  // node's 10 MB session memory bound would close the relay's connection before the relay
  // holds hundreds of streams' windows (a zero-window attack's load): a backend without it
  const server = http2.createServer({ maxSessionMemory: 1_000 });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("error", () => {});
    s.once("close", () => sessions.delete(s));
  });
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    stream.respond({ ":status": 200 });
    if (headers[":path"] !== "/big") {
      stream.end("ok");
      return;
    }
    let left = bigBytes;
    const pump = (): void => {
      while (left > 0 && !stream.destroyed) {
        left -= chunk.length;
        if (!stream.write(chunk)) {
          stream.once("drain", pump);
          return;
        }
      }
      if (!stream.destroyed) stream.end();
    };
    pump();
  });
  server.listen(0, "127.0.0.1", () => {
    port.postMessage((server.address() as { port: number }).port);
  });
  port.on("message", (m: unknown) => {
    if (m !== "close") return;
    for (const s of sessions) s.destroy();
    server.close(() => port.close());
  });
}
