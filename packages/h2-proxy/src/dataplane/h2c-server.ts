import {
  createServer as createH2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { acceptConnection } from "./accept-connection.js";
import { resetStream } from "./reset-stream.js";

/** Options of an h2c (cleartext HTTP/2) server. */
export interface H2cServerOptions {
  /** Address to listen on. Linkerd's server `ip` defaults to loopback. */
  readonly host: string;
  /** Port to listen on; 0 picks a free one. Linkerd's h2 default is 4142. */
  readonly port: number;
  /**
   * Concurrent streams per connection; streams beyond it are refused with
   * RST_STREAM(REFUSED_STREAM) and the connection stays up.
   * Linkerd 1.5.1+ `maxConcurrentStreamsPerConnection`: 1000.
   */
  readonly maxConcurrentStreams?: number | undefined;
  /**
   * Also advertise `maxConcurrentStreams` in SETTINGS. Default false: nghttp2 (inside
   * node:http2) treats a peer that exceeds an *acknowledged* limit as a connection error
   * (GOAWAY PROTOCOL_ERROR), which kills every stream on the connection; without advertising,
   * the limit is enforced only by us, with a per-stream REFUSED_STREAM (safe to retry).
   */
  readonly advertiseMaxConcurrentStreams?: boolean | undefined;
  /** SETTINGS_INITIAL_WINDOW_SIZE (per-stream receive window). Linkerd `initialStreamWindowBytes`: 64 KiB (65,535). */
  readonly initialWindowSize?: number | undefined;
  /** Connection-level receive window. Default 1 MiB. */
  readonly connectionWindowSize?: number | undefined;
  /**
   * SETTINGS_MAX_HEADER_LIST_SIZE advertised and enforced; a bigger header block gets
   * RST_STREAM(ENHANCE_YOUR_CALM). Linkerd leaves it unset; default 256 KiB here.
   */
  readonly maxHeaderListSize?: number | undefined;
  /**
   * Interval of the liveness sweep: every connection is PINGed, and destroyed when the
   * previous sweep's PING is still unanswered. This also reaps connections that
   * nghttp2 terminated on its own (its rapid-reset limiter sends GOAWAY and stops reading
   * without node:http2 noticing, which would otherwise leak the socket). Default 10 s.
   */
  readonly livenessCheckMs?: number | undefined;
  /** node:http2 `maxSessionMemory` in MB (beyond it new streams are refused). Default 64. */
  readonly maxSessionMemory?: number | undefined;
  /** Called for every accepted request stream. Must not throw. */
  readonly onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
}

/** A running h2c server. */
export interface H2cServer {
  readonly host: string;
  readonly port: number;
  /** Open TCP connections (HTTP/2 and not-yet-classified). */
  readonly connections: number;
  /** Open request streams. */
  readonly streams: number;
  /**
   * Graceful close: stop accepting, send GOAWAY on every connection, let in-flight streams
   * finish for up to `graceMs` (default 10 s, Linkerd's `shutdownGraceMs`), then destroy.
   */
  close(graceMs?: number): Promise<void>;
}

const noop = (): void => {};

const COUNTED = Symbol("l5d.counted");
/** A stream counted against its session's limit (`COUNTED` points at the session's counters). */
type CountedStream = ServerHttp2Stream & { [COUNTED]?: { open: number } | undefined };

/**
 * Starts an h2c server accepting HTTP/2 with prior knowledge and HTTP/1.1 `Upgrade: h2c`.
 * A `net.Server` in front peeks at the first bytes: the HTTP/2 preface goes straight to a
 * node:http2 server, anything else to the upgrade handler.
 */
export async function startH2cServer(opts: H2cServerOptions): Promise<H2cServer> {
  const maxConcurrentStreams = opts.maxConcurrentStreams ?? 1000;
  const connectionWindowSize = opts.connectionWindowSize ?? 1 << 20;
  const sockets = new Set<Socket>();
  /** Open streams per session. */
  const sessions = new Map<ServerHttp2Session, { open: number; pinging: boolean }>();
  let streams = 0;

  const h2 = createH2Server({
    settings: {
      ...(opts.advertiseMaxConcurrentStreams === true ? { maxConcurrentStreams } : {}),
      initialWindowSize: opts.initialWindowSize ?? 65_535,
      maxHeaderListSize: opts.maxHeaderListSize ?? 256 * 1024,
      enablePush: false,
    },
    maxHeaderListPairs: 4096,
    maxSessionMemory: opts.maxSessionMemory ?? 64,
    // node destroys a session after this many streams it rejected itself (memory pressure);
    // its default of 100 would turn a burst of refusals into a lost connection. Abusive
    // resets are still bounded by nghttp2's rapid-reset limiter.
    maxSessionRejectedStreams: 10_000,
  });
  h2.on("session", (session: ServerHttp2Session) => {
    sessions.set(session, { open: 0, pinging: false });
    session.on("error", noop);
    session.once("close", () => sessions.delete(session));
    if (connectionWindowSize > 65_535) {
      try {
        session.setLocalWindowSize(connectionWindowSize);
      } catch {
        // the session died before it started
      }
    }
  });
  h2.on("sessionError", noop);
  // one shared 'close' listener (no closure, no once-wrapper per stream)
  function onStreamClose(this: CountedStream): void {
    const perSession = this[COUNTED];
    if (perSession === undefined) return;
    this[COUNTED] = undefined;
    streams--;
    perSession.open--;
  }
  h2.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on("error", noop);
    // Enforce the stream limit ourselves (see `advertiseMaxConcurrentStreams`).
    const perSession = sessions.get(stream.session as ServerHttp2Session);
    if (perSession === undefined || perSession.open >= maxConcurrentStreams) {
      resetStream(stream, 7);
      return;
    }
    perSession.open++;
    streams++;
    (stream as CountedStream)[COUNTED] = perSession;
    stream.on("close", onStreamClose);
    opts.onStream(stream, headers);
  });

  const sweep = setInterval(() => {
    for (const [session, st] of sessions) {
      if (session.destroyed) continue;
      if (st.pinging) {
        session.destroy();
        continue;
      }
      st.pinging = true;
      try {
        session.ping((err) => {
          if (err === null) st.pinging = false;
        });
      } catch {
        session.destroy();
      }
    }
  }, opts.livenessCheckMs ?? 10_000);
  sweep.unref();

  const h2Sockets = new WeakSet<Socket>();
  const toH2 = (socket: Socket): void => {
    h2Sockets.add(socket);
    h2.emit("connection", socket);
  };

  const front: Server = createNetServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", noop);
    socket.setNoDelay(true);
    acceptConnection(socket, toH2);
  });

  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(opts.port, opts.host, () => {
      front.off("error", reject);
      resolve();
    });
  });
  const address = front.address();
  const port = typeof address === "object" && address !== null ? address.port : opts.port;

  let closing: Promise<void> | undefined;
  return {
    host: opts.host,
    port,
    get connections() {
      return sockets.size;
    },
    get streams() {
      return streams;
    },
    close(graceMs = 10_000) {
      closing ??= (async () => {
        front.close();
        clearInterval(sweep);
        for (const session of sessions.keys()) session.close();
        // Sockets not yet handed to HTTP/2 (classifying, upgrading) have nothing in flight.
        for (const socket of sockets) if (!h2Sockets.has(socket)) socket.destroy();
        const deadline = Date.now() + graceMs;
        while (sockets.size > 0 && Date.now() < deadline) await sleep(10);
        for (const session of sessions.keys()) session.destroy();
        for (const socket of sockets) socket.destroy();
        while (sockets.size > 0) await sleep(5);
      })();
      return closing;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
