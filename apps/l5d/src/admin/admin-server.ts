/**
 * The admin HTTP server (Linkerd's port 9990): a small route table over node:http. Routes are
 * registered by the parts of the daemon that own the data (metrics, routers, namers,
 * telemeters), so the server itself knows nothing about them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { TlsOptions } from "node:tls";
import { type AdminSecurity, categoryOf, crossOriginProblem } from "./admin-security.js";

export interface AdminRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage["headers"];
  /** The request body (read only for POST/PUT), as text. */
  readonly body: string;
}

export interface AdminResponse {
  readonly status?: number;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
  readonly body: string | Buffer;
}

export type AdminHandler = (req: AdminRequest) => AdminResponse | Promise<AdminResponse>;

export interface AdminRoute {
  readonly path: string;
  /** Shown on the `/admin` index. */
  readonly description: string;
  /** Match every path under `path` (e.g. `/files/`). */
  readonly prefix?: boolean;
  readonly methods?: readonly string[];
  readonly handler: AdminHandler;
}

export function json(value: unknown, status = 200, pretty = false): AdminResponse {
  return {
    status,
    contentType: "application/json",
    body: pretty ? `${JSON.stringify(value, null, 2)}\n` : JSON.stringify(value),
  };
}

export function text(body: string, status = 200): AdminResponse {
  return { status, contentType: "text/plain; charset=utf-8", body };
}

const MAX_BODY = 1 << 20;

export class AdminServer {
  readonly #routes: AdminRoute[] = [];
  #server: Server | undefined;

  /** `admin.security`: paths it refuses answer 404; control requests from other origins 403. */
  constructor(readonly security?: AdminSecurity) {}

  route(r: AdminRoute): this {
    this.#routes.push(r);
    return this;
  }

  get routes(): readonly AdminRoute[] {
    return this.#routes;
  }

  #find(path: string): AdminRoute | undefined {
    let best: AdminRoute | undefined;
    for (const r of this.#routes) {
      if (r.path === path) return r;
      if (r.prefix && path.startsWith(r.path) && (!best || r.path.length > best.path.length))
        best = r;
    }
    return best;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://admin");
    const route = this.#find(url.pathname);
    if (this.security !== undefined && !this.security.allows(url.pathname)) {
      send(res, text(`not found: ${url.pathname}\n`, 404));
      return;
    }
    if (categoryOf(url.pathname) === "control") {
      const why = crossOriginProblem(req.headers);
      if (why !== undefined) {
        send(res, text(`refused: ${url.pathname} from ${why}\n`, 403));
        return;
      }
    }
    if (!route) {
      send(res, text(`not found: ${url.pathname}\n`, 404));
      return;
    }
    const method = req.method ?? "GET";
    if (route.methods && !route.methods.includes(method)) {
      send(res, {
        ...text(`method ${method} not allowed\n`, 405),
        headers: { allow: route.methods.join(", ") },
      });
      return;
    }
    let body = "";
    if (method === "POST" || method === "PUT") {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of req) {
        size += (c as Buffer).length;
        if (size > MAX_BODY) {
          send(res, text("request body too large\n", 413));
          return;
        }
        chunks.push(c as Buffer);
      }
      body = Buffer.concat(chunks).toString("utf8");
    }
    try {
      const r = await route.handler({
        method,
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
      });
      send(res, r);
    } catch (e) {
      send(res, text(`internal error: ${(e as Error).message}\n`, 500));
    }
  }

  /** Serves on `host:port`, over HTTPS with `tls` (`admin.tls`). */
  listen(host: string, port: number, tls?: TlsOptions): Promise<number> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.#handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    };
    const server: Server =
      tls === undefined ? createServer(handler) : createHttpsServer(tls, handler);
    server.keepAliveTimeout = 5_000;
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    const s = this.#server;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}

function send(res: ServerResponse, r: AdminResponse): void {
  if (res.headersSent) return;
  res.writeHead(r.status ?? 200, {
    "content-type": r.contentType ?? "text/plain; charset=utf-8",
    "cache-control": "no-cache",
    ...r.headers,
  });
  res.end(r.body);
}
