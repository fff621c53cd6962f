/**
 * One client's HTTP/1.1 connection: llhttp (strict) on its bytes, requests answered in the order
 * they came. A request is handed over (`onRequest`) when it reaches the front of the queue; one
 * pipelined behind it waits, with the socket paused, until the response before it is over. The
 * request body flows to its `BodyLog`, which pauses the socket when the upstream is backed up.
 *
 * States (`ConnState`): Head (waiting for a request head) ⇄ Body (reading a request's body);
 * → Upgraded (the socket was handed to a tunnel); → Closed.
 */
import type { Socket } from "node:net";
import {
  H1Parser,
  isParseError,
  type ParsedHead,
  type ParseError,
  ParserKind,
} from "../wire/llhttp.js";
import { BodyLog, type BodySource } from "./body-log.js";
import { IncomingRequest } from "./incoming-request.js";
import { Reply, type ReplyOwner } from "./reply.js";

export enum ConnState {
  Head,
  Body,
  Upgraded,
  Closed,
}

/** A request received and its reply (the body's end may still be coming). */
export interface Entry {
  readonly req: IncomingRequest;
  readonly reply: Reply;
  readonly body: BodyLog;
  /** Bytes after an upgrade request's head (the new protocol's). */
  upgradeHead: Buffer | undefined;
}

export interface ConnectionHooks {
  readonly maxHeadBytes: number;
  /** `retryBufferSize.requestBytes`: what a body log keeps for replays. */
  readonly requestBufferBytes: number;
  /** The request is at the front of the queue: route it. */
  onRequest(e: Entry): void;
  /** The head could not be parsed: answer (status, reason) and close. */
  onParseError(c: ClientConnection, e: ParseError): void;
}

export class ClientConnection implements ReplyOwner, BodySource {
  readonly socket: Socket;
  readonly #hooks: ConnectionHooks;
  readonly #parser: H1Parser;
  state = ConnState.Head;
  /** Requests whose replies are not over; [0] is the one being answered. */
  readonly #queue: Entry[] = [];
  /** The request whose body is being read. */
  #reading: Entry | undefined;
  /** When the head being waited for started (ms, performance.now()); 0 when none is. */
  headStartedAt: number;
  /** When the connection last became idle (no request in progress); 0 when busy. */
  idleSince = 0;
  #bodyPaused = false;
  #socketPaused = false;
  /** The server is closing: end the connection once its requests are answered. */
  #draining = false;
  /** A parse error, answered once the requests before it are. */
  #failure: ParseError | undefined;
  /** A request's first bytes were read, its head is not complete yet. */
  #inHead = false;
  /** Inside a read's parse, since a request head in it (callbacks may answer synchronously). */
  #parsing = false;
  /** A reply that ended during the parse while its request's body was still being read. */
  #answeredEarly: Reply | undefined;

