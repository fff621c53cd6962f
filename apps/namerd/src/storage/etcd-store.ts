/**
 * `io.l5d.etcd`: dtabs kept in etcd (Linkerd's EtcdDtabStore, ported from etcd's v2 API to
 * the v3 API). Each namespace is the key `<pathPrefix>/<namespace>` holding the dtab's text
 * (`Dtab.show`); its version is the key's mod revision, as a decimal string. Conditional
 * writes are etcd transactions, so concurrent writers from several namerds stay consistent.
 *
 * Reads come from one prefix watch per store, started on the first observation: a range read
 * of the whole prefix, then a watch from the revision after it. When etcd cannot be reached
 * the store keeps serving what it last saw, reports itself unhealthy, and retries with capped
 * exponential backoff; each retry reads the prefix again before watching, so changes made
 * while it was away are seen even if etcd compacted its history meanwhile.
 */

import { createRequire } from "node:module";
import type { PluginLogger } from "@l5d/config";
import { Activity, Dtab, Path } from "@l5d/dtab";
import type { IKeyValue, IWatchResponse, Watcher } from "etcd3";

// etcd3 (with its own gRPC and protobuf stacks) costs ~28 MiB of RSS when loaded: it is loaded
// on the first EtcdDtabStore only, so a namerd on another storage never pays for it. Both
// packages are CommonJS, so a synchronous require works from this ESM module.
const requireCjs = createRequire(import.meta.url);
type Etcd3Module = typeof import("etcd3");
type CockatielModule = typeof import("cockatiel");
type Etcd3 = InstanceType<Etcd3Module["Etcd3"]>;

import {
  DtabNamespaceAlreadyExistsError,
  DtabNamespaceDoesNotExistError,
  type DtabStore,
  DtabStoreUnavailableError,
  DtabVersionMismatchError,
  NAMESPACE_RE,
  type VersionedDtab,
} from "./dtab-store.js";
import { WatchLoop } from "./watch-loop.js";
import { type NsState, WatchedDtabs } from "./watched-dtabs.js";

export interface EtcdDtabStoreOptions {
  /** etcd's client address (Linkerd's default `localhost`). */
  readonly host: string;
  /** etcd's client port (default 2379). */
  readonly port: number;
  /** The key prefix the namespaces live under (default `/namerd/dtabs`). */
  readonly pathPrefix?: Path;
  readonly log?: PluginLogger;
  /** How long a write or a read may take before it fails as unavailable (default 5 s). */
  readonly requestTimeoutMs?: number;
  /** First delay before retrying a lost watch (default 100 ms), doubled up to maxBackoffMs. */
  readonly minBackoffMs?: number;
  /** Longest delay between retries (default 5 s). */
  readonly maxBackoffMs?: number;
}

export const ETCD_DEFAULT_PATH_PREFIX = "/namerd/dtabs";

const SILENT: PluginLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** A decimal mod revision, as handed out by this store (`0` means "absent" in etcd). */
const REVISION_RE = /^[1-9][0-9]*$/;

export class EtcdDtabStore implements DtabStore {
  readonly #client: Etcd3;
  readonly #endpoint: string;
  /** Every key this store owns starts with this (the prefix path and a slash). */
  readonly #keyPrefix: string;
  readonly #log: PluginLogger;
  readonly #timeoutMs: number;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;

