/**
 * `io.l5d.k8s`: dtabs kept as Kubernetes custom resources (Linkerd's K8sDtabStore). Each
 * namespace is one `DTab` object (group `l5d.io`, version `v1alpha1`, plural `dtabs`: the CRD
 * of deploy/k8s-namerd/dtab-crd.yaml) named as the namespace, in one Kubernetes namespace,
 * holding Linkerd's wire shape: `dentries: [{prefix, dst}]`. A dtab's version is its object's
 * `metadata.resourceVersion`; `update` is a replace carrying that version, which the API server
 * refuses with 409 Conflict once the object has changed. Objects Linkerd 1 wrote read as they
 * are, and what this store writes Linkerd 1 can read.
 *
 * Reads come from one list+watch per store, started on the first observation: a list, then a
 * watch from its resourceVersion, resumed from the last version seen when the stream ends and
 * started over with a list when the server answers 410 Gone. While the API server cannot be
 * reached the store keeps serving what it last saw, reports itself unhealthy, and retries with
 * jittered backoff; writes fail with DtabStoreUnavailableError within the request timeout.
 * Successful writes update the store at once (read-your-writes), without waiting for the watch.
 */
import { createRequire } from "node:module";
import type * as K8sClient from "@kubernetes/client-node";
import type {
  ConfigurationOptions,
  CustomObjectsApi,
  KubeConfig,
  RequestContext,
  ResponseContext,
  Watch,
} from "@kubernetes/client-node";
import type { PluginLogger } from "@l5d/config";
import { Activity, type Dtab } from "@l5d/dtab";
import {
  type BackoffOptions,
  JitteredBackoff,
  K8sApiError,
  type K8sConnection,
  makeKubeConfig,
} from "@l5d/namers";
import { dtabFromJson, dtabToJson } from "../interfaces/dtab-codec.js";
import {
  DtabNamespaceAlreadyExistsError,
  DtabNamespaceDoesNotExistError,
  DtabNamespaceInvalidError,
  type DtabStore,
  DtabStoreUnavailableError,
  DtabVersionMismatchError,
  type VersionedDtab,
} from "./dtab-store.js";
import { WatchLoop } from "./watch-loop.js";
import { ABSENT, type NsState, WatchedDtabs } from "./watched-dtabs.js";

/** The custom resource Linkerd 1 defined for its dtabs (its docs' CRD, unchanged). */
export const DTAB_GROUP = "l5d.io";
export const DTAB_VERSION = "v1alpha1";
export const DTAB_PLURAL = "dtabs";
export const DTAB_KIND = "DTab";
export const DTAB_API_VERSION = `${DTAB_GROUP}/${DTAB_VERSION}`;

export interface K8sDtabStoreOptions {
  /** How to reach the API server (Linkerd's: a `kubectl proxy` at localhost:8001). */
  readonly connection: K8sConnection;
  /** The Kubernetes namespace holding the DTab objects (Linkerd's default `default`). */
  readonly namespace?: string;
  readonly log?: PluginLogger;
  /** How long one API call (or a watch's connection) may take before it fails (default 5 s). */
  readonly requestTimeoutMs?: number;
  /** Delays between retries of a lost list or watch (default 10 ms doubling to 10 s, jittered). */
  readonly backoff?: BackoffOptions;
  /** The API server ends each watch after this long; it is then resumed (default 300 s). */
  readonly watchTimeoutSeconds?: number;
}

/** A DTab object as the API returns it (fields read defensively). */
export interface DtabObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    [key: string]: unknown;
  };
  dentries?: unknown;
  [key: string]: unknown;
}

/** Counters for state() and the tests: lists, watches, relists (410), errors, events. */
export interface K8sDtabStoreStats {
  lists: number;
  watches: number;
  relists: number;
  errors: number;
  events: number;
}

const SILENT: PluginLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** Kubernetes object names: lowercase RFC 1123 subdomains. Others cannot be stored. */
const OBJECT_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** resourceVersions are etcd revisions in every API server; only these are compared. */
const DECIMAL_RE = /^[0-9]+$/;

/** How many times put() retries a replace that lost a race with another writer. */
const PUT_ATTEMPTS = 5;

let k8sClient: typeof K8sClient | undefined;
/** `@kubernetes/client-node`, loaded on first use: only namerds with this store pay for it. */
function client(): typeof K8sClient {
  k8sClient ??= createRequire(import.meta.url)("@kubernetes/client-node") as typeof K8sClient;
  return k8sClient;
}

