import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  request,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { formatGoDuration, parseGoDuration } from "./go-duration.js";
import { type Greeter, InjectedFailureError } from "./greeter.js";
import { copyL5dContextHeaders } from "./l5d-context.js";

/** Options of {@link startHttpListener}. */
export interface HttpListenerOptions {
  host: string | undefined;
  port: number;
  greeter: Greeter;
  /** Downstream called as `GET http://<target>`; undefined = leaf. */
  target: string | undefined;
  /** Wrap replies as `{"api_result": ...}` (`-json`). */
  json: boolean;
  /**
   * HTTP proxy for the downstream call (`http_proxy` env, e.g. `node:4140`), like Go's
   * `http.ProxyFromEnvironment`; not used for localhost/loopback targets. Default none.
   */
  httpProxy: string | undefined;
  /** Line logger (`set latency to 1s`). */
  log: (line: string) => void;
}

/** A running HTTP listener. */
export interface HttpListener {
  port: number;
  shutdown(timeoutMs: number): Promise<void>;
  close(): void;
}

/** Go's `http.Error`: text/plain, nosniff, message plus newline. */
function httpError(res: ServerResponse, message: string, code: number): void {
  res.writeHead(code, {
    "content-type": "text/plain; charset=utf-8",
    "x-content-type-options": "nosniff",
  });
  res.end(`${message}\n`);
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\./.test(h);
}

/** `GET http://<target>` with the `l5d-ctx*` headers; resolves with the body of a 200. */
export function httpGetTarget(
  target: string,
  headers: OutgoingHttpHeaders,
  httpProxy: string | undefined,
): Promise<string> {
  const url = new URL(`http://${target}`);
  const proxy =
    httpProxy !== undefined && httpProxy !== "" && !isLoopbackHost(url.hostname)
      ? new URL(/^[a-z]+:\/\//i.test(httpProxy) ? httpProxy : `http://${httpProxy}`)
      : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: (proxy ?? url).hostname.replace(/^\[|\]$/g, ""),
        port: Number((proxy ?? url).port || 80),
        method: "GET",
        path: proxy === undefined ? `${url.pathname}${url.search}` : url.href,
        headers: { ...headers, host: url.host },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          if (res.statusCode !== 200) reject(new Error(`invalid response ${res.statusCode}`));
          else resolve(Buffer.concat(chunks).toString("utf8"));
        });
      },
    );
    req.on("error", (err) => reject(new Error(`Get ${url.href}: ${err.message}`)));
    req.end();
  });
}

/** Starts the original app's HTTP mode (GET any path, `/setLatency`, `/setFailureRate`). */
export async function startHttpListener(opts: HttpListenerOptions): Promise<HttpListener> {
  const { greeter } = opts;

  const handleRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const target = opts.target;
    const downstream =
      target === undefined || target === ""
        ? undefined
        : () => httpGetTarget(target, copyL5dContextHeaders(req.headers), opts.httpProxy);
    let text: string;
    try {
      text = await greeter.respond(downstream);
    } catch (err) {
      if (err instanceof InjectedFailureError) httpError(res, "", 500);
      else httpError(res, err instanceof Error ? err.message : String(err), 503);
      return;
    }
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end(opts.json ? JSON.stringify({ api_result: text }) : `${text}!`);
  };

  const setting = (
    req: IncomingMessage,
    res: ServerResponse,
    param: string,
    apply: (raw: string) => string | undefined,
  ) => {
    if (req.method !== "POST") return httpError(res, "POST required", 405);
    const raw = new URL(req.url ?? "/", "http://x").searchParams.get(param) ?? "";
    if (raw === "") return httpError(res, `missing required parameter: ${param}`, 400);
    const problem = apply(raw);
    if (problem !== undefined) return httpError(res, problem, 400);
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end("ok");
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    req.resume();
    if (path === "/setLatency") {
      setting(req, res, "latency", (raw) => {
        try {
          greeter.latencyMs = parseGoDuration(raw);
        } catch {
          return "latency is not a valid duration";
        }
        opts.log(`set latency to ${formatGoDuration(greeter.latencyMs)}`);
        return undefined;
      });
    } else if (path === "/setFailureRate") {
      setting(req, res, "failureRate", (raw) => {
        const rate = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
        if (Number.isNaN(rate)) return "failureRate is not a valid float";
        if (rate < 0 || rate > 1) return "failureRate must be between 0.0 and 1.0";
        greeter.failureRate = rate;
        opts.log(`set failure rate to ${rate}`);
        return undefined;
      });
    } else {
      void handleRequest(req, res);
    }
  });
  // The original's server timeouts: read 5 s.
  server.headersTimeout = 5_000;
  server.requestTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(
      opts.host === undefined ? { port: opts.port } : { host: opts.host, port: opts.port },
      () => {
        server.off("error", reject);
        resolve();
      },
    );
  });

  let stopping: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    shutdown(timeoutMs) {
      stopping ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
        }, timeoutMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      return stopping;
    },
    close() {
      server.close();
      server.closeAllConnections();
    },
  };
}
