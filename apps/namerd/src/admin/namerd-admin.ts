/**
 * namerd's admin server (default 127.0.0.1:9991): the dashboard (namespaces, their dtabs, an
 * editor that does the versioned PUT, the delegator against a namespace's dtab), health, and
 * shutdown. The dashboard's calls go to the JSON endpoints below, which answer from the same
 * store and interpreters as the interfaces.
 *
 *   GET  /                         the dashboard
 *   GET  /admin/ping               "pong"
 *   GET  /admin/health             200 "ok", 503 while the store is unreachable
 *   POST /admin/shutdown           graceful stop
 *   GET  /dtabs.json               [{namespace, dtab, version}]
 *   PUT  /dtabs/<ns>               body: dtab text; header If-Match: <version> (409/412/400 as the API)
 *   GET  /delegator.json?namespace=&path=&dtab=   the delegation explanation
 *   GET  /interfaces.json          what namerd serves, and where
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Activity, Dtab, delegateTreeToJsonString, Path } from "@l5d/dtab";
import type { Logger } from "pino";
import { BodyTooLargeError, readLimitedBody } from "../interfaces/http-body.js";
import { listenTracked } from "../interfaces/listen.js";
import type { ListeningInterface } from "../interfaces/namerd-interface.js";
import type { NamerdAdminConfig } from "../namerd-config.js";
import type { Namespaces } from "../namespaces.js";
import {
  DtabNamespaceDoesNotExistError,
  DtabNamespaceInvalidError,
  DtabStoreUnavailableError,
  DtabVersionMismatchError,
  NAMESPACE_RE,
} from "../storage/dtab-store.js";
import { namerdDashboardHtml } from "./dashboard-html.js";

export interface NamerdAdmin {
  readonly port: number;
  close(): Promise<void>;
}

export interface AdminContext {
  readonly namespaces: Namespaces;
  readonly interfaces: readonly (ListeningInterface & { readonly kind: string })[];
  readonly log: Logger;
  /** Telemeters' routes (e.g. `/admin/metrics/prometheus`). */
  readonly routes?: ReadonlyArray<{
    readonly path: string;
    handler(): Promise<{ contentType: string; body: string }>;
  }>;
  shutdown(): void;
}

const MAX_BODY = 1 << 20;

export async function startNamerdAdmin(
  config: NamerdAdminConfig,
  ctx: AdminContext,
): Promise<NamerdAdmin> {
  const server = createServer((req, res) => {
    route(req, res, ctx).catch((e: unknown) =>
      reply(res, errorStatus(e), `${(e as Error).message}\n`),
    );
  });
  const listening = await listenTracked(server, config.port, config.ip);
  const port = listening.address.port;
  ctx.log.info({ ip: config.ip, port }, `serving namerd admin on ${config.ip}:${port}`);
  return { port, close: listening.close };
}

function errorStatus(e: unknown): number {
  if (e instanceof DtabVersionMismatchError) return 412;
  if (e instanceof DtabNamespaceDoesNotExistError) return 404;
  if (e instanceof DtabStoreUnavailableError) return 503;
  if (e instanceof BadRequest || e instanceof DtabNamespaceInvalidError) return 400;
  if (e instanceof BodyTooLargeError) return 413;
  return 500;
}

class BadRequest extends Error {}

function reply(
  res: ServerResponse,
  status: number,
  body: string,
  type = "text/plain; charset=utf-8",
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (status === 413) res.setHeader("connection", "close");
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}

async function route(req: IncomingMessage, res: ServerResponse, ctx: AdminContext): Promise<void> {
  const url = new URL(req.url ?? "/", "http://admin");
  const p = url.pathname;
  const ns = ctx.namespaces;
  if (p === "/" && req.method === "GET")
    return reply(res, 200, namerdDashboardHtml(), "text/html; charset=utf-8");
  if (p === "/admin/ping") return reply(res, 200, "pong");
  const extra = ctx.routes?.find((r) => r.path === p);
  if (extra) {
    const out = await extra.handler();
    return reply(res, 200, out.body, out.contentType);
  }
  if (p === "/admin/health") {
    const ok = ns.store.healthy?.() ?? true;
    return reply(res, ok ? 200 : 503, ok ? "ok\n" : "dtab store unreachable\n");
  }
  if (p === "/admin/shutdown") {
    if (req.method !== "POST") return reply(res, 405, "use POST\n");
    reply(res, 200, "shutting down\n");
    ctx.shutdown();
    return;
  }
  if (p === "/interfaces.json") {
    const list = ctx.interfaces.map((i) => ({ kind: i.kind, ip: i.host, port: i.port }));
    return reply(res, 200, JSON.stringify(list), "application/json");
  }
  if (p === "/dtabs.json") {
    const names = await Activity.toPromise(ns.store.list(), 5_000);
    const out = [];
    for (const name of names) {
      const v = await Activity.toPromise(ns.store.observe(name), 5_000).catch(() => null);
      if (v) out.push({ namespace: name, dtab: v.dtab.show, version: v.version });
    }
    return reply(res, 200, JSON.stringify(out), "application/json");
  }
  if (p.startsWith("/dtabs/") && req.method === "PUT") {
    const name = decodeURIComponent(p.slice("/dtabs/".length));
    if (!NAMESPACE_RE.test(name)) throw new BadRequest(`invalid namespace '${name}'`);
    const body = await readLimitedBody(req, MAX_BODY);
    let dtab: Dtab;
    try {
      dtab = Dtab.read(body);
    } catch (e) {
      throw new BadRequest(`invalid dtab: ${(e as Error).message}`);
    }
    const version = req.headers["if-match"];
    if (typeof version === "string" && version !== "") await ns.store.update(name, dtab, version);
    else await ns.store.put(name, dtab);
    ctx.log.info({ namespace: name, via: "admin" }, "dtab stored");
    return reply(res, 204, "");
  }
  if (p === "/delegator.json") {
    const name = url.searchParams.get("namespace") ?? "default";
    let path: Path;
    let local = Dtab.empty;
    try {
      path = Path.read(url.searchParams.get("path") ?? "");
      const d = url.searchParams.get("dtab");
      if (d) local = Dtab.read(d);
    } catch (e) {
      throw new BadRequest((e as Error).message);
    }
    const tree = await ns.delegate(name, path, local);
    return reply(res, 200, delegateTreeToJsonString(tree), "application/json");
  }
  return reply(res, 404, `not found: ${p}\n`);
}
