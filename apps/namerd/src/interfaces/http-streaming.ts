/**
 * `?watch=true` responses of namerd's HTTP API (Linkerd's `streamingResp`): a chunked body with
 * one rendered value per line, a new line each time the value changes (repeats suppressed).
 * A failure writes its message as the last line and ends the response. The observation is
 * released when the client goes away. Renders may be asynchronous; their lines keep the order
 * of the values. A client that does not read never grows our memory:
 * while the socket is backed up only the newest value is kept, written on `drain`.
 */
import type { ServerResponse } from "node:http";
import type { Activity, Closable } from "@l5d/dtab";

export function streamActivity<T>(
  res: ServerResponse,
  contentType: string,
  values: Activity<T>,
  render: (value: T) => string | undefined | Promise<string | undefined>,
): void {
  res.writeHead(200, { "content-type": contentType, "cache-control": "no-cache" });
  res.flushHeaders();
  let last: string | undefined;
  let pending: string | undefined;
  let ended = false;
  let sub: Closable | undefined;
  // renders may be asynchronous (a bound tree waits for its addresses): lines go out in order
  let chain: Promise<void> = Promise.resolve();
  const finish = () => {
    if (ended) return;
    ended = true;
    queueMicrotask(() => sub?.close());
  };
  const write = (line: string) => {
    if (ended) return;
    if (res.writableNeedDrain) {
      pending = line;
      return;
    }
    res.write(line);
  };
  res.on("drain", () => {
    if (pending === undefined || ended) return;
    const p = pending;
    pending = undefined;
    res.write(p);
  });
  res.on("close", finish);
  sub = values.observe((s) => {
    if (ended) return;
    if (s.kind === "pending") return;
    if (s.kind === "failed") {
      write(`${s.error.message}\n`);
      res.end();
      finish();
      return;
    }
    const value = s.value;
    chain = chain
      .then(() => render(value))
      .then(
        (text) => {
          if (text === undefined || text === last) return;
          last = text;
          write(`${text}\n`);
        },
        (e: unknown) => {
          write(`${e instanceof Error ? e.message : String(e)}\n`);
          res.end();
          finish();
        },
      );
  });
  if (ended) sub.close();
}