  constructor(socket: Socket, hooks: ConnectionHooks) {
    this.socket = socket;
    this.#hooks = hooks;
    this.headStartedAt = performance.now();
    this.#parser = new H1Parser(ParserKind.Request, hooks.maxHeadBytes, {
      begin: () => {
        if (this.headStartedAt === 0) this.headStartedAt = performance.now();
        this.idleSince = 0;
        this.#inHead = true;
      },
      head: (h) => this.#head(h),
      body: (c) => this.#reading?.body.push(c),
      end: () => this.#end(),
    });
    socket.setNoDelay(true);
    // node:http's fast path: the parser reads the socket from C++; else the bytes come as events
    if (!this.#parser.consume(socket, (r) => this.#parsed(r, undefined)))
      socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onClose);
    socket.on("error", this.#onError);
  }

  readonly #onData = (d: Buffer) => this.#parsed(this.#parser.execute(d), d);
  readonly #onEnd = () => this.#lost(true);
  readonly #onClose = () => {
    this.#lost(false);
    this.#parser.free();
  };
  readonly #onError = () => {
    // followed by close
  };

  /** Requests received and not yet answered. */
  get pending(): number {
    return this.#queue.length;
  }

  /** The connection holds no request: nothing is lost by closing it. */
  get idle(): boolean {
    return this.#queue.length === 0 && this.state === ConnState.Head && this.headStartedAt === 0;
  }

  /** After each read: `r` is what the parser made of it (`d`, unless the parser read it itself). */
  #parsed(r: number | ParseError, d: Buffer | undefined): void {
    this.#parsing = false;
    const early = this.#answeredEarly;
    if (early !== undefined) {
      // a reply given during this read's parse, while its request's body was still coming
      this.#answeredEarly = undefined;
      this.replyDone(early);
    }
    if (this.state === ConnState.Closed || this.#failure !== undefined) return;
    if (isParseError(r)) {
      this.#failParse(r);
      return;
    }
    if (this.state === ConnState.Upgraded) {
      // the upgrade request is routed once the bytes after its head are known
      const buf = d ?? this.#parser.currentBuffer();
      this.#parser.unconsume();
      this.socket.off("data", this.#onData);
      this.socket.pause();
      const q = this.#queue;
      const e = q[q.length - 1];
      if (e === undefined) return;
      e.upgradeHead = buf.subarray(r);
      if (q.length === 1) this.#hooks.onRequest(e);
    }
  }

  #head(h: ParsedHead): boolean {
    // closed by an earlier request in the same read: the rest is not read
    if (this.state === ConnState.Closed) return true;
    this.#parsing = true;
    this.#inHead = false;
    this.headStartedAt = 0;
    const req = new IncomingRequest(h, this.socket);
    const e: Entry = {
      req,
      reply: new Reply(req, this),
      body: new BodyLog(this, this.#hooks.requestBufferBytes),
      upgradeHead: undefined,
    };
    this.#queue.push(e);
    if (h.upgrade) {
      // what follows the head is the new protocol's: no more parsing on this connection
      this.state = ConnState.Upgraded;
      e.body.finish();
      this.#parser.pauseSocket(this.socket);
      return false;
    }
    this.state = ConnState.Body;
    this.#reading = e;
    if (this.#queue.length === 1) this.#hooks.onRequest(e);
    else this.#flow();
    return false;
  }

  #end(): void {
    if (this.state === ConnState.Closed) return;
    const e = this.#reading;
    this.#reading = undefined;
    if (this.state === ConnState.Body) this.state = ConnState.Head;
    this.#bodyPaused = false;
    e?.body.finish();
    this.#flow();
  }

  /** BodySource: the request body's reader is backed up (or between attempts). */
  pause(): void {
    this.#bodyPaused = true;
    this.#flow();
  }

  resume(): void {
    this.#bodyPaused = false;
    this.#flow();
  }

  /** ReplyOwner: a reply is over; the next request's turn, or the connection's end. */
  replyDone(r: Reply): void {
    const q = this.#queue;
    if (q[0]?.reply !== r) {
      const i = q.findIndex((e) => e.reply === r);
      // dropped from the queue already (a malformed request)
      if (i < 0) return;
      // a request behind the one being answered was refused: the connection cannot go on
      q.splice(i, 1);
      this.close();
      return;
    }
    if (this.#reading?.reply === r && r.keepAlive && !r.aborted) {
      // answered before its body was all read. During a read's parse (an answer given at once,
      // e.g. a local error) the body may still end in that same read: decided once it is parsed
      if (this.#parsing) {
        this.#answeredEarly = r;
        return;
      }
      // an endpoint that answered early: what is left of the body would have to be read and
      // thrown away to reach the next request; the connection is closed instead, as nothing
      // after it can be trusted to start at a request
      r.keepAlive = false;
    }
    q.shift();
    if (!r.keepAlive || r.aborted) {
      this.close();
      return;
    }
    const next = q[0];
    if (next === undefined && this.#failure !== undefined) {
      this.#answerFailure();
      return;
    }
    if (next === undefined && this.#draining) {
      this.close();
      return;
    }
    if (next !== undefined) this.#hooks.onRequest(next);
    else if (this.state === ConnState.Head && this.headStartedAt === 0)
      this.idleSince = performance.now();
    this.#flow();
  }

  /** Ends the connection once what was written is sent. */
  close(): void {
    if (this.state === ConnState.Closed) return;
    this.state = ConnState.Closed;
    // ends the socket once what was written is sent
    this.socket.destroySoon();
    this.#abortAll();
  }

  /** Closes now if idle, else once the requests received are answered (a server's graceful close). */
  drain(): void {
    this.#draining = true;
    // no request held, none begun (idle, or connected and not a byte of a request yet)
    if (this.#queue.length === 0 && this.state === ConnState.Head && !this.#inHead) this.close();
  }

  /** Hands the socket over (an upgrade that was accepted): this connection no longer reads it. */
  detach(): void {
    this.state = ConnState.Closed;
    const s = this.socket;
    s.off("data", this.#onData);
    s.off("end", this.#onEnd);
    s.off("close", this.#onClose);
    s.off("error", this.#onError);
    this.#parser.free();
    // the upgrade request is over: its reply (the endpoint's 101, written by the tunnel) is done
    for (const e of this.#queue.splice(0)) e.reply.handOver(101);
  }

  #flow(): void {
    if (
      this.state === ConnState.Closed ||
      this.state === ConnState.Upgraded ||
      this.#failure !== undefined
    )
      return;
    // a request waiting behind another, or a body nobody takes now: read no further
    const stop = this.#bodyPaused || this.#queue.length > 1;
    if (stop && !this.#socketPaused) {
      this.#socketPaused = true;
      this.#parser.pauseSocket(this.socket);
    } else if (!stop && this.#socketPaused) {
      this.#socketPaused = false;
      this.#parser.resumeSocket(this.socket);
    }
  }

  #failParse(e: ParseError): void {
    const r = this.#reading;
    this.#reading = undefined;
    if (r !== undefined) {
      r.body.fail(e);
      if (r.reply.headersSent) {
        // answered already (the error is in its body): nothing else can be said
        this.socket.destroy();
        return;
      }
      // the malformed request is dropped (an exchange already under way sees its client gone)
      const q = this.#queue;
      q.splice(q.indexOf(r), 1);
      r.reply.abort();
    }
    // no more reading; the requests before it are answered first, then the error, then the close
    this.#failure = e;
    this.#parser.pauseSocket(this.socket);
    if (this.#queue.length === 0) this.#answerFailure();
  }

  #answerFailure(): void {
    const e = this.#failure;
    if (e === undefined || this.state === ConnState.Closed) return;
    this.state = ConnState.Closed;
    this.#hooks.onParseError(this, e);
  }

  /** The client closed (`end`: its half; node closes ours, as node:http does) or the socket is gone. */
  #lost(half: boolean): void {
    if (this.state === ConnState.Closed) return;
    if (half && this.state !== ConnState.Upgraded) {
      const ret = this.#parser.finish();
      if (ret !== undefined && this.#queue.length === 0) {
        this.state = ConnState.Closed;
        this.#hooks.onParseError(this, ret);
        return;
      }
    }
    this.state = ConnState.Closed;
    if (half) this.socket.end();
    this.#abortAll();
  }

  #abortAll(): void {
    const q = this.#queue.splice(0);
    this.#reading?.body.fail(new Error("the client closed its connection"));
    this.#reading = undefined;
    for (const e of q) e.reply.abort();
  }
}
