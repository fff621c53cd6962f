/**
 * An HTTP/1.1 router's server: node's HTTP/1 parser (llhttp, strict: no lenient flags) on each
 * client socket (`ClientConnection`), no node:http around it, plus the proxy's own checks. What
 * the parser or the checks refuse is answered here with its status and reason and never reaches
 * the router or an endpoint:
 * - malformed requests (`Content-Length` with `Transfer-Encoding`, duplicate or invalid
 *   `Content-Length`, a `Transfer-Encoding` not ending in chunked, obs-fold, bare CR or LF,
 *   invalid characters in names or values, a missing or repeated `Host`): 400;
 * - a request line over `maxInitialLineKB`: 414; headers over `maxHeadersKB`: 431;
 * - a body with a `Content-Length` over `maxRequestKB`: 413 (chunked bodies stream unbounded,
 *   as Linkerd's with streaming on; with `streamingEnabled: false` every body is bounded);
 * - a head not received within `headersTimeoutMs` (slowloris): 408 and the connection closed;
 * - an `Expect` other than `100-continue`: 417; CONNECT: 405;
 * - past `maxConnections`, new connections are closed at once.
 */
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from "node:tls";
import type { UpstreamPools } from "../client/upstream-pools.js";
import { fieldCount } from "../wire/fields.js";
import type { ParseError } from "../wire/llhttp.js";
import type { AccessLog } from "./access-log.js";
import { BodyLog, type BodySink } from "./body-log.js";
import { ClientConnection, type Entry } from "./client-connection.js";
import { type ForwardedConfig, forwardedElement } from "./forwarded.js";
import { H1Request } from "./h1-request.js";
import { localAnswer, statusText } from "./local-answer.js";
import type { Reply } from "./reply.js";
import type { UpgradeParts } from "./tunnel.js";

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

/**
 * An authority: host (reg-name, IPv4, or IP-literal in brackets) and optional port. Bytes over
 * 0x7f (UTF-8 names, as Linkerd routes them) are let through: none of them is a delimiter.
 */
