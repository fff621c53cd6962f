/**
 * One long-lived `?watch=true` stream from namerd, reconnected with backoff until released.
 * It keeps the last value it had across disconnections (a linker keeps routing with the last
 * trees it got); before any value arrives, a failed connection is reported as a failure that
 * names namerd, and the retries go on.
 */
import type { Path } from "@l5d/dtab";
import { Backoff } from "./backoff.js";
import { getJsonLines } from "./json-lines.js";
import { type NamerdClientState, NamerdClientStatus } from "./namerd-client-status.js";
import { resolveNamerd } from "./namerd-dst.js";

/** State shared by every stream of one interpreter, and the backoff each stream retries with. */
export class NamerdConnection extends NamerdClientStatus {
  constructor(
    dst: Path,
    namespace: string,
    readonly backoff: { readonly baseMs: number; readonly maxMs: number },
    readonly onChange?: (s: NamerdClientState) => void,
  ) {
    super(dst, namespace);
  }
}

export interface WatchHandlers {
  /** A value from namerd (already JSON-parsed). Throwing reports a malformed answer. */
  value(v: unknown): void;
  /** The stream failed before any value arrived (or namerd answered an error status). */
  failed(e: Error): void;
}

export class NamerdWatch {
  #closed = false;
  #stream: { close(): void } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #gotValue = false;
  /** namerd refused the request itself (4xx): that message stands, not "unavailable". */
  #refused = false;
  readonly #backoff: Backoff;

  constructor(
    readonly conn: NamerdConnection,
    /** The API path and query, e.g. `/api/1/bind/default?path=/svc/x`. */
    readonly target: string,
    readonly handlers: WatchHandlers,
  ) {
    this.#backoff = new Backoff(conn.backoff.baseMs, conn.backoff.maxMs);
  }

  start(): void {
    this.conn.streams++;
    // deferred: a Var sampled without observers starts and stops at once, and opens nothing
    queueMicrotask(() => void this.#connect());
  }

  stop(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.conn.streams--;
    clearTimeout(this.#timer);
    this.#stream?.close();
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    let host: string;
    let port: number;
    try {
      const a = await resolveNamerd(this.conn.dst);
      host = a.host;
      port = a.port;
    } catch (e) {
      this.#retry(e as Error);
      return;
    }
    if (this.#closed) return;
    this.conn.address = `${host}:${port}`;
    const sep = this.target.includes("?") ? "&" : "?";
    const url = new URL(
      `http://${host.includes(":") ? `[${host}]` : host}:${port}${this.target}${sep}watch=true`,
    );
    this.#stream = getJsonLines(url, {
      onValue: (v) => {
        if (this.#closed) return;
        this.conn.connected = true;
        this.conn.lastError = undefined;
        this.conn.lastUpdate = Date.now();
        this.#backoff.reset();
        this.#refused = false;
        try {
          this.handlers.value(v);
          this.#gotValue = true;
        } catch (e) {
          this.handlers.failed(
            new Error(`namerd sent a malformed answer: ${(e as Error).message}`),
          );
        }
      },
      onStatus: (status, body) => {
        if (status >= 400 && status < 500) {
          this.#refused = true;
          this.handlers.failed(new Error(`namerd ${this.conn.dst.show}: ${status} ${body}`));
        }
      },
      onEnd: (e) => {
        if (this.#closed) return;
        this.#retry(e ?? new Error("namerd closed the stream"));
      },
    });
  }

  #retry(e: Error): void {
    if (this.#closed) return;
    this.conn.connected = false;
    this.conn.lastError = e.message;
    this.conn.reconnects++;
    if (!this.#gotValue && !this.#refused) this.handlers.failed(this.conn.unreachable(e.message));
    this.#timer = setTimeout(() => void this.#connect(), this.#backoff.next());
    this.#timer.unref?.();
  }
}
