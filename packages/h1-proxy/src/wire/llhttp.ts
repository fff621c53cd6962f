/**
 * Node's HTTP/1 parser (llhttp, the one node:http runs) without node:http around it: the C
 * binding `_http_common` exports, driven directly on a socket's bytes. Strict: no lenient flag
 * is ever set, so what llhttp calls malformed (`Content-Length` with `Transfer-Encoding`, a
 * duplicate or invalid `Content-Length`, a `Transfer-Encoding` not ending in chunked, obs-fold,
 * bare CR or LF, invalid characters in a name or value, a head over `maxHeadBytes`) fails the
 * parse with llhttp's error code. One parser per connection and direction.
 */

// @ts-expect-error: node's internal HTTP module has no published types
import { HTTPParser, methods } from "node:_http_common";
import type { Socket } from "node:net";

/** The binding's shape (node 20's `node_http_parser.cc`). */
interface Binding {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | ParseError;
  finish(): undefined | ParseError;
  pause(): void;
  resume(): void;
  close(): void;
  consume(handle: object): void;
  unconsume(): void;
  getCurrentBuffer(): Buffer;
  [key: number]: unknown;
}

interface BindingClass {
  new (): Binding;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnMessageBegin: number;
  readonly kOnHeaders: number;
  readonly kOnExecute: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kLenientNone: number;
}

const Parser = HTTPParser as BindingClass;
const METHODS = methods as readonly string[];

/** A parse failure: llhttp's code (`HPE_…`) and reason. */
export interface ParseError extends Error {
  readonly code: string;
  readonly reason?: string;
  readonly bytesParsed?: number;
}

/** A message head as parsed. `rawHeaders` alternates names and values, wire order and case. */
export interface ParsedHead {
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly rawHeaders: string[];
  /** Requests: the method and request-target. */
  readonly method: string;
  readonly url: string;
  /** Responses: the status code and reason phrase. */
  readonly status: number;
  readonly reason: string;
  /** An `Upgrade` request or response (or CONNECT): what follows the head is not HTTP. */
  readonly upgrade: boolean;
  /** The connection may carry another message after this one (version and `Connection`). */
  readonly keepAlive: boolean;
}

/** What a parser reports, in wire order. */
export interface ParserEvents {
  /** The first byte of a message. */
  begin?(): void;
  /**
   * The head is complete. Return `true` for a message without a body whatever its fields say
   * (a response to HEAD, as RFC 9112 §6.3 rule 1).
   */
  head(h: ParsedHead): boolean | undefined;
  /** A piece of the body (a view of the socket's buffer: keep or pass on, never reuse). */
  body(chunk: Buffer): void;
  /** The message is complete (its body, or chunked trailers, read). */
  end(): void;
}

export enum ParserKind {
  Request = 0,
  Response = 1,
}

/** A socket's native handle, as node's own HTTP server drives it. */
interface StreamHandle {
  readonly isStreamBase?: boolean;
  _consumed?: boolean;
  reading: boolean;
  readStart(): number;
  readStop(): number;
}

/** One direction of one connection. */
export class H1Parser {
  readonly #p: Binding;
  #handle: StreamHandle | undefined;
  #headers: string[] = [];
  #url = "";

