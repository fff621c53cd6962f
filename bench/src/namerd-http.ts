// The HTTP calls `bench --namerd` makes to namerd's io.l5d.httpController on 127.0.0.1: one
// request with its answer (timed by the caller), and watch streams held open until closed.
import http, { type Agent, type IncomingHttpHeaders } from "node:http";

/** A complete answer. */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Raised when namerd does not answer as expected. */
export class NamerdHttpError extends Error {
  override name = "NamerdHttpError";
}

/** One request to 127.0.0.1:port; resolves with the whole answer, any status. */
export function namerdRequest(
  port: number,
  method: string,
  path: string,
  o: {
    headers?: Record<string, string>;
    body?: string;
    agent?: Agent | false;
    timeoutMs?: number;
  } = {},
): Promise<HttpAnswer> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: o.headers ?? {},
        agent: o.agent ?? false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("timeout", () =>
      req.destroy(new NamerdHttpError(`${method} ${path}: no answer within ${timeoutMs} ms`)),
    );
    req.on("error", reject);
    req.end(o.body);
  });
}

/** Like {@link namerdRequest}, failing unless the status is `want`. */
export async function namerdExpect(
  want: number,
  port: number,
  method: string,
  path: string,
  o: Parameters<typeof namerdRequest>[3] = {},
): Promise<HttpAnswer> {
  const a = await namerdRequest(port, method, path, o);
  if (a.status !== want)
    throw new NamerdHttpError(
      `${method} ${path}: HTTP ${a.status} (want ${want}): ${a.body.slice(0, 300)}`,
    );
  return a;
}

/** An open `?watch=true` stream. */
export interface OpenWatch {
  close(): void;
}

/**
 * Opens `path` (a `?watch=true` URL) on its own connection and resolves once the first chunk
 * of the stream has arrived (namerd's first answer), or rejects after `timeoutMs`.
 */
export function openWatch(port: number, path: string, timeoutMs = 15_000): Promise<OpenWatch> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = http.request({ host: "127.0.0.1", port, method: "GET", path, agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      fail(new NamerdHttpError(`watch ${path}: no first answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(e);
    };
    req.on("response", (res) => {
      if (res.statusCode !== 200) {
        req.destroy();
        fail(new NamerdHttpError(`watch ${path}: HTTP ${res.statusCode}`));
        return;
      }
      res.on("data", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ close: () => req.destroy() });
      });
      res.on("error", (e) => fail(e));
    });
    req.on("error", (e) => fail(e));
    req.end();
  });
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight; stops at the first error. */
export async function inParallel(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < count) {
      const i = next++;
      try {
        await task(i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (failed !== undefined) throw failed;
}
