/**
 * One keep-alive HTTP/1.1 connection to an endpoint (plain TCP or TLS), with llhttp (strict) on
 * the responses. It carries one request at a time: the request's head and body go out as the
 * exchange writes them (`BodySink`, chunk-framed when the request is chunked), the response
 * comes back to the exchange's `ResponseHandler`. Once both are complete and both sides kept the
 * connection alive, it goes back to its pool.
 *
 * States (`UpState`): Connecting → Busy (a request on it) ⇄ Idle (pooled) → Closed; an accepted
 * upgrade (101) hands the socket to a tunnel and closes the connection's own use of it.
 */
import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { Address } from "@l5d/h2-proxy";
import type { BodySink } from "../server/body-log.js";
import { LAST_CHUNK, writeChunk } from "../wire/chunked.js";
import {
  H1Parser,
  isParseError,
  type ParsedHead,
  type ParseError,
  ParserKind,
} from "../wire/llhttp.js";

export enum UpState {
  Connecting,
  Busy,
  Idle,
  Closed,
}

/** Where a connection failed, for the exchange's classification. */
export enum FailPhase {
  /** No connection was made (TCP or TLS): the request never left. */
  Connect,
  /** Connected, no response byte yet. */
  BeforeResponse,
  /** The response had begun. */
  MidResponse,
}

export interface ResponseHandler {
  /** The response head (1xx other than 101 are skipped). */
  head(h: ParsedHead): void;
  body(c: Buffer): void;
  end(): void;
  /**
   * The connection failed. `unprocessed`: a pooled connection the endpoint had closed took the
   * request (it never reached the endpoint: safe to send elsewhere).
   */
  error(e: NodeJS.ErrnoException, phase: FailPhase, unprocessed: boolean, tcpUp: boolean): void;
  /** The endpoint switched protocols (101): the socket and the bytes after the head. */
  upgrade(h: ParsedHead, socket: Socket, rest: Buffer): void;
}

/** What a connection needs from its pool. */
export interface ConnectionHome {
  /** The connection can carry another request. */
  checkin(c: UpstreamConnection): void;
  /** The connection is closed (out of the pool). */
  gone(c: UpstreamConnection): void;
}

export class UpstreamConnection implements BodySink {
  readonly socket: Socket;
  readonly #home: ConnectionHome;
  readonly #parser: H1Parser;
  state = UpState.Connecting;
  /** It carried a complete exchange before (a pooled connection). */
  reused = false;
  /** When it went back to the pool (ms, performance.now()). */
  idleSince = 0;
  #tcpUp = false;
  #connectTimer: NodeJS.Timeout | undefined;
  #h: ResponseHandler | undefined;
  #chunked = false;
  #headRequest = false;
  #responded = false;
  #requestDone = false;
  #keepAlive = true;
  #drain: (() => void) | undefined;
  #upgraded = false;
  /** An accepted 101's head, until the read that holds it is parsed. */
  #upgradeHead: ParsedHead | undefined;
  /** The parser is inside a response (its first byte read, its end not yet). */
  #midMessage = false;