const HOST =
  /^[A-Za-z0-9._~!$&'()*+,;=%\u0080-\u00ff-]*(?::[0-9]*)?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]*)?$/;

/** No extra fields (shared: most requests have none). */
const NO_FIELDS: readonly string[] = Object.freeze([]);

/** Answers on a connection the parser gave up on, then closes it. */
function answerRaw(socket: Socket, status: number, reason: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${statusText(status)}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.destroySoon();
}

/** The parser's error codes and what they mean to a client. */
function parseFailure(e: ParseError): { status: number; name: H1RejectName; reason: string } {
  if (e.code === "HPE_HEADER_OVERFLOW")
    return {
      status: 431,
      name: "headers_too_large",
      reason: "request line and headers are over the server's limit",
    };
  return {
    status: 400,
    name: "bad_request",
    reason: `malformed request: ${e.reason ?? e.message} (${e.code || "parse error"})`,
  };
}

/** A body taken whole before routing (`streamingEnabled: false`), up to a limit. */
class WholeBody implements BodySink {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  constructor(
    readonly limit: number,
    readonly over: () => void,
    readonly done: (chunks: Buffer[]) => void,
  ) {}
  write(c: Buffer): boolean {
    this.bytes += c.length;
    if (this.bytes > this.limit) {
      this.chunks.length = 0;
      this.over();
      return false;
    }
    this.chunks.push(c);
    return true;
  }
  end(): void {
    if (this.bytes <= this.limit) this.done(this.chunks);
  }
  onDrain(): void {}
}

export async function startH1Server(opts: H1ServerOptions): Promise<H1Server> {
  const tls = opts.tls;
  const maxHeadBytes = opts.maxHeadersBytes + opts.maxInitialLineBytes;
  let requests = 0;
  const sockets = new Set<Socket>();
  const conns = new Set<ClientConnection>();
  const requestOver = () => {
    requests--;
  };
  const reject = (reply: Reply, status: number, name: H1RejectName, reason: string) => {
    opts.onReject?.(name, reason);
    reply.keepAlive = false;
    localAnswer(reply, status, reason);
  };

  const handle = (e: Entry) => {
    const { req, reply } = e;
    requests++;
    reply.onDone(requestOver);
    opts.accessLog?.watch(req, reply);
    const method = req.method;
    const url = req.url;
    if (method.length + url.length + 10 > opts.maxInitialLineBytes) {
      reject(
        reply,
        414,
        "line_too_long",
        `request line over maxInitialLineKB (${opts.maxInitialLineBytes / 1024})`,
      );
      return;
    }
    if (method === "CONNECT") {
      reject(reply, 405, "bad_request", "CONNECT is not supported");
      return;
    }
    if (req.httpVersion !== "1.1" && req.httpVersion !== "1.0") {
      reject(reply, 505, "bad_request", `HTTP/${req.httpVersion} is not supported`);
      return;
    }
    const te = req.headerAll("transfer-encoding");
    if (te !== undefined) {
      // RFC 9112 §6.1: Transfer-Encoding is HTTP/1.1's; an HTTP/1.0 message with it has faulty framing
      if (req.versionMinor === 0) {
        reject(reply, 400, "bad_request", "malformed request: Transfer-Encoding on HTTP/1.0");
        return;
      }
      const codings = te.join(",").split(",");
      // RFC 9112 §6.3: chunked not last, the body's length can't be known: 400 (and closed)
      if (codings[codings.length - 1]?.trim().toLowerCase() !== "chunked") {
        reject(reply, 400, "bad_request", `malformed request: Transfer-Encoding ${te.join(", ")}`);
        return;
      }
      // chunked alone: another coding would reach the endpoint undeclared (we re-chunk the body)
      if (codings.length > 1) {
        reject(reply, 501, "bad_request", `unsupported Transfer-Encoding: ${te.join(", ")}`);
        return;
      }
    }
    if (req.upgrade && (te !== undefined || Number(req.header("content-length") ?? 0) > 0)) {
      // what follows an upgrade request's head is the new protocol's: a body would be both
      reject(reply, 400, "bad_request", "malformed request: an Upgrade request with a body");
      return;
    }
    // RFC 9112 §3.2: one Host field, no more
    const hosts = fieldCount(req.rawHeaders, "host");
    if (hosts > 1) {
      reject(reply, 400, "bad_request", "malformed request: more than one Host header");
      return;
    }
    if (hosts === 0 && req.versionMinor === 1) {
      reject(reply, 400, "bad_request", "malformed request: HTTP/1.1 without a Host header");
      return;
    }
    // RFC 9110 §7.2 / RFC 3986 §3.2: a Host is an authority (no space, slash or other
    // delimiter): routed on and forwarded, it must say one thing to every hop
    const host = req.header("host");
    if (host !== undefined && !HOST.test(host)) {
      reject(reply, 400, "bad_request", "malformed request: invalid Host header");
      return;
    }
    const length = req.header("content-length");
    if (length !== undefined && Number(length) > opts.maxRequestBytes) {
      reject(
        reply,
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
          reply,
          400,
          "bad_request",
          `malformed request: invalid request-target '${url.slice(0, 100)}'`,
        );
        return;
      }
      if (u.protocol !== "http:" && u.protocol !== "https:") {
        reject(
          reply,
          400,
          "bad_request",
          `malformed request: unsupported request-target scheme '${u.protocol}'`,
        );
        return;
      }
      target = `${u.pathname}${u.search}`;
      hostFromTarget = u.host;
    }
    const expect = req.versionMinor === 1 ? req.header("expect") : undefined;
    if (expect !== undefined) {
      if (expect.toLowerCase() !== "100-continue") {
        reject(reply, 417, "expectation_failed", `unsupported Expect: ${expect}`);
        return;
      }
      reply.writeContinue();
    }
    // an absolute-form target's authority is the request's Host (RFC 9112 §3.2.2; Linkerd's
    // ProxyRewriteFilter): the client's Host field, if any, is not forwarded
    let extra: readonly string[] = NO_FIELDS;
    if (hostFromTarget !== undefined || opts.addForwardedHeader !== undefined) {
      const x: string[] = [];
      if (hostFromTarget !== undefined) x.push("Host", hostFromTarget);
      if (opts.addForwardedHeader !== undefined)
        x.push(
          "Forwarded",
          forwardedElement(
            opts.addForwardedHeader,
            req.socket,
            req.header("host") ?? hostFromTarget,
            tls !== undefined,
            opts.routerLabel,
          ),
        );
      extra = x;
    }
    let upgrade: UpgradeParts | undefined;
    if (req.upgrade) {
      // what follows an upgrade request's head belongs to the new protocol (the tunnel's); an
      // answer other than 101 closes the connection
      reply.keepAlive = false;
      upgrade = {
        socket: req.socket,
        head: e.upgradeHead ?? Buffer.alloc(0),
        detach: () => conn(req.socket)?.detach(),
      };
    }
    const start = (body: BodyLog) =>
      opts.onRequest(
        new H1Request({
          req,
          res: reply,
          body,
          chunked: te !== undefined,
          target,
          extra,
          maxResponseHeadBytes: maxHeadBytes,
          maxResponseBytes: opts.maxResponseBytes,
          connectTimeoutMs: opts.connectTimeoutMs,
          pools: opts.upstreams,
          upgrade,
        }),
      );
    if (upgrade !== undefined || opts.streaming) {
      start(e.body);
      return;
    }
    // streaming off: the whole body first, bounded by maxRequestKB whatever its framing
    e.body.attach(
      new WholeBody(
        opts.maxRequestBytes,
        () => {
          e.body.detach();
          reject(
            reply,
            413,
            "body_too_large",
            `request body is over maxRequestKB (${opts.maxRequestBytes / 1024})`,
          );
        },
        (chunks) => {
          e.body.detach();
          start(BodyLog.of(chunks));
        },
      ),
    );
  };

  const bySocket = new WeakMap<Socket, ClientConnection>();
  const conn = (s: Socket) => bySocket.get(s);
  const hooks = {
    maxHeadBytes,
    requestBufferBytes: opts.requestBufferBytes ?? 16_383,
    onRequest: handle,
    onParseError(c: ClientConnection, err: ParseError) {
      const f = parseFailure(err);
      opts.onReject?.(f.name, f.reason);
      answerRaw(c.socket, f.status, f.reason);
    },
  };
  const accept = (s: Socket) => {
    const c = new ClientConnection(s, hooks);
    bySocket.set(s, c);
    conns.add(c);
    s.once("close", () => conns.delete(c));
  };
  const server: Server =
    tls === undefined
      ? createServer(accept)
      : createTlsServer({ ...tls, ALPNProtocols: ["http/1.1"] }, (s: TLSSocket) => accept(s));
  server.maxConnections = opts.maxConnections;
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  if (tls !== undefined) {
    server.on("tlsClientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      // a connection closed before its ClientHello (a TCP probe, a port scan) is no handshake
      if (err.code !== "ECONNRESET")
        opts.onTlsError?.(err.message, `${socket.remoteAddress}:${socket.remotePort}`);
      socket.destroy();
    });
  }

  // slowloris and idle keep-alive connections, checked on an interval (as node:http does)
  const every = Math.max(100, Math.min(1_000, Math.floor(opts.headersTimeoutMs / 4)));
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const c of conns) {
      if (c.headStartedAt > 0 && c.pending === 0 && now - c.headStartedAt > opts.headersTimeoutMs) {
        const reason = "the request's head was not received in time";
        opts.onReject?.("headers_timeout", reason);
        answerRaw(c.socket, 408, reason);
        c.close();
      } else if (
        opts.idleTimeoutMs > 0 &&
        c.idleSince > 0 &&
        now - c.idleSince > opts.idleTimeoutMs
      )
        c.close();
    }
  }, every);
  sweep.unref();

  await new Promise<void>((resolve, rejectListen) => {
    server.once("error", rejectListen);
    server.listen(opts.port, opts.host, () => {
      server.off("error", rejectListen);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : opts.port;
  return {
    host: opts.host,
    port,
    get connections() {
      return sockets.size;
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
        clearInterval(sweep);
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        for (const c of conns) c.drain();
      });
    },
  };
}
