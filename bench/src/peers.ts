import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { l5dEntry, l5dEnv, l5dNodeFlags } from "./l5d-flags.js";
import { freePort, waitForPort } from "./net.js";
import type { Child, Supervisor } from "./supervisor.js";
import {
  HAPROXY_CFG,
  HAPROXY_H1_CFG,
  L5D_H1_YAML,
  L5D_TLS_YAML,
  L5D_YAML,
  NGHTTPX_CONF,
  NGHTTPX_H1_CONF,
  NGHTTPX_TLS_CONF,
  NGINX_CONF,
  NGINX_H1_CONF,
  render,
  withL5dWorkers,
  withNghttpxWorkers,
} from "./templates.js";
import type { BenchTls } from "./tls.js";
import type { ToolName, ToolStatus } from "./tools.js";

/**
 * The proxies the harness knows how to run; a `-tls` one speaks TLS (ALPN h2) to its client and
 * to the backend.
 */
export type ProxyName =
  | "l5d"
  | "naive"
  | "nginx"
  | "haproxy"
  | "nghttpx"
  | "l5d-tls"
  | "nghttpx-tls";

/** Everything a proxy kind needs to start. */
export interface StartContext {
  sup: Supervisor;
  /** per-run scratch directory. */
  rundir: string;
  /** repository root (for apps/l5d and bench/naive-proxy.mjs). */
  repoRoot: string;
  tools: ReadonlyMap<ToolName, ToolStatus>;
  /** extra node flags for node-based proxies (l5d, naive), e.g. --cpu-prof. */
  nodeArgs?: readonly string[];
  /** the run's certificates, made when a TLS kind is to run (undefined: none could be made). */
  tls?: BenchTls;
}

/** How to start one instance, beyond its ports. */
export interface StartOptions {
  /**
   * processes (l5d's `workers` key) or threads (nghttpx's `workers=`) serving the listener;
   * default 1. Only kinds with {@link ProxyKind.workers} take it.
   */
  workers?: number;
}

/** Availability of a proxy kind. */
export type Availability = { ok: true; version: string } | { ok: false; reason: string };

/** One kind of proxy under test. */
export interface ProxyKind {
  name: ProxyName;
  /** short description for the report. */
  label: string;
  available(ctx: StartContext): Availability;
  /**
   * Starts one instance listening on 127.0.0.1:listenPort forwarding to 127.0.0.1:upstreamPort
   * (with `tls`, both over TLS: the upstream must present the run's certificate).
   */
  start(
    ctx: StartContext,
    listenPort: number,
    upstreamPort: number,
    opts?: StartOptions,
  ): Promise<Child>;
  /** speaks TLS (ALPN h2) on its listener and to its upstream, with `ctx.tls`'s certificates. */
  tls?: true;
  /** takes {@link StartOptions.workers} (l5d: its `workers` key; nghttpx: `workers=`). */
  workers?: true;
}

const HOST = "127.0.0.1";
const READY_MS = 15_000;