  /** Known keys by namespace, at their mod revisions; the values are the dtabs' text. */
  readonly #dtabs = new WatchedDtabs<bigint, string>({
    newer: (a, b) => a > b,
    parse: (ns, rev, text) => this.#parse(ns, rev, text),
  });
  #connected = false;
  readonly #loop = new WatchLoop(() => this.#run());
  /** Stops the current watch; resolves when etcd3 has cancelled it. */
  #stopWatch: (() => Promise<void>) | undefined;

  constructor(options: EtcdDtabStoreOptions) {
    const host =
      options.host.includes(":") && !options.host.startsWith("[")
        ? `[${options.host}]`
        : options.host;
    this.#endpoint = `${host}:${options.port}`;
    const prefix = (options.pathPrefix ?? Path.read(ETCD_DEFAULT_PATH_PREFIX)).show;
    this.#keyPrefix = prefix === "/" ? "/" : `${prefix}/`;
    this.#log = options.log ?? SILENT;
    this.#timeoutMs = options.requestTimeoutMs ?? 5_000;
    this.#minBackoffMs = options.minBackoffMs ?? 100;
    this.#maxBackoffMs = options.maxBackoffMs ?? 5_000;
    const { Etcd3, isRecoverableError } = requireCjs("etcd3") as Etcd3Module;
    const { ExponentialBackoff, handleWhen, noop, retry } = requireCjs(
      "cockatiel",
    ) as CockatielModule;
    this.#client = new Etcd3({
      hosts: `http://${this.#endpoint}`,
      faultHandling: {
        // One immediate retry of a call that failed for connection reasons: the client then
        // runs it on a fresh channel, which gets past a connection etcd dropped on restart.
        global: retry(handleWhen(isRecoverableError), { maxAttempts: 1 }),
        // No per-host circuit breaker: our own backoff paces the watch, and a breaker kept
        // open after etcd is back would only delay the resync.
        host: () => noop,
        // We cancel a watch as soon as it is disconnected, so etcd3's own reconnect loop only
        // has to notice there is nothing left to reconnect; keep its timer short. (etcd3 types
        // this as a backoff but calls next() on it first, so pass the first step's backoff.)
        watchBackoff: new ExponentialBackoff({
          initialDelay: this.#minBackoffMs,
          maxDelay: this.#maxBackoffMs,
        }).next(),
      },
      grpcOptions: {
        // grpc-js waits up to 2 minutes between reconnects by default; etcd comes back sooner.
        "grpc.initial_reconnect_backoff_ms": this.#minBackoffMs,
        "grpc.max_reconnect_backoff_ms": this.#maxBackoffMs,
        // Pings on the open watch notice a silent network partition (no RST). etcd accepts
        // pings every 5 s or slower (its --grpc-keepalive-min-time).
        "grpc.keepalive_time_ms": 10_000,
        "grpc.keepalive_timeout_ms": 5_000,
      },
    });
  }

  list(): Activity<readonly string[]> {
    this.#loop.start();
    return this.#dtabs.list();
  }

  observe(ns: string): Activity<VersionedDtab | null> {
    this.#loop.start();
    return this.#dtabs.observe(ns);
  }

  async create(ns: string, dtab: Dtab): Promise<void> {
    const key = this.#keyBuf(ns);
    const text = dtab.show;
    const res = await this.#call("create", (deadline) =>
      this.#client.kv.txn(
        {
          // create_revision 0: the key does not exist.
          compare: [{ key, target: "Create", result: "Equal", create_revision: 0 }],
          success: [{ request_put: { key, value: Buffer.from(text, "utf8") } }],
        },
        { deadline },
      ),
    );
    if (!res.succeeded) throw new DtabNamespaceAlreadyExistsError(ns);
    this.#applyWrite(ns, res.header.revision, text);
  }

  async update(ns: string, dtab: Dtab, version: string): Promise<void> {
    const key = this.#keyBuf(ns);
    const text = dtab.show;
    if (!REVISION_RE.test(version)) {
      // Not a revision this store handed out, so it cannot match: say what the version is.
      const cur = await this.#call("update", (deadline) =>
        this.#client.kv.range({ key }, { deadline }),
      );
      const kv = cur.kvs[0];
      if (kv === undefined) throw new DtabNamespaceDoesNotExistError(ns);
      throw new DtabVersionMismatchError(ns, version, kv.mod_revision);
    }
    const res = await this.#call("update", (deadline) =>
      this.#client.kv.txn(
        {
          compare: [{ key, target: "Mod", result: "Equal", mod_revision: version }],
          success: [{ request_put: { key, value: Buffer.from(text, "utf8") } }],
          // On a mismatch, read the key in the same transaction to tell "missing" from "stale".
          failure: [{ request_range: { key } }],
        },
        { deadline },
      ),
    );
    if (!res.succeeded) {
      const kv = res.responses[0]?.response_range?.kvs[0];
      if (kv === undefined) throw new DtabNamespaceDoesNotExistError(ns);
      throw new DtabVersionMismatchError(ns, version, kv.mod_revision);
    }
    this.#applyWrite(ns, res.header.revision, text);
  }

  async put(ns: string, dtab: Dtab): Promise<void> {
    const text = dtab.show;
    const res = await this.#call("put", (deadline) =>
      this.#client.kv.put(
        { key: this.#keyBuf(ns), value: Buffer.from(text, "utf8") },
        { deadline },
      ),
    );
    this.#applyWrite(ns, res.header.revision, text);
  }

  async delete(ns: string): Promise<void> {
    const res = await this.#call("delete", (deadline) =>
      this.#client.kv.deleteRange({ key: this.#keyBuf(ns) }, { deadline }),
    );
    if (res.deleted === "0") throw new DtabNamespaceDoesNotExistError(ns);
    this.#applyWrite(ns, res.header.revision, undefined);
  }

  /**
   * Whether the store's watch on etcd is up. Asking starts the watch if nothing has observed
   * the store yet, so a health probe reports on etcd rather than on an idle store.
   */
  healthy(): boolean {
    this.#loop.start();
    return this.#connected;
  }

  async close(): Promise<void> {
    if (this.#loop.closed) return;
    this.#loop.close();
    this.#connected = false;
    // Let etcd confirm the watch's cancellation so its stream ends before the channel closes;
    // a range read still in flight fails once the client is closed. Both bounded.
    await this.#loop.ended(1_000, this.#stopWatch?.());
    this.#client.close();
    await this.#loop.ended(this.#timeoutMs);
  }

  // ---- reads ------------------------------------------------------------------------------

  /** Reads and watches the prefix until closed, starting over after every failure. */
  async #run(): Promise<void> {
    let delay = this.#minBackoffMs;
    let failures = 0;
    while (!this.#loop.closed) {
      try {
        await this.#syncOnce(() => {
          if (failures > 0)
            this.#log.info({ endpoint: this.#endpoint }, "etcd dtab store: etcd is back, resynced");
          delay = this.#minBackoffMs;
          failures = 0;
        });
      } catch (e) {
        if (this.#loop.closed) break;
        failures += 1;
        // Warn once per outage; the retries every few seconds after it are debug noise.
        (failures === 1 ? this.#log.warn : this.#log.debug).call(
          this.#log,
          { endpoint: this.#endpoint, err: messageOf(e), retryInMs: delay },
          this.#dtabs.synced
            ? "etcd dtab store: cannot reach etcd, serving the last known dtabs"
            : "etcd dtab store: cannot reach etcd, no dtabs to serve yet",
        );
        if (!this.#dtabs.synced) this.#failUnsynced(e);
      }
      this.#connected = false;
      if (this.#loop.closed) break;
      await this.#loop.sleep(delay);
      delay = Math.min(delay * 2, this.#maxBackoffMs);
    }
  }

  /** One range read and the watch that follows it; settles when the watch is lost. */
  async #syncOnce(onWatching: () => void): Promise<void> {
    const start = Buffer.from(this.#keyPrefix, "utf8");
    const range = await this.#client.kv.range(
      { key: start, range_end: prefixEnd(start) },
      { deadline: Date.now() + this.#timeoutMs },
    );
    if (this.#loop.closed) return;
    const revision = BigInt(range.header.revision);
    this.#dtabs.snapshot(this.#present(range.kvs), revision);
    await new Promise<void>((resolve, reject) => {
      const watcher: Watcher = this.#client
        .watch()
        .prefix(this.#keyPrefix)
        .startRevision((revision + 1n).toString())
        .watcher();
      let done = false;
      let cancelled: Promise<void> = Promise.resolve();
      const finish = (err: Error | undefined): Promise<void> => {
        if (done) return cancelled;
        done = true;
        this.#stopWatch = undefined;
        this.#connected = false;
        // Cancelling a disconnected watcher only detaches it; a connected one is cancelled on
        // the server. Either way etcd3 stops resubscribing it.
        cancelled = watcher.cancel().catch(() => {});
        if (err === undefined) resolve();
        else reject(err);
        return cancelled;
      };
      this.#stopWatch = () => finish(undefined);
      watcher.on("connected", () => {
        if (done) return;
        this.#connected = true;
        onWatching();
      });
      watcher.on("data", (res) => {
        if (!done) this.#applyEvents(res);
      });
      watcher.on("disconnected", (err) => finish(err));
      // e.g. the start revision was compacted away: read the prefix again.
      watcher.on("error", (err) => finish(err));
      watcher.on("end", () => finish(new Error("the etcd watch ended")));
    });
  }

  /** The namespaces a prefix read holds, at their mod revisions. */
  *#present(kvs: readonly IKeyValue[]): Iterable<[string, bigint, string]> {
    for (const kv of kvs) {
      const ns = this.#nsOf(kv.key);
      if (ns !== undefined) yield [ns, BigInt(kv.mod_revision), kv.value.toString("utf8")];
    }
  }

  #applyEvents(res: IWatchResponse): void {
    const changes: [string, bigint, string | undefined][] = [];
    for (const ev of res.events) {
      const ns = this.#nsOf(ev.kv.key);
      if (ns === undefined) continue;
      // Deletes carry the deleting revision as their mod revision.
      const rev = BigInt(ev.kv.mod_revision !== "0" ? ev.kv.mod_revision : res.header.revision);
      changes.push([ns, rev, ev.type === "Delete" ? undefined : ev.kv.value.toString("utf8")]);
    }
    this.#dtabs.change(...changes);
  }

  /** The state a successful write of ours leads to, without waiting for the watch to echo it. */
  #applyWrite(ns: string, revision: string, text: string | undefined): void {
    this.#dtabs.change([ns, BigInt(revision), text]);
  }

  #parse(ns: string, rev: bigint, text: string): NsState {
    try {
      return Activity.ok({ dtab: Dtab.read(text), version: rev.toString() });
    } catch (e) {
      const key = this.#keyPrefix + ns;
      this.#log.error(
        { key, version: rev.toString(), err: messageOf(e) },
        "etcd dtab store: the stored dtab does not parse",
      );
      return Activity.failed(
        new Error(`invalid dtab stored in etcd at ${key}: ${messageOf(e)}`, { cause: e }),
      );
    }
  }

  /** No copy to serve and etcd unreachable: observers see a failure instead of waiting. */
  #failUnsynced(cause: unknown): void {
    this.#dtabs.failUnsynced(
      new DtabStoreUnavailableError(
        `cannot read dtabs from etcd at ${this.#endpoint}: ${messageOf(cause)}`,
        { cause },
      ),
    );
  }

  /** The namespace a key names, or undefined for keys that are not `<prefix>/<namespace>`. */
  #nsOf(key: Buffer): string | undefined {
    const k = key.toString("utf8");
    if (!k.startsWith(this.#keyPrefix)) return undefined;
    const ns = k.slice(this.#keyPrefix.length);
    return NAMESPACE_RE.test(ns) ? ns : undefined;
  }

  // ---- writes -----------------------------------------------------------------------------

  #keyBuf(ns: string): Buffer {
    return Buffer.from(this.#keyPrefix + ns, "utf8");
  }

  /**
   * Runs one etcd call with a deadline; any failure of the call itself (etcd down, timed out,
   * refused) becomes DtabStoreUnavailableError, which the HTTP controller answers with 503.
   */
  async #call<T>(what: string, f: (deadline: number) => Promise<T>): Promise<T> {
    if (this.#loop.closed) throw new DtabStoreUnavailableError("the etcd dtab store is closed");
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new DtabStoreUnavailableError(
              `etcd at ${this.#endpoint} did not answer ${what} within ${this.#timeoutMs} ms`,
            ),
          ),
        this.#timeoutMs,
      );
    });
    try {
      return await Promise.race([f(Date.now() + this.#timeoutMs), timeout]);
    } catch (e) {
      if (e instanceof DtabStoreUnavailableError) throw e;
      throw new DtabStoreUnavailableError(
        `etcd at ${this.#endpoint} failed ${what}: ${messageOf(e)}`,
        { cause: e },
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The end of the key range holding every key that starts with `prefix`. */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  // Only 0xff bytes: etcd reads "\0" as "to the end of the keyspace".
  return Buffer.from([0]);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
