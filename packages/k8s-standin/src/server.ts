/**
 * The HTTP side of the stand-in: the Kubernetes REST paths we use, list / get / watch, with
 * chunked JSON-lines watch streams, bookmarks, 410 Gone and Status errors; create / replace /
 * delete for custom resources (custom-writes.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createObject, deleteObject, replaceObject, type WriteAnswer } from "./custom-writes.js";
import { type KindInfo, kindByPlural, qualifiedResource } from "./kinds.js";
import { parseFieldSelector, parseLabelSelector, SelectorParseError } from "./selector.js";
import { type StatusObject, status } from "./status.js";
import type { ObjectStore } from "./store.js";
import type { ChangeEvent, K8sObject, WatchEventType } from "./types.js";

export interface HandlerOptions {
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /** How often watches with allowWatchBookmarks=true get a BOOKMARK (default 1000 ms). */
  readonly bookmarkIntervalMs?: number | undefined;
}

/** One request the stand-in answered (tests assert on relists, resumptions, 410s). */
export interface RequestRecord {
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly verb: "list" | "watch" | "get" | "create" | "update" | "delete" | "other";
  readonly status: number;
}

interface Route {
  readonly info: KindInfo;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
}

/** Matches `/api/v1/...` and `/apis/<group>/<version>/...` collection and object paths. */
function route(pathname: string): Route | undefined {
  const parts = pathname.split("/").filter((p) => p.length > 0);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts[1] === "v1") {
    group = "";
    version = "v1";
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts[1] !== undefined && parts[2] !== undefined) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else return undefined;
  const decoded = rest.map((p) => decodeURIComponent(p));
  const [a, b, c, d, ...more] = decoded;
  if (more.length > 0 || a === undefined) return undefined;
  if (a === "namespaces" && b !== undefined && c !== undefined) {
    const info = kindByPlural(group, c, version);
    if (!info?.namespaced) return undefined;
    return { info, namespace: b, name: d };
  }
  if (c !== undefined) return undefined;
  const info = kindByPlural(group, a, version);
  if (!info) return undefined;
  if (b !== undefined && info.namespaced) return undefined;
  return { info, namespace: undefined, name: b };
}

/** Built-in kinds' list items carry no apiVersion and kind; custom resources' keep them. */
const forList =
  (info: KindInfo) =>
  (o: K8sObject): K8sObject => {
    if (info.custom) return o;
    const { apiVersion: _a, kind: _k, ...rest } = o;
    return rest as K8sObject;
  };

/** The largest request body accepted (the API server's limit is 3 MiB). */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

export class StandinHandler {
  readonly requests: RequestRecord[] = [];
  readonly #watches = new Set<ServerResponse>();

  constructor(
    private readonly store: ObjectStore,
    private readonly opts: HandlerOptions = {},
  ) {}

  /** How many watch streams are open. */
  get openWatches(): number {
    return this.#watches.size;
  }

  /** Cuts every open watch connection (as a network failure would). */
  dropWatches(): void {
    for (const res of [...this.#watches]) {
      this.#watches.delete(res);
      res.socket?.destroy();
      res.destroy();
    }
  }

  /** Ends every open watch with an ERROR 410 event (after a compaction). */
  expireWatches(): void {
    for (const res of [...this.#watches]) {
      this.#watches.delete(res);
      this.#writeEvent(res, "ERROR", this.#gone());
      res.end();
    }
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://standin");
    const query = Object.fromEntries(url.searchParams.entries());
    const record = (verb: RequestRecord["verb"], code: number) =>
      this.requests.push({ path: url.pathname, query, verb, status: code });

    if (
      this.opts.token !== undefined &&
      req.headers.authorization !== `Bearer ${this.opts.token}`
    ) {
      record("other", 401);
      this.#status(res, status(401, "Unauthorized"));
      return;
    }
    if (req.method !== "GET") {
      const w = req.method === "POST" || req.method === "PUT" || req.method === "DELETE";
      const r = w ? route(url.pathname) : undefined;
      if (r?.info.custom && r.namespace !== undefined) {
        this.#write(req, res, r, r.namespace, (verb, code) => record(verb, code));
        return;
      }
      record("other", 405);
      this.#status(
        res,
        status(405, "the server does not allow this method on the requested resource"),
      );
      return;
    }
    if (url.pathname === "/version") {
      record("other", 200);
      this.#json(res, 200, { major: "1", minor: "30", gitVersion: "v1.30.0-l5d-standin" });
      return;
    }
    const r = route(url.pathname);
    if (!r) {
      record("other", 404);
      this.#status(res, status(404, `the server could not find the requested resource`));
      return;
    }
    const watch = query.watch === "1" || query.watch === "true";
    if (r.name !== undefined) {
      record("get", this.#get(res, r));
      return;
    }
    let filter: (o: K8sObject) => boolean;
    try {
      const byLabel = parseLabelSelector(query.labelSelector);
      const byField = parseFieldSelector(query.fieldSelector);
      filter = (o) => byLabel(o) && byField(o);
    } catch (e) {
      if (!(e instanceof SelectorParseError)) throw e;
      record(watch ? "watch" : "list", 400);
      this.#status(res, status(400, e.message));
      return;
    }
    if (watch) {
      record("watch", 200);
      this.#watch(req, res, r, query, filter);
      return;
    }
    record("list", this.#list(res, r, query, filter));
  }

  /** POST to a namespaced collection, PUT or DELETE of one object, of a custom kind. */
  #write(
    req: IncomingMessage,
    res: ServerResponse,
    r: Route,
    namespace: string,
    record: (verb: RequestRecord["verb"], code: number) => void,
  ): void {
    const name = r.name;
    const answer = (verb: RequestRecord["verb"], a: WriteAnswer) => {
      record(verb, a.code);
      this.#json(res, a.code, a.body);
    };
    const refuse = () => {
      record("other", 405);
      this.#status(
        res,
        status(405, "the server does not allow this method on the requested resource"),
      );
    };
    if (req.method === "DELETE") {
      if (name === undefined) {
        refuse();
        return;
      }
      answer("delete", deleteObject(this.store, r.info, namespace, name));
      return;
    }
    const verb = req.method === "POST" ? "create" : "update";
    if ((verb === "create") !== (name === undefined)) {
      refuse();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on("end", () => {
      if (tooLarge) {
        answer(verb, { code: 413, body: status(413, "request entity too large") });
        return;
      }
      const text = Buffer.concat(chunks).toString("utf8");
      answer(
        verb,
        verb === "create"
          ? createObject(this.store, r.info, namespace, text)
          : replaceObject(this.store, r.info, namespace, name ?? "", text),
      );
    });
  }

  #get(res: ServerResponse, r: Route): number {
    const obj = this.store.get(r.info.kind, r.namespace, r.name ?? "");
    if (!obj) {
      const name = r.name ?? "";
      this.#status(
        res,
        status(404, `${qualifiedResource(r.info)} "${name}" not found`, "NotFound", {
          name,
          group: r.info.group,
          kind: r.info.plural,
        }),
      );
      return 404;
    }
    this.#json(res, 200, obj);
    return 200;
  }

