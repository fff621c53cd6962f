/**
 * A streaming GET whose body is one JSON value per line (namerd's `?watch=true` responses).
 * Lines longer than `maxLineBytes` abort the stream: a broken or hostile namerd cannot grow
 * our memory.
 */
import { request } from "node:http";

export interface JsonLinesHandlers {
  onStatus?(status: number, body: string): void;
  onValue(value: unknown): void;
  /** The stream ended (namerd closed it, or a connection error); `error` says why. */
  onEnd(error: Error | undefined): void;
}

export const MAX_LINE_BYTES = 16 << 20;

export function getJsonLines(
  url: URL,
  handlers: JsonLinesHandlers,
  opts: { maxLineBytes?: number; connectTimeoutMs?: number } = {},
): { close(): void } {
  const max = opts.maxLineBytes ?? MAX_LINE_BYTES;
  let ended = false;
  const end = (e: Error | undefined) => {
    if (ended) return;
    ended = true;
    handlers.onEnd(e);
  };
  const req = request(url, { headers: { accept: "application/json" } }, (res) => {
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        if (body.length < 4096) body += d;
      });
      res.on("end", () => {
        handlers.onStatus?.(status, body.trim());
        end(new Error(`namerd answered ${status}: ${body.trim().slice(0, 200)}`));
      });
      return;
    }
    let buf = "";
    res.setEncoding("utf8");
    res.on("data", (d: string) => {
      buf += d;
      let i = buf.indexOf("\n");
      while (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim() !== "") {
          let v: unknown;
          try {
            v = JSON.parse(line);
          } catch {
            // Linkerd writes a failure's message as the stream's last line
            end(new Error(`namerd: ${line.slice(0, 200)}`));
            req.destroy();
            return;
          }
          handlers.onValue(v);
        }
        i = buf.indexOf("\n");
      }
      if (buf.length > max) {
        end(new Error(`namerd sent a line longer than ${max} bytes`));
        req.destroy();
      }
    });
    res.on("end", () => end(new Error("namerd closed the stream")));
    res.on("error", (e) => end(e));
  });
  req.setTimeout(opts.connectTimeoutMs ?? 5_000, () => {
    // only the connection phase is bounded: once streaming, silence is normal
    if (!req.socket || req.socket.connecting) req.destroy(new Error("connect timed out"));
  });
  req.on("response", () => req.setTimeout(0));
  req.on("error", (e) => end(e));
  req.end();
  return {
    close: () => {
      ended = true;
      req.destroy();
    },
  };
}
