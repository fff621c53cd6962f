/**
 * `io.l5d.httpController` (default 127.0.0.1:4180): namerd's read-write HTTP API, the one
 * namerctl and `io.l5d.namerd.http` linkers use (Linkerd's HttpControlService):
 *
 *   GET    /api/1/dtabs                     namespaces (`?watch=true` streams)
 *   HEAD   /api/1/dtabs/<ns>                the version in `ETag`
 *   GET    /api/1/dtabs/<ns>                the dtab (`Accept: application/json | application/dtab`)
 *   POST   /api/1/dtabs/<ns>                create: 204, 409 if it exists, 400 on a bad dtab
 *   PUT    /api/1/dtabs/<ns>                replace: `If-Match: <etag>` → 412 on a stale version
 *   DELETE /api/1/dtabs/<ns>                204, 404
 *   GET    /api/1/bind/<ns>?path=&dtab=     the bound tree (Linkerd's delegate JSON shape)
 *   GET    /api/1/addr/<ns>?path=           the addresses of a bound id
 *   GET    /api/1/resolve/<ns>?path=&dtab=  bind, then the addresses of one chosen leaf
 *   GET    /api/1/delegate/<ns>?path=&dtab= the delegation explanation
 *   GET    /api/1/bound-names               ids bound so far
 *
 * ETags are the store's version in base64 (as Linkerd sends them). Every read takes
 * `?watch=true` for a newline-delimited stream of changes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type PluginFactory, pluginCommonShape, port, positiveInt } from "@l5d/config";
import {
  Activity,
  type Addr,
  addrToJson,
  Dentry,
  Dtab,
  delegateFromNameTree,
  delegateTreeToJsonString,
  type NameBound,
  type NameTree,
  Path,
  resolveDelegateAddrs,
  Var,
} from "@l5d/dtab";
import { z } from "zod";
import type { Namespaces } from "../namespaces.js";
import {
  DtabNamespaceAlreadyExistsError,
  DtabNamespaceDoesNotExistError,
  DtabNamespaceInvalidError,
  DtabStoreUnavailableError,
  DtabVersionMismatchError,
  NAMESPACE_RE,
} from "../storage/dtab-store.js";
import { codecForAccept, codecForContentType } from "./dtab-codec.js";
import { BodyTooLargeError, readLimitedBody } from "./http-body.js";
import { streamActivity } from "./http-streaming.js";
import { listenTracked } from "./listen.js";
import type { InterfaceContext, ListeningInterface, NamerdInterface } from "./namerd-interface.js";

export const HTTP_CONTROLLER_PORT = 4180;
/** The largest dtab body accepted by POST/PUT. */
export const MAX_DTAB_BODY_BYTES = 1 << 20;
/** Open connections (each watch is one) beyond which new ones are refused. */
export const MAX_CONNECTIONS = 10_000;
/** How long a non-watch read waits for a name to bind before answering 503. */
export const READ_TIMEOUT_MS = 10_000;

export const httpControllerSchema = z.strictObject({
  ...pluginCommonShape,
  kind: z.literal("io.l5d.httpController"),
  ip: z.string().default("127.0.0.1"),
  port: port().default(HTTP_CONTROLLER_PORT),
  /** Ours: connections at once (each watch holds one); more are refused until one leaves. */
  maxConnections: positiveInt().default(MAX_CONNECTIONS),
});
export type HttpControllerConfig = z.infer<typeof httpControllerSchema>;

export const httpControllerFactory: PluginFactory<HttpControllerConfig, NamerdInterface> = {
  kind: "io.l5d.httpController",
  schema: httpControllerSchema,
  make: (config) => ({ kind: config.kind, listen: (ctx) => listen(config, ctx) }),
};

const API = "/api/1";
const JSON_TYPE = "application/json";

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** `version` as the `ETag` Linkerd sends (base64 of the version bytes). */
export function versionToEtag(version: string): string {
  return Buffer.from(version, "utf8").toString("base64");
}

/** An `If-Match` value back to a store version (quotes tolerated). */
export function etagToVersion(etag: string): string {
  const t = etag
    .trim()
    .replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1");
  return Buffer.from(t, "base64").toString("utf8");
}

async function listen(
  config: HttpControllerConfig,
  ctx: InterfaceContext,
): Promise<ListeningInterface> {
  const server = createServer((req, res) => {
    handle(req, res, ctx).catch((e: unknown) => fail(res, e, ctx));
  });
  // a bounded number of clients: each watch holds a connection and its observations
  server.maxConnections = config.maxConnections;
  server.headersTimeout = 10_000;
  const listening = await listenTracked(server, config.port, config.ip);
  const a = listening.address;
  ctx.log.info({ ip: a.address, port: a.port }, "namerd http controller listening");
  return { host: a.address, port: a.port, close: listening.close };
}

