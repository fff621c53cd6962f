/** The admin endpoints of a running linker (Linkerd's `/admin/*`, `/config.json`, `/delegator.json`, ...). */
import { toConfigJson } from "@l5d/config";
import { Dtab, delegateTreeToJsonString, Path } from "@l5d/dtab";
import type { Linker } from "../linker.js";
import {
  type AdminRequest,
  type AdminRoute,
  type AdminServer,
  json,
  text,
} from "./admin-server.js";
import { booleanParam, metricsFlat, metricsTree } from "./metrics-json.js";
import { assetResponse, filesRoute } from "./static-assets.js";

const DELEGATE_TIMEOUT_MS = 2_000;

interface DelegateParams {
  readonly namespace: string | undefined;
  readonly path: string | undefined;
  readonly dtab: string | undefined;
}

function delegateParams(req: AdminRequest): DelegateParams | string {
  if (req.method === "POST") {
    const ct = String(req.headers["content-type"] ?? "");
    if (!ct.startsWith("application/json")) return "415";
    try {
      const b = JSON.parse(req.body) as Record<string, unknown>;
      const str = (k: string) => (typeof b[k] === "string" ? (b[k] as string) : undefined);
      return { namespace: str("namespace"), path: str("path"), dtab: str("dtab") };
    } catch (e) {
      return `Malformed delegation request: ${(e as Error).message}`;
    }
  }
  return {
    namespace: req.query.get("namespace") ?? undefined,
    path: req.query.get("path") ?? undefined,
    dtab: req.query.get("dtab") ?? undefined,
  };
}

/** `/delegator.json`: Linkerd's delegation explanation for a router (`namespace`), path and dtab. */
export async function delegatorJson(linker: Linker, req: AdminRequest) {
  const p = delegateParams(req);
  if (p === "415") return text("Unsupported media type: POST application/json\n", 415);
  if (typeof p === "string") return text(`${p}\n`, 400);
  const router = linker.routers.find(
    (r) => r.config.label === (p.namespace ?? linker.routers[0]?.config.label),
  );
  if (!router) return text(`No router for namespace ${p.namespace ?? ""}\n`, 404);
  let path: Path;
  try {
    path = Path.read(p.path ?? "");
  } catch (e) {
    return text(`Invalid path: ${(e as Error).message}\n`, 400);
  }
  let dtab: Dtab;
  try {
    dtab = p.dtab === undefined ? router.router.baseDtab : Dtab.read(p.dtab);
  } catch (e) {
    return text(`Invalid dtab: ${(e as Error).message}\n`, 400);
  }
  const interp = router.router.interpreter;
  if (!interp.delegate)
    return text(`Name Interpreter for ${router.config.label} cannot show delegations\n`, 501);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), DELEGATE_TIMEOUT_MS);
  });
  try {
    const tree = await Promise.race([interp.delegate(dtab, path), timeout]);
    if (tree === "timeout") return text("Request timed out.\n", 503);
    // `selected=true` adds Linkerd-incompatible `"selected": true` marks on the branches routing takes
    const includeSelected = booleanParam(req.query, "selected");
    return {
      contentType: "application/json",
      body: delegateTreeToJsonString(tree, { includeSelected }),
    };
  } catch (e) {
    return text(`${(e as Error).message}\n`, 500);
  } finally {
    clearTimeout(timer);
  }
}

/** One router's servers and clients as `/routers.json` shows them. */
export interface RouterLiveView {
  readonly servers: ReadonlyArray<{ ip: string; port: number; connections: number }>;
  readonly clients: ReadonlyArray<{ id: string }>;
}

/**
 * Where the admin reads live figures when the routers run in other processes (`workers: n`):
 * `refresh` is awaited before each admin request (it brings the workers' metrics and routers
 * up to date), `router(label)` gives a router's servers and clients as the workers report them.
 */
export interface AdminLiveView {
  refresh(): Promise<void>;
  router(label: string): RouterLiveView;
  readonly extraRoutes?: readonly AdminRoute[];
}

function localView(r: Linker["routers"][number]): RouterLiveView {
  return {
    servers: r.servers.map((s) => ({ ip: s.ip, port: s.port, connections: s.proxy.connections })),
    clients: r.router.clients(),
  };
}

