/**
 * An HTTP/1.1 router's server: node's HTTP/1 parser (llhttp, strict: no lenient flags) on a
 * socket, plus the proxy's own checks. What the parser or the checks refuse is answered here with
 * its status and reason and never reaches the router or an endpoint:
 * - malformed requests (`Content-Length` with `Transfer-Encoding`, duplicate or invalid
 *   `Content-Length`, a `Transfer-Encoding` not ending in chunked, obs-fold, bare CR or LF,
 *   invalid characters in names or values, a missing or repeated `Host`): 400;
 * - a request line over `maxInitialLineKB`: 414; headers over `maxHeadersKB`: 431;
 * - a body with a `Content-Length` over `maxRequestKB`: 413 (chunked bodies stream unbounded,
 *   as Linkerd's with streaming on; with `streamingEnabled: false` every body is bounded);
 * - a head not received within `headersTimeoutMs` (slowloris): 408 and the connection closed;
 * - past `maxConnections`, new connections are closed at once.
 */
import { createServer, type IncomingMessage, type Server, ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TlsOptions } from "node:tls";
import type { AccessLog } from "./access-log.js";
import { BodyLog } from "./body-log.js";
import { type ForwardedConfig, forwardedElement } from "./forwarded.js";
import { H1Request } from "./h1-request.js";
import { localAnswer } from "./local-answer.js";
import type { UpgradeParts } from "./tunnel.js";
import type { UpstreamPools } from "./upstream-pool.js";

/** Why the server refused a request or a connection itself (counted and logged by the caller). */
export type H1RejectName =
  | "bad_request"
  | "line_too_long"
  | "headers_too_large"
  | "body_too_large"
  | "headers_timeout"
  | "expectation_failed";

export interface H1ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: TlsOptions | undefined;
  readonly onTlsError?: ((message: string, peer: string) => void) | undefined;
  /** The router's upstream pools (shared by its servers). */
  readonly upstreams: UpstreamPools;
  readonly routerLabel: string;
  readonly maxInitialLineBytes: number;
  readonly maxHeadersBytes: number;
  readonly maxRequestBytes: number;
  readonly maxResponseBytes: number;
  readonly streaming: boolean;
  readonly headersTimeoutMs: number;
  /** 0: an idle keep-alive connection is never closed by the server. */
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  readonly connectTimeoutMs: number;
  readonly addForwardedHeader?: ForwardedConfig | undefined;
  /** The router's `httpAccessLog`, shared by its servers. */
  readonly accessLog?: AccessLog | undefined;
  /** Buffer for replays (`retryBufferSize.requestBytes`). Default 16383. */
  readonly requestBufferBytes?: number;
  onRequest(req: H1Request): void;
  onReject?(name: H1RejectName, detail: string): void;
}