function fail(res: ServerResponse, e: unknown, ctx: InterfaceContext): void {
  let status = 500;
  let message = e instanceof Error ? e.message : String(e);
  if (e instanceof HttpError) status = e.status;
  else if (e instanceof BodyTooLargeError) {
    status = 413;
    message = `the dtab is larger than ${e.limit} bytes`;
  } else if (e instanceof DtabNamespaceDoesNotExistError) status = 404;
  else if (e instanceof DtabNamespaceAlreadyExistsError) status = 409;
  else if (e instanceof DtabVersionMismatchError) status = 412;
  else if (e instanceof DtabStoreUnavailableError) status = 503;
  else if (e instanceof DtabNamespaceInvalidError) status = 400;
  else ctx.log.error({ err: message }, "namerd http controller request failed");
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (!message.endsWith("\n")) message += "\n";
  if (status === 413) res.setHeader("connection", "close");
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(message);
}

function send(res: ServerResponse, status: number, body?: string, type = JSON_TYPE): void {
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(status, { "content-type": type });
  res.end(body);
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: InterfaceContext,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://namerd");
  const p = url.pathname;
  const q = url.searchParams;
  const watch = q.get("watch") === "true" || q.get("watch") === "1";
  const ns = ctx.namespaces;
  if (p === `${API}/dtabs` || p === `${API}/dtabs/`) return dtabList(req, res, ns, watch);
  if (p.startsWith(`${API}/dtabs/`)) return dtabOne(req, res, ctx, nsOf(p, `${API}/dtabs/`), watch);
  if (req.method !== "GET" && req.method !== "HEAD")
    throw new HttpError(405, `method ${req.method} not allowed on ${p}`);
  // a watch holds its own binding; one-shot reads share the namespaces' running bindings
  const bind = watch ? ns.bind.bind(ns) : ns.bindCached.bind(ns);
  const addr = watch ? ns.addr.bind(ns) : ns.addrCached.bind(ns);
  if (p.startsWith(`${API}/bind/`)) {
    const act = bind(nsOf(p, `${API}/bind/`), pathParam(q), dtabParam(q));
    return answer(res, watch, act, renderTree);
  }
  if (p.startsWith(`${API}/addr/`)) {
    nsOf(p, `${API}/addr/`);
    return answer(res, watch, addr(pathParam(q)), renderAddr);
  }
  if (p.startsWith(`${API}/resolve/`)) {
    const name = nsOf(p, `${API}/resolve/`);
    const act = Activity.flatMap(bind(name, pathParam(q), dtabParam(q)), (tree) => {
      const id = pickLeaf(tree);
      return id ? addr(id) : Activity.value<Addr>({ type: "neg" });
    });
    return answer(res, watch, act, renderAddr);
  }
  if (p.startsWith(`${API}/delegate`)) {
    const name = p.startsWith(`${API}/delegate/`)
      ? nsOf(p, `${API}/delegate/`)
      : q.get("namespace");
    if (!name) throw new HttpError(400, "a namespace is required: /api/1/delegate/<namespace>");
    const tree = await ns.delegate(name, pathParam(q), dtabParam(q));
    return send(res, 200, delegateTreeToJsonString(tree));
  }
  if (p === `${API}/bound-names`) {
    const act = Var.map(ns.boundNames(), (v) => Activity.ok(v));
    return answer(res, watch, act, (v) => JSON.stringify(v));
  }
  throw new HttpError(404, `no such endpoint: ${p}`);
}

function nsOf(pathname: string, prefix: string): string {
  let name: string;
  try {
    name = decodeURIComponent(pathname.slice(prefix.length));
  } catch {
    throw new HttpError(400, "invalid namespace encoding");
  }
  if (name === "") throw new HttpError(404, "a namespace is required");
  return name;
}

function pathParam(q: URLSearchParams): Path {
  const text = q.get("path");
  if (text === null) throw new HttpError(400, "Invalid path: a 'path' parameter is required");
  try {
    return Path.read(text);
  } catch (e) {
    throw new HttpError(400, `Invalid path: ${text} / ${(e as Error).message}`);
  }
}

function dtabParam(q: URLSearchParams): Dtab {
  const text = q.get("dtab");
  if (text === null || text.trim() === "") return Dtab.empty;
  try {
    return Dtab.read(text);
  } catch (e) {
    throw new HttpError(400, `Invalid dtab: ${(e as Error).message}`);
  }
}

/**
 * A bound tree as Linkerd's bind JSON (its DelegateTree codec, rooted nowhere), once every
 * leaf's addresses have left Pending (or `READ_TIMEOUT_MS` passed), as Linkerd's BindHandler.
 */
