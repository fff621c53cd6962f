/**
 * A reflector keeps a local copy of one collection (a resource in a namespace, optionally
 * label-selected): list, then watch from the list's resourceVersion; resume the watch from
 * the last seen version when the stream ends; re-list on `410 Gone` (or any ERROR event);
 * reconnect with jittered backoff on connection loss; take BOOKMARK versions.
 */
import type { K8sApi, K8sNamespace, K8sObj, K8sResource, WatchHandle } from "./k8s-api.js";
import { type BackoffOptions, JitteredBackoff } from "./k8s-backoff.js";
import type { K8sApiError } from "./k8s-errors.js";

export interface ReflectorLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface ReflectorOptions {
  readonly api: K8sApi;
  readonly resource: K8sResource;
  /** `null` watches every namespace; objects are then keyed `<namespace>/<name>`. */
  readonly namespace: K8sNamespace;
  readonly labelSelector?: string | undefined;
  readonly backoff?: BackoffOptions | undefined;
  readonly log?: ReflectorLogger | undefined;
  /** Called after the initial list and after every change. */
  readonly onChange: () => void;
}

/** Counters shown in the namer state and used by tests. */
export interface ReflectorStats {
  lists: number;
  watches: number;
  /** 410 Gone (or other ERROR events) that forced a re-list. */
  relists: number;
  /** Streams that ended in an error (connection loss, refused). */
  errors: number;
  bookmarks: number;
  events: number;
}

export type ReflectorPhase = "listing" | "watching" | "backoff" | "closed";

export class Reflector {
  /** By name (or `<namespace>/<name>` for a cluster-wide reflector). */
  readonly objects = new Map<string, K8sObj>();
  readonly stats: ReflectorStats = {
    lists: 0,
    watches: 0,
    relists: 0,
    errors: 0,
    bookmarks: 0,
    events: 0,
  };
  phase: ReflectorPhase = "listing";
  /** True once the first list succeeded. */
  synced = false;
  resourceVersion: string | undefined;
  lastError: string | undefined;
  readonly #backoff: JitteredBackoff;
  #timer: NodeJS.Timeout | undefined;
  #watch: WatchHandle | undefined;

  constructor(private readonly opts: ReflectorOptions) {
    this.#backoff = new JitteredBackoff(opts.backoff);
  }

  start(): void {
    void this.#list();
  }

  close(): void {
    this.phase = "closed";
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#watch?.close();
    this.#watch = undefined;
  }

  async #list(): Promise<void> {
    if (this.phase === "closed") return;
    this.phase = "listing";
    this.stats.lists++;
    const { api, resource, namespace, labelSelector } = this.opts;
    try {
      const list = await api.list(resource, namespace, labelSelector);
      if (this.#isClosed()) return;
      this.objects.clear();
      for (const item of list.items) {
        const key = this.#key(item);
        if (key) this.objects.set(key, item);
      }
      this.resourceVersion = list.resourceVersion;
      this.synced = true;
      this.lastError = undefined;
      this.#backoff.reset();
      this.opts.onChange();
      this.#startWatch();
    } catch (e) {
      if (this.#isClosed()) return;
      this.#fail(e as Error, () => void this.#list());
    }
  }

  #startWatch(): void {
    if (this.phase === "closed") return;
    this.phase = "watching";
    this.stats.watches++;
    let gone = false;
    let sawEvent = false;
    const { api, resource, namespace, labelSelector } = this.opts;
    this.#watch = api.watch(
      resource,
      namespace,
      { resourceVersion: this.resourceVersion ?? "", labelSelector },
      (type, object) => {
        sawEvent = true;
        const rv = object.metadata?.resourceVersion;
        switch (type) {
          case "ADDED":
          case "MODIFIED":
          case "DELETED": {
            this.stats.events++;
            if (rv) this.resourceVersion = rv;
            const key = this.#key(object);
            if (!key) return;
            if (type === "DELETED") this.objects.delete(key);
            else this.objects.set(key, object);
            this.opts.onChange();
            return;
          }
          case "BOOKMARK":
            this.stats.bookmarks++;
            if (rv) this.resourceVersion = rv;
            return;
          case "ERROR": {
            // 410 Gone (expired version) or any other Status: start over with a list.
            gone = true;
            const code = (object as { code?: unknown }).code;
            this.opts.log?.info(
              { resource, namespace, code, message: object.message },
              "k8s watch error; re-listing",
            );
            return;
          }
        }
      },
      (err) => {
        this.#watch = undefined;
        if (this.phase === "closed") return;
        if (gone || err?.code === 410) {
          this.stats.relists++;
          this.#backoff.reset();
          this.#schedule(0, () => void this.#list());
          return;
        }
        if (err) {
          this.#fail(err, () => this.#startWatch());
          return;
        }
        // A clean end (server timeout): resume from the last version.
        if (sawEvent) this.#backoff.reset();
        this.#schedule(this.#backoff.next(), () => this.#startWatch());
      },
    );
  }

  #key(o: K8sObj): string | undefined {
    const name = o.metadata?.name;
    if (!name) return undefined;
    return this.opts.namespace === null ? `${o.metadata?.namespace ?? ""}/${name}` : name;
  }

  #isClosed(): boolean {
    return this.phase === "closed";
  }

  #fail(err: Error | K8sApiError, retry: () => void): void {
    this.stats.errors++;
    this.lastError = err.message;
    const delay = this.#backoff.next();
    this.opts.log?.warn(
      {
        resource: this.opts.resource,
        namespace: this.opts.namespace,
        err: err.message,
        retryInMs: delay,
      },
      "k8s API request failed; retrying",
    );
    this.phase = "backoff";
    this.#schedule(delay, retry);
  }

  #schedule(ms: number, f: () => void): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.phase !== "closed") f();
    }, ms);
    this.#timer.unref();
  }
}