  #list(
    res: ServerResponse,
    r: Route,
    query: Record<string, string>,
    filter: (o: K8sObject) => boolean,
  ): number {
    const rv = query.resourceVersion;
    if (
      query.resourceVersionMatch === "Exact" &&
      rv !== undefined &&
      Number(rv) < this.store.oldestResumable
    ) {
      this.#status(res, this.#gone());
      return 410;
    }
    const items = this.store.list(r.info.kind, r.namespace).filter(filter).map(forList(r.info));
    this.#json(res, 200, {
      kind: `${r.info.kind}List`,
      apiVersion: r.info.apiVersion,
      metadata: { resourceVersion: String(this.store.resourceVersion) },
      items,
    });
    return 200;
  }

  #watch(
    req: IncomingMessage,
    res: ServerResponse,
    r: Route,
    query: Record<string, string>,
    filter: (o: K8sObject) => boolean,
  ): void {
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-cache" });
    res.flushHeaders();
    const send = (ev: ChangeEvent) => {
      const now = filter(ev.object);
      const before =
        ev.previous !== undefined && ev.type === "MODIFIED" ? filter(ev.previous) : now;
      let type: WatchEventType = ev.type;
      if (ev.type === "MODIFIED" && now && !before) type = "ADDED";
      else if (ev.type === "MODIFIED" && !now && before) type = "DELETED";
      else if (!now) return;
      this.#writeEvent(res, type, ev.object);
    };
    const rvParam = query.resourceVersion;
    if (rvParam === undefined || rvParam === "" || rvParam === "0") {
      for (const o of this.store.list(r.info.kind, r.namespace).filter(filter))
        this.#writeEvent(res, "ADDED", o);
    } else {
      const from = Number(rvParam);
      if (!Number.isInteger(from)) {
        this.#writeEvent(res, "ERROR", status(400, `invalid resource version: ${rvParam}`));
        res.end();
        return;
      }
      if (from > this.store.resourceVersion) {
        this.#writeEvent(
          res,
          "ERROR",
          status(
            504,
            `Too large resource version: ${from}, current: ${this.store.resourceVersion}`,
            "Timeout",
          ),
        );
        res.end();
        return;
      }
      const past = this.store.changesSince(from, r.info.kind, r.namespace);
      if (past === "gone") {
        this.#writeEvent(res, "ERROR", this.#gone(from));
        res.end();
        return;
      }
      past.forEach(send);
    }
    const unsubscribe = this.store.subscribe((ev) => {
      if (ev.kind !== r.info.kind) return;
      if (r.namespace !== undefined && ev.namespace !== r.namespace) return;
      send(ev);
    });
    const timers: NodeJS.Timeout[] = [];
    if (query.allowWatchBookmarks === "true" || query.allowWatchBookmarks === "1") {
      const t = setInterval(() => {
        this.#writeEvent(res, "BOOKMARK", {
          apiVersion: r.info.apiVersion,
          kind: r.info.kind,
          metadata: { name: "", resourceVersion: String(this.store.resourceVersion) },
        });
      }, this.opts.bookmarkIntervalMs ?? 1000);
      timers.push(t);
    }
    const timeout = Number(query.timeoutSeconds);
    if (Number.isFinite(timeout) && timeout > 0) {
      timers.push(setTimeout(() => res.end(), timeout * 1000));
    }
    this.#watches.add(res);
    const cleanup = () => {
      unsubscribe();
      for (const t of timers) clearTimeout(t);
      this.#watches.delete(res);
    };
    res.on("close", cleanup);
    req.on("close", cleanup);
  }

  #gone(from?: number): StatusObject {
    const msg =
      from === undefined
        ? "too old resource version"
        : `too old resource version: ${from} (${this.store.oldestResumable})`;
    return status(410, msg, "Expired");
  }

  #writeEvent(res: ServerResponse, type: WatchEventType, object: unknown): void {
    if (res.writableEnded || res.destroyed) return;
    res.write(`${JSON.stringify({ type, object })}\n`);
  }

  #status(res: ServerResponse, s: StatusObject): void {
    this.#json(res, s.code, s);
  }

  #json(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
  }
}