export async function renderTree(tree: NameTree<NameBound>): Promise<string> {
  const d = delegateFromNameTree(Path.empty, Dentry.nop, tree);
  await resolveDelegateAddrs(d, READ_TIMEOUT_MS);
  return delegateTreeToJsonString(d);
}

/** Pending addresses are not rendered (the stream waits for the namer's first answer). */
function renderAddr(a: Addr): string | undefined {
  return a.type === "pending" ? undefined : JSON.stringify(addrToJson(a));
}

/** Linkerd's ResolveHandler: a Union picks a member by weight, an Alt its first resolvable one. */
function pickLeaf(tree: NameTree<NameBound>): Path | undefined {
  switch (tree.type) {
    case "leaf":
      return tree.value.id;
    case "alt":
      for (const t of tree.trees) {
        const p = pickLeaf(t);
        if (p) return p;
      }
      return undefined;
    case "union": {
      const total = tree.weighted.reduce((s, w) => s + w.weight, 0);
      let r = Math.random() * total;
      for (const w of tree.weighted) {
        r -= w.weight;
        if (r < 0) return pickLeaf(w.tree);
      }
      const lastMember = tree.weighted[tree.weighted.length - 1];
      return lastMember ? pickLeaf(lastMember.tree) : undefined;
    }
    default:
      return undefined;
  }
}

async function answer<T>(
  res: ServerResponse,
  watch: boolean,
  act: Activity<T>,
  render: (v: T) => string | undefined | Promise<string | undefined>,
): Promise<void> {
  if (watch) {
    streamActivity(res, JSON_TYPE, act, render);
    return;
  }
  let value: T;
  try {
    value = await Activity.toPromise(act, READ_TIMEOUT_MS);
  } catch (e) {
    const msg = (e as Error).message;
    throw new HttpError(msg.startsWith("binding timed out") ? 503 : 500, msg);
  }
  const body = await render(value);
  if (body === undefined) throw new HttpError(503, "no answer yet");
  send(res, 200, `${body}\n`);
}

async function dtabList(
  req: IncomingMessage,
  res: ServerResponse,
  ns: Namespaces,
  watch: boolean,
): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD")
    throw new HttpError(405, `method ${req.method} not allowed on /api/1/dtabs`);
  return answer(res, watch, ns.store.list(), (v) => JSON.stringify([...v].sort()));
}

async function dtabOne(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: InterfaceContext,
  name: string,
  watch: boolean,
): Promise<void> {
  const store = ctx.namespaces.store;
  switch (req.method) {
    case "HEAD":
    case "GET": {
      const codec = codecForAccept(req.headers.accept);
      if (watch) {
        // Linkerd's stream skips the moments the namespace does not exist
        streamActivity(res, codec.mediaType, store.observe(name), (v) =>
          v === null ? undefined : codec.write(v.dtab),
        );
        return;
      }
      const v = await Activity.toPromise(store.observe(name), READ_TIMEOUT_MS).catch((e: Error) => {
        throw new DtabStoreUnavailableError(e.message);
      });
      if (v === null) throw new DtabNamespaceDoesNotExistError(name);
      res.setHeader("etag", versionToEtag(v.version));
      if (req.method === "HEAD") return send(res, 200);
      return send(res, 200, `${codec.write(v.dtab)}\n`, codec.mediaType);
    }
    case "POST":
    case "PUT": {
      if (!NAMESPACE_RE.test(name))
        throw new HttpError(400, `invalid namespace '${name}': use letters, digits, '_', '.', '-'`);
      const codec = codecForContentType(req.headers["content-type"]);
      if (!codec)
        throw new HttpError(
          400,
          `Invalid Content-Type "${req.headers["content-type"] ?? ""}": use application/dtab or application/json`,
        );
      const body = await readLimitedBody(req, MAX_DTAB_BODY_BYTES);
      let dtab: Dtab;
      try {
        dtab = codec.read(body);
      } catch (e) {
        throw new HttpError(400, `invalid dtab: ${(e as Error).message}`);
      }
      const ifMatch = req.headers["if-match"];
      if (req.method === "POST") await store.create(name, dtab);
      else if (typeof ifMatch === "string") await store.update(name, dtab, etagToVersion(ifMatch));
      else await store.put(name, dtab);
      ctx.log.info({ namespace: name, method: req.method, dentries: dtab.size }, "dtab stored");
      return send(res, 204);
    }
    case "DELETE":
      await store.delete(name);
      ctx.log.info({ namespace: name }, "dtab deleted");
      return send(res, 204);
    default:
      throw new HttpError(405, `method ${req.method} not allowed on /api/1/dtabs/${name}`);
  }
}
