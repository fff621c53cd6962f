/**
 * `l5d <config.yaml>`: validates the config (every error by key path; nothing starts on a
 * bad config), builds the plugins, opens the routers' servers and the admin server, and runs
 * until SIGINT/SIGTERM or `POST /admin/shutdown`, then drains gracefully.
 */
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { formatConfigErrors, type LinkerdConfig, parseLinkerdConfig } from "@l5d/config";
import { type Logger, pino } from "pino";
import { registerAdminRoutes } from "./admin/admin-routes.js";
import { AdminSecurity } from "./admin/admin-security.js";
import { AdminServer, text } from "./admin/admin-server.js";
import { dashboardHtml } from "./admin/dashboard.js";
import { buildPlugins, type Linker, LinkerBuildError, link } from "./linker.js";
import { createRegistries } from "./plugins.js";
import { serverTlsOptions } from "./server-tls.js";
import { startWorkerFleet, type WorkersOptions } from "./workers/worker-fleet.js";
import { configFromPrimary, runWorker } from "./workers/worker-process.js";

export const USAGE = `Usage: l5d [--check] [--log-level=<level>] <config.yaml>
       l5d dtab show|lookup|delegate ...      (see: l5d dtab --help)
       l5d namerctl dtab list|get|create|update|delete ...   (see: l5d namerctl --help)

  --check              validate the config and exit (0 when valid, 1 with every error listed)
  --log-level=<level>  trace, debug, info (default), warn, error
`;

interface Args {
  readonly check: boolean;
  readonly logLevel: string;
  readonly file: string | undefined;
  readonly help: boolean;
  readonly error?: string;
}

export function parseArgs(args: readonly string[]): Args {
  let check = false;
  let logLevel = process.env.L5D_LOG_LEVEL ?? "info";
  let help = false;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--check" || a === "-check") check = true;
    else if (a === "--help" || a === "-h" || a === "-help") help = true;
    else if (a.startsWith("--log-level=")) logLevel = a.slice("--log-level=".length);
    else if (a === "--log-level") logLevel = args[++i] ?? "";
    else if (a.startsWith("-"))
      return { check, logLevel, file: undefined, help, error: `unknown option ${a}` };
    else files.push(a);
  }
  if (!["trace", "debug", "info", "warn", "error", "fatal", "silent"].includes(logLevel)) {
    return { check, logLevel, file: undefined, help, error: `unknown log level '${logLevel}'` };
  }
  if (files.length > 1)
    return { check, logLevel, file: undefined, help, error: "expected one config file" };
  return { check, logLevel, file: files[0], help };
}

/** Reads and validates a config file; returns the config or the error text. */
export function loadConfigFile(
  file: string,
): { ok: true; config: LinkerdConfig; text: string } | { ok: false; message: string } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    return { ok: false, message: `cannot read config ${file}: ${(e as Error).message}` };
  }
  return parseConfigText(text, file);
}

function parseConfigText(
  text: string,
  file: string,
): { ok: true; config: LinkerdConfig; text: string } | { ok: false; message: string } {
  const r = parseLinkerdConfig(text, createRegistries());
  if (!r.ok)
    return { ok: false, message: `invalid config ${file}:\n${formatConfigErrors(r.errors)}` };
  return { ok: true, config: r.config, text };
}

export interface StartedDaemon {
  readonly linker: Linker;
  readonly admin: AdminServer;
  readonly adminPort: number;
  readonly log: Logger;
  shutdown(): Promise<void>;
  readonly done: Promise<void>;
}

/**
 * Starts a daemon from a validated config (used by `runDaemon` and by tests in-process). With
 * `workers: n` above 1 this process keeps the namers, interpreters and admin server and forks
 * the n workers that serve the routers' ports (`workers/worker-fleet.ts`; it needs `workers`).
 */