export function registerAdminRoutes(
  admin: AdminServer,
  linker: Linker,
  shutdown: () => void,
  view?: AdminLiveView,
): void {
  const live = (r: Linker["routers"][number]) => view?.router(r.config.label) ?? localView(r);
  const index = () =>
    admin.routes
      .map((r) => `${r.path.padEnd(34)} ${r.description}`)
      .sort()
      .join("\n");
  const routes: AdminRoute[] = [
    { path: "/admin/ping", description: "liveness: answers pong", handler: () => text("pong") },
    {
      path: "/admin",
      description: "this list of admin endpoints",
      handler: () => text(`${index()}\n`),
    },
    {
      path: "/admin/index.txt",
      description: "this list of admin endpoints",
      handler: () => text(`${index()}\n`),
    },
    {
      path: "/config.json",
      description: "the effective config, defaults applied",
      handler: (req) => json(toConfigJson(linker.config), 200, booleanParam(req.query, "pretty")),
    },
    {
      path: "/admin/metrics.json",
      description: "every metric, Linkerd names: ?pretty=1, ?tree=1, ?q=<scope>",
      handler: (req) => {
        const q = req.query.get("q");
        if (booleanParam(req.query, "tree"))
          return json(metricsTree(linker.metrics, q), 200, booleanParam(req.query, "pretty"));
        const flat = metricsFlat(linker.metrics, q);
        if (!booleanParam(req.query, "pretty")) return json(flat);
        return json(
          Object.fromEntries(Object.entries(flat).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
          200,
          true,
        );
      },
    },
    {
      path: "/delegator.json",
      description:
        "delegation explanation: ?namespace=<router>&path=<path>[&dtab=<dtab>][&selected=true]",
      methods: ["GET", "POST"],
      handler: (req) => delegatorJson(linker, req),
    },
    {
      path: "/delegator",
      description: "the dtab playground: ?router=<label>&path=<path>[&dtab=<extra dtab>]",
      handler: () => assetResponse("delegator.html"),
    },
    filesRoute,
    {
      path: "/bound-names.json",
      description: "bound names (client ids) of every router",
      handler: () =>
        json([...new Set(linker.routers.flatMap((r) => live(r).clients.map((c) => c.id)))].sort()),
    },
    {
      path: "/routers.json",
      description: "routers, servers, clients and endpoints",
      handler: () =>
        json(
          linker.routers.map((r) => ({
            label: r.config.label,
            dtab: r.config.dtab.show,
            dstPrefix: r.config.dstPrefix.show,
            ...live(r),
            ...(interpreterState(r.router.interpreter)
              ? { interpreter: interpreterState(r.router.interpreter)?.() }
              : {}),
          })),
        ),
    },
    {
      path: "/admin/shutdown",
      description: "POST: graceful shutdown",
      methods: ["POST"],
      handler: () => {
        setImmediate(shutdown);
        return text("shutting down\n");
      },
    },
  ];
  for (const n of linker.namers) {
    const state = n.state;
    if (state) {
      routes.push({
        path: `/namer_state/${n.kind ?? n.prefix.show.replace(/^\/#\//, "")}.json`,
        description: `state of the ${n.kind} namer at ${n.prefix.show}`,
        handler: () => json(state()),
      });
    }
  }
  // interpreters that talk to namerd: where it is, whether it answers, the last error
  // (Linkerd's `/<router>/interpreter_state/<kind>/<namespace>.json`)
  for (const r of linker.routers) {
    const state = interpreterState(r.router.interpreter);
    const kind = r.config.interpreter?.kind;
    if (!state || !kind) continue;
    const ns = String((state() as { namespace?: unknown }).namespace ?? "default").replace(
      /^\//,
      "",
    );
    routes.push({
      path: `/${r.config.label}/interpreter_state/${kind}/${ns}.json`,
      description: `state of router ${r.config.label}'s ${kind} interpreter`,
      handler: () => json(state()),
    });
  }
  for (const t of linker.telemeters) for (const r of t.adminRoutes ?? []) routes.push(r);
  for (const r of view?.extraRoutes ?? []) routes.push(r);
  for (const r of routes) {
    const h = r.handler;
    const refreshed: AdminRoute["handler"] = async (req) => {
      await view?.refresh();
      return h(req);
    };
    admin.route(view && showsWorkers(r.path) ? { ...r, handler: refreshed } : r);
  }
}

/**
 * The admin paths whose answer is the workers' figures (metrics in every format, routers,
 * bound names, workers, recent requests): only these wait for the workers' reports;
 * `/admin/ping` never does.
 */
function showsWorkers(path: string): boolean {
  return (
    path.startsWith("/admin/metrics") ||
    path === "/routers.json" ||
    path === "/bound-names.json" ||
    path === "/workers.json" ||
    path === "/requests" ||
    path === "/requests.json"
  );
}

/** The `state()` of an interpreter that has one (the namerd interpreters). */
export function interpreterState(interp: object): (() => unknown) | undefined {
  const f = (interp as { state?: unknown }).state;
  return typeof f === "function" ? () => (f as () => unknown).call(interp) : undefined;
}