  constructor(kind: ParserKind, maxHeadBytes: number, events: ParserEvents) {
    const p = new Parser();
    this.#p = p;
    p.initialize(
      kind === ParserKind.Request ? Parser.REQUEST : Parser.RESPONSE,
      {},
      maxHeadBytes,
      Parser.kLenientNone,
    );
    // more than 32 fields: the binding hands them over in batches before the head completes
    p[Parser.kOnHeaders] = (headers: string[], url: string) => {
      for (const x of headers) this.#headers.push(x);
      this.#url += url;
    };
    p[Parser.kOnHeadersComplete] = (
      versionMajor: number,
      versionMinor: number,
      headers: string[] | undefined,
      method: number | undefined,
      url: string | undefined,
      status: number | undefined,
      reason: string | undefined,
      upgrade: boolean,
      keepAlive: boolean,
    ): number => {
      let rawHeaders = headers;
      if (rawHeaders === undefined) {
        rawHeaders = this.#headers;
        this.#headers = [];
      } else if (this.#headers.length > 0) {
        rawHeaders = this.#headers.concat(rawHeaders);
        this.#headers = [];
      }
      let u = url ?? "";
      if (this.#url !== "") {
        u = this.#url + u;
        this.#url = "";
      }
      const noBody = events.head({
        versionMajor,
        versionMinor,
        rawHeaders,
        method: method === undefined ? "" : (METHODS[method] ?? ""),
        url: u,
        status: status ?? 0,
        reason: reason ?? "",
        upgrade,
        keepAlive,
      });
      // 1: skip the body (the binding's contract, as node's own client uses it for HEAD)
      return noBody === true ? 1 : 0;
    };
    p[Parser.kOnBody] = events.body;
    p[Parser.kOnMessageComplete] = events.end;
    if (events.begin !== undefined) p[Parser.kOnMessageBegin] = events.begin;
  }

  /**
   * Reads `socket` from C++ (node:http's fast path): each read is parsed as it arrives, with no
   * JS buffer and no stream events in between; `onRead` gets each read's result (bytes parsed,
   * or the error). Returns false (and nothing changes) for a socket that can't be consumed.
   * The socket's `end` and `close` still come as events; pausing is `readStop` on its handle.
   */
  consume(socket: Socket, onRead: (r: number | ParseError) => void): boolean {
    const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
    if (handle == null || handle.isStreamBase !== true || handle._consumed === true) return false;
    handle._consumed = true;
    this.#handle = handle;
    this.#p[Parser.kOnExecute] = onRead;
    this.#p.consume(handle);
    return true;
  }

  /** Stops consuming (an upgrade: what follows is another protocol's). */
  unconsume(): void {
    const h = this.#handle;
    if (h === undefined) return;
    this.#handle = undefined;
    h._consumed = false;
    this.#p.unconsume();
    // the socket's own stream reads from here on: it thinks a read is pending (none came to
    // it while consumed), so only the handle can be restarted
    if (!h.reading) {
      h.reading = true;
      h.readStart();
    }
  }

  /** The read being parsed (consumed mode: where an upgrade's remaining bytes are). */
  currentBuffer(): Buffer {
    return this.#p.getCurrentBuffer();
  }

  /** Stops reading `socket` (back-pressure): its handle when consumed, else its stream. */
  pauseSocket(socket: Socket): void {
    const h = this.#handle;
    if (h === undefined) socket.pause();
    else if (h.reading) {
      h.reading = false;
      h.readStop();
    }
  }

  resumeSocket(socket: Socket): void {
    const h = this.#handle;
    if (h === undefined) socket.resume();
    else if (!h.reading) {
      h.reading = true;
      h.readStart();
    }
  }

  /**
   * Parses `data`. Returns how many bytes were read (less than its length only after an
   * upgrade's head: the rest is the new protocol's), or the parse error.
   */
  execute(data: Buffer): number | ParseError {
    return this.#p.execute(data);
  }

  /** The peer closed: a body delimited by the close ends here (or the message was cut short). */
  finish(): ParseError | undefined {
    return this.#p.finish();
  }

  /**
   * Frees the native parser (its C++ half is not garbage-collected: every connection must call
   * this once, when its socket is closed or handed over). Deferred to the next turn, as node's
   * own `freeParser`, so that no parse is on the stack when it goes.
   */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    const h = this.#handle;
    if (h !== undefined) {
      this.#handle = undefined;
      h._consumed = false;
      this.#p.unconsume();
    }
    setImmediate(closeBinding, this.#p);
  }

  #freed = false;
}

function closeBinding(p: Binding): void {
  p.close();
}

/** Whether `e` is what `H1Parser.execute` returns on failure. */
export function isParseError(r: number | ParseError): r is ParseError {
  return typeof r !== "number";
}
