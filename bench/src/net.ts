import { connect, createServer } from "node:net";
import type { Child } from "./supervisor.js";

/** A free TCP port on `host` (default 127.0.0.1; bound to port 0 then released). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Raised when a started process does not become reachable. */
export class NotReadyError extends Error {
  override name = "NotReadyError";
}

/** Polls until host:port (default 127.0.0.1) accepts a TCP connection; fails early if `child` exits. */
export async function waitForPort(
  port: number,
  timeoutMs: number,
  child?: Child,
  host = "127.0.0.1",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child?.hasExited()) {
      throw new NotReadyError(
        `${child.name} exited before listening on ${port}: ${child.output().slice(-600)}`,
      );
    }
    if (await tryConnect(port, host)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new NotReadyError(
    `${host}:${port} not listening after ${timeoutMs} ms${child ? `: ${child.output().slice(-600)}` : ""}`,
  );
}

function tryConnect(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}