export interface H1Server {
  readonly host: string;
  readonly port: number;
  /** Open client connections. */
  readonly connections: number;
  /** Requests in progress (received, response not yet complete). */
  readonly requests: number;
  setTls(tls: TlsOptions): void;
  /** Stops accepting; idle connections close now, busy ones after their response or `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "Bad Request",
  408: "Request Timeout",
  413: "Content Too Large",
  414: "URI Too Long",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
};

/** Answers on a socket the parser gave up on, then closes it. */
function answerRaw(socket: Socket, status: number, reason: string): void {
  if (
    !socket.writable ||
    (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent
  ) {
    socket.destroy();
    return;
  }
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The parser's error codes and what they mean to a client. */
function parseFailure(e: NodeJS.ErrnoException & { reason?: string }): {
  status: number;
  name: H1RejectName;
  reason: string;
} {
  const code = e.code ?? "";
  if (code === "HPE_HEADER_OVERFLOW")
    return {
      status: 431,
      name: "headers_too_large",
      reason: "request line and headers are over the server's limit",
    };
  if (code === "ERR_HTTP_REQUEST_TIMEOUT" || code === "ERR_HTTP_HEADERS_TIMEOUT")
    return {
      status: 408,
      name: "headers_timeout",
      reason: "the request's head was not received in time",
    };
  const why = e.reason ?? e.message;
  return {
    status: 400,
    name: "bad_request",
    reason: `malformed request: ${why} (${code || "parse error"})`,
  };
}

export async function startH1Server(opts: H1ServerOptions): Promise<H1Server> {
  const serverOpts = {
    maxHeaderSize: opts.maxHeadersBytes + opts.maxInitialLineBytes,
    headersTimeout: opts.headersTimeoutMs,
    requestTimeout: 0,
    keepAliveTimeout: opts.idleTimeoutMs,
    // the timeouts above are checked at this interval
    connectionsCheckingInterval: Math.max(
      100,
      Math.min(1_000, Math.floor(opts.headersTimeoutMs / 4)),
    ),
    insecureHTTPParser: false,
    // checked below, so that the refusal is counted with the others
    requireHostHeader: false,
    joinDuplicateHeaders: false,
  };
  const tls = opts.tls;
  const server: Server =
    tls === undefined
      ? createServer(serverOpts)
      : createTlsServer({ ...serverOpts, ...tls, ALPNProtocols: ["http/1.1"] });
  server.maxConnections = opts.maxConnections;
  let connections = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    connections++;
    sockets.add(s);
    s.once("close", () => {
      connections--;
      sockets.delete(s);
    });
  });
  if (tls !== undefined) {
    server.on("tlsClientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      // a connection closed before its ClientHello (a TCP probe, a port scan) is no handshake
      if (err.code !== "ECONNRESET")
        opts.onTlsError?.(err.message, `${socket.remoteAddress}:${socket.remotePort}`);
      socket.destroy();
    });
  }
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const f = parseFailure(err);
    opts.onReject?.(f.name, f.reason);
    answerRaw(socket, f.status, f.reason);
  });
  const reject = (res: ServerResponse, status: number, name: H1RejectName, reason: string) => {
    opts.onReject?.(name, reason);
    res.shouldKeepAlive = false;
    localAnswer(res, status, reason);
  };

  const handle = (
    req: IncomingMessage,
    res: ServerResponse,
    expectContinue: boolean,
    upgrade?: UpgradeParts,
  ) => {
    requests++;
    res.once("close", () => requests--);
    opts.accessLog?.watch(req, res);
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    if (method.length + url.length + 10 > opts.maxInitialLineBytes) {
      reject(
        res,
        414,
        "line_too_long",
        `request line over maxInitialLineKB (${opts.maxInitialLineBytes / 1024})`,
      );
      return;
    }
    // RFC 9112 §3.2: one Host field, no more
    let hosts = 0;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2)
      if ((raw[i] as string).length === 4 && (raw[i] as string).toLowerCase() === "host") hosts++;
    if (hosts > 1) {
      reject(res, 400, "bad_request", "malformed request: more than one Host header");
      return;
    }
    if (hosts === 0 && req.httpVersionMinor === 1) {
      reject(res, 400, "bad_request", "malformed request: HTTP/1.1 without a Host header");
      return;
    }
    const length = req.headers["content-length"];
    if (length !== undefined && Number(length) > opts.maxRequestBytes) {
      reject(
        res,
        413,
        "body_too_large",
        `request body of ${length} bytes is over maxRequestKB (${opts.maxRequestBytes / 1024})`,
      );
      return;
    }
    let target = url;
    let hostFromTarget: string | undefined;
    if (url.charCodeAt(0) !== 47 /* / */ && url !== "*") {
      // absolute-form (a client using us as its http_proxy): sent on in origin-form
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        reject(
          res,
          400,
          "bad_request",
          `malformed request: invalid request-target '${url.slice(0, 100)}'`,
        );
        return;
      }
      if (u.protocol !== "http:" && u.protocol !== "https:") {
        reject(
          res,
          400,
          "bad_request",
          `malformed request: unsupported request-target scheme '${u.protocol}'`,
        );
        return;
      }
      target = `${u.pathname}${u.search}`;
      hostFromTarget = u.host;
    }
    if (expectContinue) res.writeContinue();
    // an absolute-form target's authority is the request's Host (RFC 9112 §3.2.2; Linkerd's
    // ProxyRewriteFilter): the client's Host field, if any, is not forwarded
    const extra: string[] = [];
    if (hostFromTarget !== undefined) extra.push("Host", hostFromTarget);
    if (opts.addForwardedHeader !== undefined) {
      extra.push(
        "Forwarded",
        forwardedElement(
          opts.addForwardedHeader,
          req.socket,
          req.headers.host ?? hostFromTarget,
          tls !== undefined,
          opts.routerLabel,
        ),
      );
    }
    const start = (body: BodyLog) =>
      opts.onRequest(
        new H1Request({
          req,
          res,
          body,
          target,
          extra,
          maxResponseHeadBytes: opts.maxHeadersBytes + opts.maxInitialLineBytes,
          maxResponseBytes: opts.maxResponseBytes,
          connectTimeoutMs: opts.connectTimeoutMs,
          pools: opts.upstreams,
          upgrade,
        }),
      );
    if (upgrade !== undefined) {
      // what follows an upgrade request's head belongs to the new protocol (the tunnel's)
      start(BodyLog.of([], req));
      return;
    }
    if (opts.streaming) {
      start(new BodyLog(req, opts.requestBufferBytes ?? 16_383));
      return;
    }
    // streaming off: the whole body first, bounded by maxRequestKB whatever its framing
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on("data", (c: Buffer) => {
      bytes += c.length;
      if (bytes > opts.maxRequestBytes) {
        req.removeAllListeners("data");
        reject(
          res,
          413,
          "body_too_large",
          `request body is over maxRequestKB (${opts.maxRequestBytes / 1024})`,
        );
        req.socket.destroySoon();
        return;
      }
      chunks.push(c);
    });
    req.once("end", () => {
      if (bytes <= opts.maxRequestBytes) start(BodyLog.of(chunks, req));
    });
  };
  server.on("request", (req: IncomingMessage, res: ServerResponse) => handle(req, res, false));
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => handle(req, res, true));
  // an upgrade request (WebSocket…): routed as any other, its socket handed to the exchange; an
  // answer other than 101 (a local error included) is written on the socket, then it is closed
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    res.once("finish", () => socket.end());
    handle(req, res, false, { socket, head });
  });
  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
    reject(res, 417, "expectation_failed", `unsupported Expect: ${req.headers.expect}`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : opts.port;
  return {
    host: opts.host,
    port,
    get connections() {
      return connections;
    },
    get requests() {
      return requests;
    },
    setTls(t: TlsOptions) {
      if (tls !== undefined)
        (server as unknown as { setSecureContext(o: TlsOptions): void }).setSecureContext(t);
    },
    close(graceMs = 10_000) {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
