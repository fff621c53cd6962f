/**
 * The response to one client request, written straight to the client's socket (no node:http
 * `ServerResponse`). The head is framed for the client: a `Content-Length` is kept; without one,
 * an HTTP/1.1 client gets a chunked body and an HTTP/1.0 client a body delimited by the
 * connection's close; a response to HEAD, a 1xx, 204 or 304 has no body. A small head goes out in
 * one write with the body's first piece.
 *
 * States (`ReplyState`): Open (nothing sent) → Streaming (head sent) → Finished, or → Aborted
 * (destroyed, or the client's connection was lost) from Open or Streaming.
 */
import type { Socket } from "node:net";
import { LAST_CHUNK, writeChunk } from "../wire/chunked.js";
import { fieldValues } from "../wire/fields.js";
import { connectionListed, isHopByHop } from "./hop-by-hop.js";
import type { IncomingRequest } from "./incoming-request.js";

export enum ReplyState {
  Open,
  Streaming,
  Finished,
  Aborted,
}

/** How the body is delimited on the client's connection. */
enum Framing {
  /** `Content-Length`, or no body at all: bytes go as they are. */
  Length,
  Chunked,
  /** HTTP/1.0 without a length: the connection's close ends the body. */
  Close,
}

/** Gets a reply's end: `finished` false when it was aborted. */
export type ReplyListener = (finished: boolean) => void;

/** What the reply needs from its connection. */
export interface ReplyOwner {
  readonly socket: Socket;
  /** The reply is over (finished or aborted); the connection goes on or closes. */
  replyDone(r: Reply): void;
}

/** Bodies this small are copied after the head into one write. */
const COALESCE_BYTES = 16_384;

export class Reply {
  readonly req: IncomingRequest;
  readonly #owner: ReplyOwner;
  state = ReplyState.Open;
  /** The status sent (0 until the head is). */
  status = 0;
  /** The `Content-Length` sent, if any (the access log's size). */
  contentLength: string | undefined;
  /** False: the connection closes after this response. */
  keepAlive: boolean;
  #framing = Framing.Length;
  #noBody = false;
  /** The head, framed, not yet written (it goes with the first body bytes). */
  #head: string | undefined;
  #listeners: ReplyListener[] | ReplyListener | undefined;

  constructor(req: IncomingRequest, owner: ReplyOwner) {
    this.req = req;
    this.#owner = owner;
    this.keepAlive = req.keepAlive;
  }

  get headersSent(): boolean {
    return this.state !== ReplyState.Open;
  }

  /** Over: finished or aborted. */
  get done(): boolean {
    return this.state >= ReplyState.Finished;
  }

  get aborted(): boolean {
    return this.state === ReplyState.Aborted;
  }

  /** Calls `f` once the reply is over. */
  onDone(f: ReplyListener): void {
    if (this.done) {
      f(this.state === ReplyState.Finished);
      return;
    }
    const l = this.#listeners;
    if (l === undefined) this.#listeners = f;
    else if (typeof l === "function") this.#listeners = [l, f];
    else l.push(f);
  }

  /** `100 Continue` (the client sent `Expect: 100-continue`). */
  writeContinue(): void {
    if (this.state === ReplyState.Open) this.#owner.socket.write("HTTP/1.1 100 Continue\r\n\r\n");
  }

  /**
   * The response head: `headers` are fields, names and values alternating; `fromPeer`: an
   * endpoint's fields as received, whose hop-by-hop ones (and those its `Connection` names) are
   * left out here, in the same pass.
   */
  writeHead(status: number, reason: string, headers: readonly string[], fromPeer = false): void {
    if (this.state !== ReplyState.Open) return;
    this.state = ReplyState.Streaming;
    this.status = status;
    const req = this.req;
    this.#noBody = req.method === "HEAD" || status < 200 || status === 204 || status === 304;
    let head = `HTTP/1.1 ${status} ${reason}\r\n`;
    let length = false;
    const listed = fromPeer ? connectionListed(fieldValues(headers, "connection")) : undefined;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      const value = headers[i + 1] as string;
      if (fromPeer) {
        const lower = name.toLowerCase();
        if (isHopByHop(lower, listed)) continue;
      }
      if (name.length === 14 && name.toLowerCase() === "content-length") {
        length = true;
        this.contentLength = value;
      }
      head += `${name}: ${value}\r\n`;
    }
    if (!length && !this.#noBody) {
      if (req.versionMinor >= 1) {
        this.#framing = Framing.Chunked;
        head += "Transfer-Encoding: chunked\r\n";
      } else {
        this.#framing = Framing.Close;
        this.keepAlive = false;
      }
    }
    if (!this.keepAlive) head += "Connection: close\r\n";
    else if (req.versionMinor === 0) head += "Connection: keep-alive\r\n";
    this.#head = `${head}\r\n`;
  }

  /** A piece of the body. False: the client's socket is backed up (see `onDrain`). */
  write(c: Buffer): boolean {
    if (this.state !== ReplyState.Streaming || c.length === 0) return true;
    if (this.#noBody) return true;
    const s = this.#owner.socket;
    const head = this.#head;
    this.#head = undefined;
    if (this.#framing === Framing.Chunked) return writeChunk(s, c, head);
    if (head === undefined) return s.write(c);
    if (c.length <= COALESCE_BYTES) {
      const out = Buffer.allocUnsafe(head.length + c.length);
      out.write(head, 0, "latin1");
      c.copy(out, head.length);
      return s.write(out);
    }
    s.cork();
    s.write(head, "latin1");
    const ok = s.write(c);
    s.uncork();
    return ok;
  }

  /** The body is complete. */
  end(): void {
    if (this.state !== ReplyState.Streaming) return;
    const s = this.#owner.socket;
    const head = this.#head;
    this.#head = undefined;
    if (this.#framing === Framing.Chunked && !this.#noBody) {
      if (head !== undefined) s.write(`${head}0\r\n\r\n`, "latin1");
      else s.write(LAST_CHUNK);
    } else if (head !== undefined) s.write(head, "latin1");
    this.state = ReplyState.Finished;
    this.#owner.replyDone(this);
    this.#emit(true);
  }

  /** A whole response at once: head and body in one write. */
  send(status: number, reason: string, headers: readonly string[], body: readonly Buffer[]): void {
    this.writeHead(status, reason, headers);
    if (body.length === 1) this.write(body[0] as Buffer);
    else if (body.length > 1) this.write(Buffer.concat(body as Buffer[]));
    this.end();
  }

  /** Calls `f` once when the client's socket takes more (after `write` returned false). */
  onDrain(f: () => void): void {
    this.#owner.socket.once("drain", f);
  }

  /**
   * The connection was handed over (an accepted upgrade: the tunnel wrote the endpoint's
   * `status` itself): the reply is finished without a byte from it.
   */
  handOver(status: number): void {
    if (this.done) return;
    this.status = status;
    this.state = ReplyState.Finished;
    this.#owner.replyDone(this);
    this.#emit(true);
  }

  /** Cuts the response (and the client's connection) short. */
  destroy(): void {
    if (this.done) return;
    this.keepAlive = false;
    this.#owner.socket.destroy();
    this.abort();
  }

  /** The client's connection is gone (called by the connection). */
  abort(): void {
    if (this.done) return;
    this.state = ReplyState.Aborted;
    this.#owner.replyDone(this);
    this.#emit(false);
  }

  #emit(finished: boolean): void {
    const l = this.#listeners;
    this.#listeners = undefined;
    if (l === undefined) return;
    if (typeof l === "function") l(finished);
    else for (const f of l) f(finished);
  }
}