function instanceDir(ctx: StartContext, name: string, port: number): string {
  const dir = join(ctx.rundir, `${name}-${port}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function tool(ctx: StartContext, name: ToolName): Availability {
  const t = ctx.tools.get(name);
  if (!t) return { ok: false, reason: `${name} was not looked up` };
  return t.ok ? { ok: true, version: t.version } : t;
}

function toolPath(ctx: StartContext, name: ToolName): string {
  const t = ctx.tools.get(name);
  return t?.ok ? t.path : name;
}

/** `tool`, and for a TLS kind the run's certificates too. */
function availableWith(ctx: StartContext, a: Availability, tls: boolean): Availability {
  if (a.ok && tls && ctx.tls === undefined)
    return { ok: false, reason: "no TLS certificates for the run (openssl missing or failed)" };
  return a;
}

/** The TLS templates' variables; `quote` JSON-quotes the paths (for YAML). */
function tlsVars(ctx: StartContext, quote: boolean): Record<string, string> {
  const t = ctx.tls;
  if (t === undefined) return {};
  const q = (p: string): string => (quote ? JSON.stringify(p) : p);
  return { CA: q(t.caCert), CERT: q(t.cert), KEY: q(t.key), UP_NAME: t.serverName };
}

async function started(ctx: StartContext, child: Child, port: number): Promise<Child> {
  try {
    await waitForPort(port, READY_MS, child);
  } catch (err) {
    await ctx.sup.stop(child);
    throw err;
  }
  return child;
}

/**
 * l5d (h2: its one data plane, the frame-level relay; http: the HTTP/1.1 router; `tls`: the h2
 * router with server and client TLS).
 */
function l5dKind(name: "l5d" | "l5d-tls", label: string, template: string, tls = false): ProxyKind {
  return {
    name,
    label,
    ...(tls ? { tls: true as const } : {}),
    workers: true,
    available(ctx) {
      const main = l5dEntry(ctx.repoRoot);
      if (!existsSync(main)) return { ok: false, reason: `${main} not built (pnpm build)` };
      return availableWith(ctx, { ok: true, version: `l5d-ts (node ${process.version})` }, tls);
    },
    async start(ctx, listenPort, upstreamPort, opts) {
      const dir = instanceDir(ctx, name, listenPort);
      const adminPort = await freePort();
      const cfg = join(dir, "l5d.yaml");
      const yaml = render(template, {
        NAME: `${name}-${listenPort}`,
        ADMIN_PORT: adminPort,
        UP_HOST: HOST,
        UP_PORT: upstreamPort,
        LISTEN_HOST: HOST,
        LISTEN_PORT: listenPort,
        ...tlsVars(ctx, true),
      });
      writeFileSync(cfg, withL5dWorkers(yaml, opts?.workers ?? 1));
      // the image's entry point (the esbuild bundle), malloc settings and node flags
      // (deploy/docker/bin/l5d), so the numbers are the product's
      const main = l5dEntry(ctx.repoRoot);
      const env = {
        ...process.env,
        ...l5dEnv(ctx.repoRoot),
        LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
      };
      const flags = l5dNodeFlags(ctx.repoRoot);
      return started(
        ctx,
        ctx.sup.spawn(
          `${name}:${listenPort}`,
          process.execPath,
          [...flags, ...(ctx.nodeArgs ?? []), main, cfg],
          {
            env,
          },
        ),
        listenPort,
      );
    },
  };
}

export const l5d = l5dKind(
  "l5d",
  "l5d (apps/l5d, h2 router, io.l5d.header.token, the frame-level relay)",
  L5D_YAML,
);

export const naive: ProxyKind = {
  name: "naive",
  label: "naive node:http2 forwarding proxy (bench/naive-proxy.mjs)",
  available: () => ({ ok: true, version: `node ${process.version}` }),
  async start(ctx, listenPort, upstreamPort) {
    const script = join(ctx.repoRoot, "bench/naive-proxy.mjs");
    const args = [...(ctx.nodeArgs ?? []), script, String(listenPort), `${HOST}:${upstreamPort}`];
    return started(ctx, ctx.sup.spawn(`naive:${listenPort}`, process.execPath, args), listenPort);
  },
};

function nginxKind(label: string, template: string): ProxyKind {
  return {
    name: "nginx",
    label,
    available: (ctx) => tool(ctx, "nginx"),
    async start(ctx, listenPort, upstreamPort) {
      const dir = instanceDir(ctx, "nginx", listenPort);
      mkdirSync(join(dir, "body"), { recursive: true });
      const conf = join(dir, "nginx.conf");
      writeFileSync(
        conf,
        render(template, {
          NAME: `nginx-${listenPort}`,
          RUNDIR: dir,
          LISTEN: `${HOST}:${listenPort}`,
          UPSTREAM: `${HOST}:${upstreamPort}`,
        }),
      );
      const args = ["-p", dir, "-c", conf, "-e", join(dir, "error.log")];
      return started(
        ctx,
        ctx.sup.spawn(`nginx:${listenPort}`, toolPath(ctx, "nginx"), args),
        listenPort,
      );
    },
  };
}

function haproxyKind(label: string, template: string): ProxyKind {
  return {
    name: "haproxy",
    label,
    available: (ctx) => tool(ctx, "haproxy"),
    async start(ctx, listenPort, upstreamPort) {
      const dir = instanceDir(ctx, "haproxy", listenPort);
      const cfg = join(dir, "haproxy.cfg");
      writeFileSync(
        cfg,
        render(template, {
          NAME: `haproxy-${listenPort}`,
          LISTEN: `${HOST}:${listenPort}`,
          UPSTREAM: `${HOST}:${upstreamPort}`,
        }),
      );
      const args = ["-db", "-f", cfg];
      return started(
        ctx,
        ctx.sup.spawn(`haproxy:${listenPort}`, toolPath(ctx, "haproxy"), args),
        listenPort,
      );
    },
  };
}

function nghttpxKind(
  label: string,
  template: string,
  name: "nghttpx" | "nghttpx-tls" = "nghttpx",
): ProxyKind {
  const tls = name === "nghttpx-tls";
  return {
    name,
    label,
    ...(tls ? { tls: true as const } : {}),
    workers: true,
    available: (ctx) => availableWith(ctx, tool(ctx, "nghttpx"), tls),
    async start(ctx, listenPort, upstreamPort, opts) {
      const dir = instanceDir(ctx, name, listenPort);
      const conf = join(dir, "nghttpx.conf");
      const text = render(template, {
        NAME: `nghttpx-${listenPort}`,
        RUNDIR: dir,
        LISTEN_HOST: HOST,
        LISTEN_PORT: listenPort,
        UP_HOST: HOST,
        UP_PORT: upstreamPort,
        ...tlsVars(ctx, false),
      });
      writeFileSync(conf, withNghttpxWorkers(text, opts?.workers ?? 1));
      const args = [`--conf=${conf}`];
      return started(
        ctx,
        ctx.sup.spawn(`${name}:${listenPort}`, toolPath(ctx, "nghttpx"), args),
        listenPort,
      );
    },
  };
}

export const nginx = nginxKind("nginx grpc_pass (1 worker)", NGINX_CONF);
export const haproxy = haproxyKind("haproxy proto h2 (nbthread 1)", HAPROXY_CFG);
export const nghttpx = nghttpxKind("nghttpx (workers=1)", NGHTTPX_CONF);

/** The TLS cases (issue #16): TLS with ALPN h2 from the client and to the backend, one hop. */
export const l5dTls = l5dKind(
  "l5d-tls",
  "l5d, servers[].tls and client.tls (CA-checked, commonName) to the backend's TLS port",
  L5D_TLS_YAML,
  true,
);
export const nghttpxTls = nghttpxKind(
  "nghttpx (workers=1), TLS frontend, backend proto=h2;tls (CA-checked)",
  NGHTTPX_TLS_CONF,
  "nghttpx-tls",
);

/** Every proxy kind, in report order. */
export const PROXIES: readonly ProxyKind[] = [
  l5d,
  naive,
  nginx,
  haproxy,
  nghttpx,
  l5dTls,
  nghttpxTls,
];

/**
 * The HTTP/1.1 kinds (`bench --http1`): HTTP/1.1 keep-alive from the client and to the backend,
 * in report order. The naive proxy is h2-only and has none.
 */
export const H1_PROXIES: readonly ProxyKind[] = [
  l5dKind("l5d", "l5d (apps/l5d, protocol: http router, io.l5d.header.token on Host)", L5D_H1_YAML),
  nginxKind("nginx proxy_pass, upstream keepalive (1 worker)", NGINX_H1_CONF),
  haproxyKind("haproxy mode http, http-reuse always (nbthread 1)", HAPROXY_H1_CFG),
  nghttpxKind("nghttpx, backend proto=http/1.1 (workers=1)", NGHTTPX_H1_CONF),
];

/**
 * Starts `hops` instances of `kind` in a chain ending at `backendPort` (the last one started
 * first), and returns them client side first plus the port the client should use. `opts` goes
 * to each instance; more than one worker for a kind that has no such setting is an error.
 */
export async function startChain(
  ctx: StartContext,
  kind: ProxyKind,
  hops: number,
  backendPort: number,
  opts: StartOptions = {},
): Promise<{ entryPort: number; children: Child[] }> {
  if ((opts.workers ?? 1) !== 1 && kind.workers !== true)
    throw new Error(`${kind.name}: the harness has no workers setting for it`);
  const children: Child[] = [];
  let upstream = backendPort;
  try {
    for (let i = 0; i < hops; i++) {
      const port = await freePort();
      children.unshift(await kind.start(ctx, port, upstream, opts));
      upstream = port;
    }
  } catch (err) {
    for (const c of children) await ctx.sup.stop(c);
    throw err;
  }
  return { entryPort: upstream, children };
}