  constructor(a: Address, connectTimeoutMs: number, maxHeadBytes: number, home: ConnectionHome) {
    this.#home = home;
    const s =
      a.tls === undefined
        ? connect({ host: a.host, port: a.port })
        : tlsConnect({
            ...a.tls.options,
            host: a.host,
            port: a.port,
            ALPNProtocols: ["http/1.1"],
          });
    this.socket = s;
    s.setNoDelay(true);
    this.#parser = new H1Parser(ParserKind.Response, maxHeadBytes, {
      begin: () => {
        this.#midMessage = true;
      },
      head: (h) => this.#head(h),
      body: (c) => this.#h?.body(c),
      end: () => {
        this.#midMessage = false;
        this.#end();
      },
    });
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = undefined;
      s.destroy(
        Object.assign(new Error(`connect timed out after ${connectTimeoutMs} ms`), {
          code: "ECONNTIMEOUT",
        }),
      );
    }, connectTimeoutMs);
    s.once("connect", () => {
      this.#tcpUp = true;
    });
    s.once(a.tls === undefined ? "connect" : "secureConnect", () => {
      if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
      if (this.state === UpState.Connecting) this.state = UpState.Busy;
    });
    // node:http's fast path: the parser reads the socket from C++; else the bytes come as events
    if (!this.#parser.consume(s, (r) => this.#parsed(r, undefined)))
      s.on("data", (d: Buffer) => this.#parsed(this.#parser.execute(d), d));
    s.on("end", () => this.#eof());
    s.on("error", (e: NodeJS.ErrnoException) => this.#fail(e));
    s.on("close", () => {
      this.#fail(Object.assign(new Error("socket closed"), { code: "ECONNRESET" }));
      this.#parser.free();
    });
    s.on("drain", () => {
      const f = this.#drain;
      this.#drain = undefined;
      f?.();
    });
  }

  /** Sends a request head; its body follows through `write`/`end` (chunk-framed if `chunked`). */
  send(head: string, chunked: boolean, headRequest: boolean, h: ResponseHandler): void {
    this.#h = h;
    this.#chunked = chunked;
    this.#headRequest = headRequest;
    this.#responded = false;
    this.#requestDone = false;
    this.#keepAlive = true;
    if (this.state === UpState.Idle) this.state = UpState.Busy;
    this.socket.write(head, "latin1");
  }

  /** BodySink: a piece of the request body. */
  write(c: Buffer): boolean {
    if (this.state === UpState.Closed || this.#requestDone) return true;
    return this.#chunked ? writeChunk(this.socket, c) : this.socket.write(c);
  }

  /** BodySink: the request body is complete. */
  end(): void {
    if (this.state === UpState.Closed || this.#requestDone) return;
    this.#requestDone = true;
    if (this.#chunked) this.socket.write(LAST_CHUNK);
  }

  onDrain(f: (() => void) | undefined): void {
    this.#drain = f;
  }

  /** Stops reading responses (the client is backed up). */
  pauseReading(): void {
    this.#parser.pauseSocket(this.socket);
  }

  resumeReading(): void {
    this.#parser.resumeSocket(this.socket);
  }

  /** Abandons the request on it: the connection is closed (it can't be reused mid-exchange). */
  close(): void {
    if (this.state === UpState.Closed) return;
    this.state = UpState.Closed;
    this.#h = undefined;
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    this.socket.destroy();
    this.#home.gone(this);
  }

  /** After each read: `r` is what the parser made of it (`d`, unless the parser read it itself). */
  #parsed(r: number | ParseError, d: Buffer | undefined): void {
    if (this.state === UpState.Closed) return;
    if (isParseError(r)) {
      this.#fail(r as unknown as NodeJS.ErrnoException);
      return;
    }
    if (this.state === UpState.Idle && this.#midMessage) {
      // bytes after a complete response, in its pool: nothing asked for them, and the next
      // request's response would be read after them
      this.close();
      return;
    }
    if (this.#upgraded) {
      const h = this.#h;
      const head = this.#upgradeHead;
      const buf = d ?? this.#parser.currentBuffer();
      this.#parser.unconsume();
      this.#h = undefined;
      this.#upgradeHead = undefined;
      this.state = UpState.Closed;
      for (const ev of ["data", "end", "close", "drain", "error"])
        this.socket.removeAllListeners(ev);
      this.#parser.free();
      this.#home.gone(this);
      if (h !== undefined && head !== undefined) h.upgrade(head, this.socket, buf.subarray(r));
    }
  }

  #head(h: ParsedHead): boolean {
    if (this.#h === undefined) {
      // a response on an idle connection: no request asked for it
      this.#fail(Object.assign(new Error("unsolicited response"), { code: "EPROTO" }));
      return true;
    }
    if (h.status < 200 && h.status !== 101) return true;
    if (h.status === 101 && !h.upgrade) {
      // switching protocols without saying to what: not a response to pass on
      this.#fail(
        Object.assign(new Error("101 Switching Protocols without Upgrade"), { code: "EPROTO" }),
      );
      return true;
    }
    this.#responded = true;
    this.#keepAlive = h.keepAlive;
    if (h.status === 101) {
      this.#upgraded = true;
      this.#upgradeHead = h;
      return true;
    }
    this.#h?.head(h);
    return this.#headRequest;
  }

  #end(): void {
    if (!this.#responded || this.#upgraded) return;
    const h = this.#h;
    // answered before the request was all sent: the connection can't carry another
    if (!this.#requestDone) this.#keepAlive = false;
    this.#complete();
    h?.end();
  }

  #complete(): void {
    this.#h = undefined;
    if (!this.#keepAlive || this.state === UpState.Closed) {
      this.close();
      return;
    }
    this.reused = true;
    this.state = UpState.Idle;
    // reading may have been stopped for a slow client: the next request needs its response read
    this.resumeReading();
    this.#home.checkin(this);
  }

  #eof(): void {
    if (this.#h !== undefined && this.#responded) {
      // a body delimited by the close ends here
      const r = this.#parser.finish();
      if (r !== undefined) {
        this.#fail(r as unknown as NodeJS.ErrnoException);
        return;
      }
    }
    this.#fail(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
  }

  #fail(e: NodeJS.ErrnoException): void {
    if (this.state === UpState.Closed) return;
    const h = this.#h;
    const connecting = this.state === UpState.Connecting;
    const responded = this.#responded;
    const unprocessed = !connecting && !responded && this.reused && e.code === "ECONNRESET";
    const tcpUp = this.#tcpUp;
    this.close();
    h?.error(
      e,
      connecting ? FailPhase.Connect : responded ? FailPhase.MidResponse : FailPhase.BeforeResponse,
      unprocessed,
      tcpUp,
    );
  }
}