/** Whether resourceVersion `a` is later than `b` (versions that cannot be ordered: when they differ). */
function newer(a: string, b: string): boolean {
  if (DECIMAL_RE.test(a) && DECIMAL_RE.test(b)) return BigInt(a) > BigInt(b);
  return a !== b;
}

/** A failed API call: the HTTP status and the Status object's reason when the server answered. */
class ApiCallError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
    readonly reason: string | undefined,
  ) {
    super(message);
  }
}

export function isStorableNamespace(ns: string): boolean {
  return ns.length <= 253 && OBJECT_NAME_RE.test(ns);
}

export class K8sDtabStore implements DtabStore {
  readonly #namespace: string;
  readonly #log: PluginLogger;
  readonly #timeoutMs: number;
  readonly #watchTimeoutSeconds: number;
  readonly #backoff: JitteredBackoff;
  /** Aborts every request in flight when the store closes. */
  readonly #closing = new AbortController();
  readonly #kubeConfig: KubeConfig;
  /** The API server's URL (for logs and state()). */
  readonly server: string;
  #api: CustomObjectsApi | undefined;
  #watcher: Watch | undefined;

  /**
   * Known objects by name, at their resourceVersions; the values are the objects themselves,
   * so that replaces keep their labels and annotations.
   */
  readonly #dtabs = new WatchedDtabs<string, DtabObject>({
    newer,
    parse: (ns, rv, obj) => this.#parse(ns, rv, obj),
  });
  readonly stats: K8sDtabStoreStats = { lists: 0, watches: 0, relists: 0, errors: 0, events: 0 };
  /** Where the watch resumes; undefined when the next step is a list. */
  #rv: string | undefined;
  #connected = false;
  readonly #loop = new WatchLoop(() => this.#run());
  #stopWatch: (() => void) | undefined;
  /** Failed lists and watches since the last success (to log an outage once). */
  #failures = 0;

  /** Throws K8sConfigError for a connection that cannot work (inCluster outside a pod). */
  constructor(options: K8sDtabStoreOptions) {
    this.#namespace = options.namespace ?? "default";
    this.#log = options.log ?? SILENT;
    this.#timeoutMs = options.requestTimeoutMs ?? 5_000;
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
    this.#backoff = new JitteredBackoff(options.backoff);
    this.#kubeConfig = makeKubeConfig(options.connection);
    this.server = this.#kubeConfig.getCurrentCluster()?.server ?? "";
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
    this.#requireStorable(ns);
    try {
      const created = await this.#call("create", (api, options) =>
        api.createNamespacedCustomObject(
          { ...this.#coords(), body: this.#body(ns, dtab, undefined, undefined) },
          options,
        ),
      );
      this.#applyWrite(created as DtabObject);
    } catch (e) {
      if (e instanceof ApiCallError && e.code === 409)
        throw new DtabNamespaceAlreadyExistsError(ns);
      throw this.#mapped(e, "create", ns);
    }
  }

  async update(ns: string, dtab: Dtab, version: string): Promise<void> {
    if (!isStorableNamespace(ns)) throw new DtabNamespaceDoesNotExistError(ns);
    // The replace starts from the object at `version`: ours if the watch has brought it,
    // else read (and if that is not `version`, the replace could only conflict).
    const known = this.#dtabs.entry(ns)?.value;
    let base = known?.metadata?.resourceVersion === version ? known : undefined;
    if (base === undefined) {
      const cur = await this.#get(ns);
      if (cur === null) throw new DtabNamespaceDoesNotExistError(ns);
      const actual = cur.metadata?.resourceVersion ?? "";
      if (actual !== version) throw new DtabVersionMismatchError(ns, version, actual);
      base = cur;
    }
    try {
      await this.#replace(ns, dtab, version, base);
    } catch (e) {
      if (e instanceof ApiCallError && e.code === 404) throw new DtabNamespaceDoesNotExistError(ns);
      if (e instanceof ApiCallError && e.code === 409) {
        // Stale: read the current version for the error (or find the object gone).
        const cur = await this.#get(ns);
        if (cur === null) throw new DtabNamespaceDoesNotExistError(ns);
        throw new DtabVersionMismatchError(ns, version, cur.metadata?.resourceVersion ?? "");
      }
      throw this.#mapped(e, "update", ns);
    }
  }

  /**
   * Creates or replaces unconditionally. Custom resources take no unconditional replace, so
   * this reads the object and replaces that version (Linkerd's put), trying again when another
   * writer got in between, up to a few times.
   */
  async put(ns: string, dtab: Dtab): Promise<void> {
    this.#requireStorable(ns);
    let last = "";
    for (let attempt = 0; attempt < PUT_ATTEMPTS; attempt++) {
      const cur = await this.#get(ns);
      try {
        if (cur === null) {
          const created = await this.#call("put", (api, options) =>
            api.createNamespacedCustomObject(
              { ...this.#coords(), body: this.#body(ns, dtab, undefined, undefined) },
              options,
            ),
          );
          this.#applyWrite(created as DtabObject);
          return;
        }
      } catch (e) {
        // Created by someone else meanwhile: read it again.
        if (e instanceof ApiCallError && e.code === 409) continue;
        throw this.#mapped(e, "put", ns);
      }
      last = cur.metadata?.resourceVersion ?? "";
      try {
        await this.#replace(ns, dtab, last, cur);
        return;
      } catch (e) {
        // Replaced or deleted by someone else meanwhile: read it again.
        if (e instanceof ApiCallError && (e.code === 409 || e.code === 404)) continue;
        throw this.#mapped(e, "put", ns);
      }
    }
    const cur = await this.#get(ns);
    throw new DtabVersionMismatchError(ns, last, cur?.metadata?.resourceVersion ?? "");
  }

  async delete(ns: string): Promise<void> {
    if (!isStorableNamespace(ns)) throw new DtabNamespaceDoesNotExistError(ns);
    try {
      const res = (await this.#call("delete", (api, options) =>
        api.deleteNamespacedCustomObject({ ...this.#coords(), name: ns }, options),
      )) as DtabObject | undefined;
      // The answer is a Status, or (some servers) the deleted object with its last version.
      this.#applyDeleteWrite(
        ns,
        res?.kind === DTAB_KIND ? res.metadata?.resourceVersion : undefined,
      );
    } catch (e) {
      if (e instanceof ApiCallError && e.code === 404) throw new DtabNamespaceDoesNotExistError(ns);
      throw this.#mapped(e, "delete", ns);
    }
  }

  /**
   * Whether the store's watch on the API server is up. Asking starts the watch if nothing has
   * observed the store yet, so a health probe reports on the API server, not on an idle store.
   */
  healthy(): boolean {
    this.#loop.start();
    return this.#connected;
  }

  /** A JSON-able snapshot (Linkerd's `storage/dtabs.json` admin page showed the same). */
  state(): object {
    const dtabs: Record<string, { version: string; dtab: string } | { error: string }> = {};
    for (const [ns, e] of this.#dtabs.entries()) {
      if (e.state.kind === "ok" && e.state.value !== null)
        dtabs[ns] = { version: e.state.value.version, dtab: e.state.value.dtab.show };
      else if (e.state.kind === "failed") dtabs[ns] = { error: e.state.error.message };
    }
    return {
      server: this.server,
      namespace: this.#namespace,
      synced: this.#dtabs.synced,
      connected: this.#connected,
      resourceVersion: this.#rv ?? null,
      stats: { ...this.stats },
      dtabs,
    };
  }

  async close(): Promise<void> {
    if (this.#loop.closed) return;
    this.#loop.close();
    this.#connected = false;
    this.#closing.abort();
    this.#stopWatch?.();
    await this.#loop.ended(this.#timeoutMs);
  }

  // ---- reads ------------------------------------------------------------------------------

  /** Lists and watches until closed, resuming or starting over after every interruption. */
  async #run(): Promise<void> {
    let expiredInARow = 0;
    while (!this.#loop.closed) {
      let delay: number;
      try {
        if (this.#rv === undefined) await this.#listOnce();
        if (this.#loop.closed || this.#rv === undefined) break;
        const end = await this.#watchOnce(this.#rv);
        if (end.sawEvents) expiredInARow = 0;
        if (end.expired) {
          // 410 Gone (or another ERROR event): the version is too old to resume; list again.
          this.#rv = undefined;
          this.stats.relists++;
          delay = expiredInARow++ === 0 ? 0 : this.#backoff.next();
        } else {
          // The server ended the watch (its timeout, or a dropped connection): resume.
          delay = this.#backoff.next();
        }
      } catch (e) {
        if (this.#loop.closed) break;
        this.#failures += 1;
        this.stats.errors++;
        delay = this.#backoff.next();
        // Warn once per outage; the retries every few seconds after it are debug noise.
        (this.#failures === 1 ? this.#log.warn : this.#log.debug).call(
          this.#log,
          { server: this.server, namespace: this.#namespace, err: messageOf(e), retryInMs: delay },
          this.#dtabs.synced
            ? "k8s dtab store: lost the API server's dtabs, serving the last known ones"
            : "k8s dtab store: cannot read the API server's dtabs, none to serve yet",
        );
        if (!this.#dtabs.synced) this.#failUnsynced(e);
      }
      this.#connected = false;
      if (this.#loop.closed) break;
      await this.#loop.sleep(delay);
    }
  }

  async #listOnce(): Promise<void> {
    this.stats.lists++;
    let list: { items?: unknown; metadata?: { resourceVersion?: string } };
    try {
      list = await this.#call("list", (api, options) =>
        api.listNamespacedCustomObject(this.#coords(), options),
      );
    } catch (e) {
      if (e instanceof ApiCallError && e.code === 404)
        throw new Error(
          `${e.message} (is the ${DTAB_PLURAL}.${DTAB_GROUP} CustomResourceDefinition installed? see deploy/k8s-namerd/dtab-crd.yaml)`,
        );
      throw e;
    }
    if (this.#loop.closed) return;
    const rv = list.metadata?.resourceVersion;
    if (rv === undefined || rv === "")
      throw new Error("the API server's DTab list has no resourceVersion");
    const items = Array.isArray(list.items) ? (list.items as DtabObject[]) : [];
    this.#applySnapshot(items, rv);
    this.#rv = rv;
    this.#backoff.reset();
    this.#recovered();
  }

  /** A list or watch worked: the end of an outage, if there was one. */
  #recovered(): void {
    if (this.#failures === 0) return;
    this.#failures = 0;
    this.#log.info({ server: this.server }, "k8s dtab store: the API server is back");
  }

  /**
   * One watch from `rv`; settles when it ends: resolves on a clean end (or an ERROR event,
   * `expired`), rejects when it could not connect or broke.
   */
  #watchOnce(rv: string): Promise<{ expired: boolean; sawEvents: boolean }> {
    this.stats.watches++;
    const path = `/apis/${DTAB_GROUP}/${DTAB_VERSION}/namespaces/${encodeURIComponent(this.#namespace)}/${DTAB_PLURAL}`;
    const query = {
      resourceVersion: rv,
      allowWatchBookmarks: "true",
      timeoutSeconds: String(this.#watchTimeoutSeconds),
    };
    return new Promise((resolve, reject) => {
      let settled = false;
      let expired = false;
      let sawEvents = false;
      let connectedAt = 0;
      let controller: AbortController | undefined;
      // client-node's watch has no connect timeout: give up on one the server never answers.
      const connectTimer = setTimeout(
        () =>
          finish(new Error(`the API server did not answer the watch within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
      const finish = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        this.#connected = false;
        this.#stopWatch = undefined;
        controller?.abort();
        // A watch that stayed up a while was a success, whatever ended it.
        if (sawEvents || (connectedAt > 0 && Date.now() - connectedAt >= 1_000))
          this.#backoff.reset();
        const code = (err as { statusCode?: unknown } | null)?.statusCode;
        if (code === 410) expired = true;
        if (err && !expired && !this.#loop.closed) reject(err);
        else resolve({ expired, sawEvents });
      };
      this.#stopWatch = () => finish(null);
      this.#watch()
        .watch(
          path,
          query,
          (type: string, obj: unknown) => {
            if (settled) return;
            sawEvents = true;
            this.#onEvent(type, obj as DtabObject, () => {
              expired = true;
            });
          },
          (err: unknown) => finish(err ?? null),
        )
        .then(
          (c) => {
            controller = c;
            if (settled) {
              c.abort();
              return;
            }
            clearTimeout(connectTimer);
            connectedAt = Date.now();
            this.#connected = true;
            this.#recovered();
          },
          (e: unknown) => finish(e),
        );
    });
  }

  #onEvent(type: string, obj: DtabObject, onExpired: () => void): void {
    const rv = obj?.metadata?.resourceVersion;
    switch (type) {
      case "ADDED":
      case "MODIFIED":
      case "DELETED": {
        this.stats.events++;
        if (rv !== undefined && rv !== "") this.#rv = rv;
        const name = obj.metadata?.name;
        if (name === undefined || rv === undefined) return;
        this.#dtabs.change([name, rv, type === "DELETED" ? undefined : obj]);
        return;
      }
      case "BOOKMARK":
        if (rv !== undefined && rv !== "") this.#rv = rv;
        return;
      case "ERROR": {
        const s = obj as { code?: unknown; message?: unknown };
        this.#log.info(
          { server: this.server, code: s.code, message: s.message },
          "k8s dtab store: the watch expired; listing again",
        );
        onExpired();
        return;
      }
    }
  }

  /** A full list at `rv`: every object present, every other known one deleted by then. */
  #applySnapshot(items: readonly DtabObject[], rv: string): void {
    const first = !this.#dtabs.synced;
    const listed = this.#dtabs.snapshot(present(items), rv);
    if (first)
      this.#log.info(
        { server: this.server, namespace: this.#namespace, dtabs: listed },
        "k8s dtab store: listed the dtabs",
      );
  }

  /** The state a successful write of ours leads to, without waiting for the watch to echo it. */
  #applyWrite(obj: DtabObject): void {
    const name = obj?.metadata?.name;
    const rv = obj?.metadata?.resourceVersion;
    if (name === undefined || rv === undefined) return;
    this.#dtabs.change([name, rv, obj]);
  }

  /** Our delete succeeded: absent from its last version on (a later re-creation wins). */
  #applyDeleteWrite(ns: string, answeredRv: string | undefined): void {
    const prev = this.#dtabs.entry(ns);
    let rv = prev?.rev ?? answeredRv;
    if (rv === undefined) return;
    if (answeredRv !== undefined && newer(answeredRv, rv)) rv = answeredRv;
    else if (prev !== undefined && prev.state === ABSENT) return;
    this.#dtabs.markDeleted(ns, rv);
  }

  #parse(ns: string, rv: string, obj: DtabObject): NsState {
    try {
      return Activity.ok({ dtab: dtabFromJson(obj.dentries ?? []), version: rv });
    } catch (e) {
      const where = `${this.#namespace}/${ns}`;
      this.#log.error(
        { object: where, version: rv, err: messageOf(e) },
        "k8s dtab store: the DTab object's dentries do not parse",
      );
      return Activity.failed(
        new Error(`invalid dtab in ${DTAB_KIND} ${where}: ${messageOf(e)}`, { cause: e }),
      );
    }
  }

  /** No copy to serve and the API server unreachable: observers see a failure, not a wait. */
  #failUnsynced(cause: unknown): void {
    this.#dtabs.failUnsynced(
      new DtabStoreUnavailableError(
        `cannot read dtabs from the Kubernetes API at ${this.server}: ${messageOf(cause)}`,
        { cause },
      ),
    );
  }

  // ---- API calls --------------------------------------------------------------------------

  #customObjects(): CustomObjectsApi {
    this.#api ??= this.#kubeConfig.makeApiClient(client().CustomObjectsApi);
    return this.#api;
  }

  #watch(): Watch {
    this.#watcher ??= new (client().Watch)(this.#kubeConfig);
    return this.#watcher;
  }

  #coords(): { group: string; version: string; namespace: string; plural: string } {
    return {
      group: DTAB_GROUP,
      version: DTAB_VERSION,
      namespace: this.#namespace,
      plural: DTAB_PLURAL,
    };
  }

  /**
   * The object to write: Linkerd's shape (apiVersion, kind, metadata.name, dentries). A replace
   * starts from the object as read, so labels, annotations and other fields survive it.
   */
  #body(
    ns: string,
    dtab: Dtab,
    resourceVersion: string | undefined,
    base: DtabObject | undefined,
  ): DtabObject {
    const metadata: NonNullable<DtabObject["metadata"]> = {
      ...(base?.metadata ?? {}),
      name: ns,
      namespace: this.#namespace,
    };
    if (resourceVersion !== undefined) metadata.resourceVersion = resourceVersion;
    else delete metadata.resourceVersion;
    return {
      ...(base ?? {}),
      apiVersion: DTAB_API_VERSION,
      kind: DTAB_KIND,
      metadata,
      dentries: dtabToJson(dtab),
    };
  }

  async #replace(
    ns: string,
    dtab: Dtab,
    version: string,
    base: DtabObject | undefined,
  ): Promise<void> {
    const replaced = await this.#call("update", (api, options) =>
      api.replaceNamespacedCustomObject(
        { ...this.#coords(), name: ns, body: this.#body(ns, dtab, version, base) },
        options,
      ),
    );
    this.#applyWrite(replaced as DtabObject);
  }

  /** The object as the API server has it now, or null. */
  async #get(ns: string): Promise<DtabObject | null> {
    try {
      return (await this.#call("get", (api, options) =>
        api.getNamespacedCustomObject({ ...this.#coords(), name: ns }, options),
      )) as DtabObject;
    } catch (e) {
      if (e instanceof ApiCallError && e.code === 404) return null;
      throw this.#mapped(e, "get", ns);
    }
  }

  /**
   * Runs one API call with a deadline. Rejects with ApiCallError: `code` is the HTTP status
   * when the server answered, undefined when it could not be reached or did not answer in time.
   */
  async #call<T>(
    what: string,
    f: (api: CustomObjectsApi, options: ConfigurationOptions) => Promise<T>,
  ): Promise<T> {
    if (this.#loop.closed) throw new DtabStoreUnavailableError("the k8s dtab store is closed");
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    const signal = AbortSignal.any([deadline, this.#closing.signal]);
    const Observable = client().Observable;
    const options: ConfigurationOptions = {
      middleware: [
        {
          pre: (ctx: RequestContext) => {
            ctx.setSignal(signal);
            return new Observable(Promise.resolve(ctx));
          },
          post: (ctx: ResponseContext) => new Observable(Promise.resolve(ctx)),
        },
      ],
      middlewareMergeStrategy: "append",
    };
    try {
      return await f(this.#customObjects(), options);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === "number") {
        const s = statusOf((e as { body?: unknown }).body);
        throw new ApiCallError(
          `the Kubernetes API answered ${what} with ${code}${s.reason ? ` ${s.reason}` : ""}: ${s.message ?? "no message"}`,
          code,
          s.reason,
        );
      }
      const message = deadline.aborted
        ? `the Kubernetes API at ${this.server} did not answer ${what} within ${this.#timeoutMs} ms`
        : this.#closing.signal.aborted
          ? `the k8s dtab store closed during ${what}`
          : `cannot reach the Kubernetes API at ${this.server} (${what}): ${messageOf(e)}`;
      throw new ApiCallError(message, undefined, undefined);
    }
  }

  /**
   * What a failed call becomes: unreachable, timed out, overloaded (429) or failing (5xx)
   * servers are DtabStoreUnavailableError (the controller's 503); other answers (403 from
   * RBAC, 422 from validation, ...) a K8sApiError with the server's message.
   */
  #mapped(e: unknown, what: string, ns: string): Error {
    if (!(e instanceof ApiCallError)) return e instanceof Error ? e : new Error(String(e));
    if (e.code === undefined || e.code === 429 || e.code >= 500)
      return new DtabStoreUnavailableError(e.message, { cause: e });
    return new K8sApiError(`${what} ${DTAB_KIND} ${this.#namespace}/${ns}: ${e.message}`, e.code);
  }

  #requireStorable(ns: string): void {
    if (!isStorableNamespace(ns))
      throw new DtabNamespaceInvalidError(
        ns,
        "cannot be stored in Kubernetes: object names are lowercase letters, digits, '-' and '.' (RFC 1123), starting and ending with a letter or digit",
      );
  }
}

/** The named, versioned objects of a list, as namespaces at their resourceVersions. */
function* present(items: readonly DtabObject[]): Iterable<[string, string, DtabObject]> {
  for (const o of items) {
    const name = o.metadata?.name;
    const v = o.metadata?.resourceVersion;
    if (name !== undefined && v !== undefined) yield [name, v, o];
  }
}

/** The reason and message of a Status body (client-node hands error bodies over as text). */
function statusOf(body: unknown): { reason?: string; message?: string } {
  let v = body;
  if (typeof body === "string") {
    try {
      v = JSON.parse(body);
    } catch {
      return { message: body.slice(0, 200) };
    }
  }
  if (typeof v !== "object" || v === null) return {};
  const s = v as { reason?: unknown; message?: unknown };
  const out: { reason?: string; message?: string } = {};
  if (typeof s.reason === "string") out.reason = s.reason;
  if (typeof s.message === "string") out.message = s.message;
  return out;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
