/**
 * One long-lived server stream to namerd's mesh API (StreamBoundTree, StreamReplicas,
 * StreamDtab), reopened with backoff until stopped, as Linkerd's mesh client does. Errors are
 * told apart: namerd answering the request with an error (INVALID_ARGUMENT, NOT_FOUND,
 * FAILED_PRECONDITION, ...) is `refused`; anything else (refused connection, reset, namerd
 * going away, a deadline) is `lost`, and wakes up again as soon as the channel reconnects.
 */
import { type ClientReadableStream, type ServiceError, status } from "@grpc/grpc-js";
import { Backoff } from "./backoff.js";
import type { MeshClients, MeshConnection } from "./mesh-connection.js";

export interface MeshStreamHandlers<M> {
  /** A message from namerd. Throwing reports a malformed answer (as `refused`). */
  message(m: M): void;
  /** namerd could not be reached or the stream broke; the stream retries. */
  lost(e: Error, everAnswered: boolean): void;
  /** namerd answered with an error status (or a malformed message); the stream retries. */
  refused(e: Error, everAnswered: boolean): void;
}

/** Status codes by which namerd itself answers a request it will not serve. */
const ANSWERED_CODES: ReadonlySet<status> = new Set([
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.FAILED_PRECONDITION,
  status.PERMISSION_DENIED,
  status.UNAUTHENTICATED,
  status.UNIMPLEMENTED,
  status.OUT_OF_RANGE,
]);

export class MeshStream<M> {
  #stopped = false;
  #started = false;
  #call: ClientReadableStream<M> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unwake: (() => void) | undefined;
  #answered = false;
  readonly #backoff: Backoff;

  constructor(
    readonly conn: MeshConnection,
    readonly open: (clients: MeshClients) => ClientReadableStream<M>,
    readonly handlers: MeshStreamHandlers<M>,
  ) {
    this.#backoff = new Backoff(conn.retry.baseMs, conn.retry.maxMs);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.conn.streams++;
    // deferred: a Var sampled without observers starts and stops at once, and opens nothing
    queueMicrotask(() => void this.#connect());
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#started) this.conn.streams--;
    this.#clearRetry();
    const call = this.#call;
    this.#call = undefined;
    call?.cancel();
  }

  async #connect(): Promise<void> {
    this.#clearRetry();
    if (this.#stopped) return;
    let clients: MeshClients;
    try {
      clients = await this.conn.clients();
    } catch (e) {
      this.#lost((e as Error).message);
      return;
    }
    if (this.#stopped) return;
    const call = this.open(clients);
    this.#call = call;
    call.on("data", (m: M) => {
      if (this.#call !== call) return;
      this.conn.answered();
      this.#backoff.reset();
      try {
        this.handlers.message(m);
        this.#answered = true;
      } catch (e) {
        // a malformed answer: drop this stream and ask again later
        this.#call = undefined;
        call.cancel();
        this.handlers.refused(
          new Error(
            `namerd ${this.conn.dst.show} sent a malformed answer: ${(e as Error).message}`,
          ),
          this.#answered,
        );
        this.#schedule(false);
      }
    });
    call.on("error", (e: ServiceError) => {
      if (this.#call !== call) return;
      this.#call = undefined;
      if (ANSWERED_CODES.has(e.code)) {
        // namerd is there and said no: not an outage
        this.conn.answered();
        this.handlers.refused(
          new Error(`namerd ${this.conn.dst.show} (${clients.address}): ${e.details || e.message}`),
          this.#answered,
        );
        this.#schedule(false);
      } else this.#lost(e.details || e.message);
    });
    call.on("end", () => {
      if (this.#call !== call) return;
      this.#call = undefined;
      this.#lost("namerd ended the stream");
    });
  }

  #lost(cause: string): void {
    if (this.#stopped || this.conn.closed) return;
    this.conn.lost(cause);
    this.handlers.lost(this.conn.unreachable(cause), this.#answered);
    this.#schedule(true);
  }

  /** Retries after the backoff, or (for an outage) as soon as the channel is READY again. */
  #schedule(wakeOnReady: boolean): void {
    // a closed interpreter retries nothing (its observers keep the last values)
    if (this.#stopped || this.conn.closed) return;
    this.#clearRetry();
    this.#timer = setTimeout(() => void this.#connect(), this.#backoff.next());
    this.#timer.unref?.();
    if (wakeOnReady) this.#unwake = this.conn.whenReady(() => void this.#connect());
  }

  #clearRetry(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unwake?.();
    this.#unwake = undefined;
  }
}