export async function startDaemon(
  config: LinkerdConfig,
  log: Logger,
  env = process.env,
  workers?: WorkersOptions,
): Promise<StartedDaemon> {
  const forking = config.workers > 1;
  if (forking && workers === undefined)
    throw new LinkerBuildError("workers", new Error("worker processes need the config's text"));
  const linker = await link(config, { log, env, serve: !forking });
  const fleet =
    forking && workers !== undefined
      ? await startWorkerFleet(config, linker, log, workers)
      : undefined;
  const admin = new AdminServer(new AdminSecurity(config.admin.security));
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      log.info({ graceMs: config.admin.shutdownGraceMs }, "shutting down");
      await fleet?.stop(config.admin.shutdownGraceMs);
      await admin.close();
      await linker.close();
      log.info("stopped");
      resolveDone();
    })();
    return stopping;
  };
  registerAdminRoutes(admin, linker, () => void shutdown(), fleet);
  admin.route({
    path: "/",
    description: "the dashboard",
    handler: () => ({ contentType: "text/html; charset=utf-8", body: dashboardHtml(linker) }),
  });
  admin.route({ path: "/favicon.ico", description: "no icon", handler: () => text("", 204) });
  let adminPort: number;
  try {
    const tls = config.admin.tls === undefined ? undefined : serverTlsOptions(config.admin.tls);
    adminPort = await admin.listen(config.admin.ip, config.admin.port, tls);
  } catch (e) {
    await fleet?.stop(0);
    await linker.close(0);
    throw new LinkerBuildError(`admin ${config.admin.ip}:${config.admin.port}`, e);
  }
  log.info(
    { ip: config.admin.ip, port: adminPort },
    `serving admin on ${config.admin.ip}:${adminPort}`,
  );
  return { linker, admin, adminPort, log, shutdown, done };
}

export async function runDaemon(args: string[]): Promise<number> {
  const a = parseArgs(args);
  if (cluster.isWorker && process.env.L5D_WORKER !== undefined) return runWorkerProcess(a);
  if (a.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (a.error || !a.file) {
    process.stderr.write(`l5d: ${a.error ?? "missing config file"}\n${USAGE}`);
    return 1;
  }
  const loaded = loadConfigFile(a.file);
  if (!loaded.ok) {
    process.stderr.write(`l5d: ${loaded.message}\n`);
    return 1;
  }
  const log = pino({ level: a.logLevel, base: { app: "l5d" } });
  if (a.check) {
    try {
      const b = buildPlugins(loaded.config, { log: pino({ level: "silent" }) });
      for (const c of b.closers.reverse()) await c();
    } catch (e) {
      process.stderr.write(`l5d: invalid config ${a.file}:\n${(e as Error).message}\n`);
      return 1;
    }
    process.stdout.write(
      `${a.file}: ok (${loaded.config.routers.length} router(s), ${loaded.config.namers.length} namer(s))\n`,
    );
    return 0;
  }
  let d: StartedDaemon;
  try {
    d = await startDaemon(loaded.config, log, process.env, {
      configText: loaded.text,
      logLevel: a.logLevel,
    });
  } catch (e) {
    log.error({ err: (e as Error).message }, "startup failed");
    process.stderr.write(`l5d: ${(e as Error).message}\n`);
    return 1;
  }
  const onSignal = (sig: string) => {
    log.info({ signal: sig }, "signal received");
    void d.shutdown();
  };
  process.once("SIGINT", () => onSignal("SIGINT"));
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  keepRunning(log);
  await d.done;
  return 0;
}

/** A vanished endpoint or a bug in one request must never take the process down. */
function keepRunning(log: Logger): void {
  process.on("uncaughtException", (e) =>
    log.error({ err: e.stack ?? e.message }, "uncaught exception"),
  );
  process.on("unhandledRejection", (e) => log.error({ err: String(e) }, "unhandled rejection"));
}

/** A forked worker of `workers: n`: the primary validated the config and hands over its text. */
async function runWorkerProcess(a: Args): Promise<number> {
  const text = await configFromPrimary();
  if (text === undefined) return 0;
  const loaded = parseConfigText(text, a.file ?? "config");
  if (!loaded.ok) {
    process.stderr.write(`l5d worker: ${loaded.message}\n`);
    return 1;
  }
  const log = pino({
    level: a.logLevel,
    base: { app: "l5d", worker: Number(process.env.L5D_WORKER ?? 0) },
  });
  keepRunning(log);
  return runWorker(loaded.config, log);
}
