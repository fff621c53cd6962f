/**
 * The frame-level relay (issue #9 prototype): HTTP/2 on raw sockets, no node:http2 stream
 * objects. Each downstream connection is parsed frame by frame; a request's header block is
 * decoded (full HPACK) into the headers the router reads, and `forward` re-encodes it (literal
 * fields, edits applied) as a new stream on a shared upstream connection per endpoint. DATA
 * frames are passed through with flow-control accounting in both directions: window is given back
 * to a sender only once its bytes were written to the other side, and a receiver's window is
 * never overrun (DATA waits in a per-stream queue). Trailers are forwarded, RST_STREAM is mapped
 * both ways, SETTINGS/PING are answered, GOAWAY stops new streams on a connection.
 *
 * Deadlines (`grpc-timeout`, the router's `deadlineMs`) are enforced and propagated.
 * Unprocessed requests are requeued and the router's retries run on held responses
 * (`relay-stream.ts`, `relay-exchange.ts`); connect backoff per endpoint is in `upstream.ts`.
 * Prototype limits (documented in docs/performance.md): no h2c Upgrade, no stream limit, no
 * graceful close, no PRIORITY.
 */
import { createServer, type Server, type Socket } from "node:net";
import { GrpcStatus } from "../dataplane/errors.js";
import { DEFAULT_WINDOW, FrameConn, type FrameHandler } from "./frame-conn.js";
import type { HeaderField } from "./hpack.js";
import { CANCEL, type RelayRequest, RelayStream } from "./relay-stream.js";
import { Relay } from "./upstream.js";

export type { RelayRequest } from "./relay-stream.js";

export interface RelayServerOptions {
  readonly host: string;
  readonly port: number;
  readonly onRequest: (req: RelayRequest) => void;
}

export interface RelayServer {
  readonly host: string;
  readonly port: number;
  /** Open downstream connections. */
  readonly connections: number;
  /** Open relayed streams. */
  readonly streams: number;
  close(): Promise<void>;
}

export class DownConn implements FrameHandler {
  readonly streams = new Map<number, RelayStream>();
  readonly conn: FrameConn;
  lastId = 0;

  constructor(
    readonly relay: Relay,
    socket: Socket,
  ) {
    this.conn = new FrameConn(socket, 24);
    this.conn.handler = this;
    this.conn.settings([[2, 0]]);
  }

  onHeaders(id: number, fields: HeaderField[], endStream: boolean): void {
    const s = this.streams.get(id);
    if (s !== undefined) {
      s.onReqTrailers(fields);
      return;
    }
    if (id <= this.lastId || id % 2 === 0) return; // trailers of a finished stream, or bogus
    this.lastId = id;
    const st = new RelayStream(this, id, fields, endStream);
    this.streams.set(id, st);
    this.relay.streams++;
    try {
      this.relay.onRequest(st);
    } catch (e) {
      st.fail(GrpcStatus.INTERNAL, 500, `router failed: ${(e as Error).message}`);
    }
  }

  onData(id: number, data: Buffer, endStream: boolean, flowLen: number): void {
    const s = this.streams.get(id);
    if (s === undefined) {
      this.conn.consumed(flowLen);
      return;
    }
    s.onReqData(data, endStream, flowLen);
  }

  onRstStream(id: number, code: number): void {
    this.streams.get(id)?.onDownReset(code);
  }

  onWindow(id: number, delta: number): void {
    if (id !== 0) {
      const s = this.streams.get(id);
      if (s === undefined) return;
      s.toDown.window += delta;
      s.flushDown();
      return;
    }
    for (const s of this.streams.values()) {
      s.toDown.window += delta;
      s.flushDown();
    }
  }

  onGoaway(): void {
    // the client will open no new streams; existing ones finish
  }

  onClose(): void {
    this.relay.conns.delete(this);
    for (const s of [...this.streams.values()]) s.onDownReset(CANCEL);
  }
}

/** Starts the frame-level relay server (h2c prior knowledge only). */
export async function startRelayServer(opts: RelayServerOptions): Promise<RelayServer> {
  const relay = new Relay(opts.onRequest);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    relay.conns.add(new DownConn(relay, socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  return {
    host: opts.host,
    port: typeof addr === "object" && addr !== null ? addr.port : opts.port,
    get connections() {
      return sockets.size;
    },
    get streams() {
      return relay.streams;
    },
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const c of relay.conns) c.conn.destroy();
        for (const u of relay.ups.values()) u.conn.destroy();
        for (const s of sockets) s.destroy();
      });
    },
  };
}

export { DEFAULT_WINDOW };
