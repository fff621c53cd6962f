/**
 * One long-poll against namerd's thrift interface, as Linkerd's ThriftNamerClient loops:
 * send the request with the last stamp (empty at first); namerd holds it until its value's
 * stamp differs, then answers; record the answer and ask again with the new stamp at once.
 *
 * - namerd answers with its IDL failure (BindFailure...) or a TApplicationException: reported
 *   as `refused`, asked again after the backoff with the same stamp;
 * - the call fails in transport (refused connection, broken or drained session, ping
 *   timeout): reported as `lost`, asked again with an empty stamp once namerd is back (the
 *   client's reconnect wake-up) or after the backoff;
 * - an answer with the stamp that was sent (a server that does not hold) waits the backoff,
 *   so a misbehaving server cannot spin the loop.
 *
 * `stop` aborts the call in flight, which sends Tdiscarded so namerd forgets it.
 */
import { Backoff } from "../backoff.js";
import type { Feed } from "../feed-var.js";
import type { NamerdConnection } from "../namerd-watch.js";
import type { ThriftNamerClient } from "./namer-client.js";
import type { NamerMethod } from "./namer-idl.js";

export interface LongPollHandlers<Rep> {
  /** namerd's answer. Throwing reports it as malformed (then `refused`). */
  value(rep: Rep): void;
  /** namerd answered, but with a failure (or something unusable). */
  refused(e: Error): void;
  /** namerd could not be reached, or the session broke. */
  lost(e: Error): void;
}

export class LongPoll<
  Req,
  Rep extends { readonly stamp: Buffer },
  Fail extends { readonly reason: string },
> implements Feed
{
  #stopped = false;
  #started = false;
  readonly #ac = new AbortController();
  readonly #backoff: Backoff;

  constructor(
    readonly conn: NamerdConnection,
    readonly client: ThriftNamerClient,
    readonly method: NamerMethod<Req, Rep, Fail>,
    readonly request: (stamp: Buffer) => Req,
    readonly handlers: LongPollHandlers<Rep>,
  ) {
    this.#backoff = new Backoff(conn.backoff.baseMs, conn.backoff.maxMs);
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.conn.streams++;
    // deferred: a Var sampled without observers starts and stops at once, and sends nothing
    queueMicrotask(() => void this.#loop());
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#started) this.conn.streams--;
    this.#ac.abort(new Error("released"));
  }

  async #loop(): Promise<void> {
    let stamp: Buffer = Buffer.alloc(0);
    while (!this.#stopped) {
      let reply: Awaited<ReturnType<ThriftNamerClient["call"]>>;
      try {
        reply = await this.client.call(this.method, this.request(stamp), this.#ac.signal);
      } catch (e) {
        if (this.#stopped || this.client.closed) return;
        const cause = (e as Error).message;
        this.conn.connected = this.client.connected;
        this.conn.lastError = cause;
        this.conn.address = this.client.address;
        this.handlers.lost(this.conn.unreachable(cause));
        stamp = Buffer.alloc(0);
        await this.client.waitForReconnect(this.#backoff.next(), this.#ac.signal);
        continue;
      }
      if (this.#stopped) return;
      this.conn.address = this.client.address;
      this.conn.connected = true;
      const where = `namerd ${this.conn.dst.show} (${this.client.address ?? "?"})`;
      if (reply.kind === "ok") {
        const rep = reply.value as Rep;
        const same = stamp.length > 0 && rep.stamp.equals(stamp);
        try {
          this.handlers.value(rep);
          this.conn.lastError = undefined;
          this.conn.lastUpdate = Date.now();
        } catch (e) {
          const msg = `${where} sent a malformed answer: ${(e as Error).message}`;
          this.conn.lastError = msg;
          this.handlers.refused(new Error(msg));
        }
        stamp = rep.stamp;
        if (!same) {
          this.#backoff.reset();
          continue;
        }
      } else {
        const reason =
          reply.kind === "failure" ? (reply.failure as Fail).reason : reply.error.message;
        const msg = `${where}: ${reason || "failed"}`;
        this.conn.lastError = msg;
        this.handlers.refused(new Error(msg));
        if (reply.kind === "exception") stamp = Buffer.alloc(0);
      }
      await sleep(this.#backoff.next(), this.#ac.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener("abort", done, { once: true });
  });
}
