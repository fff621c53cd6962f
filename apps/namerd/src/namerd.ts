/**
 * A running namerd: the store, the namers, one interpreter per namespace, the interfaces and
 * the admin server, built from a validated config. Nothing listens until every plugin is
 * built; a plugin that fails to build or an interface that cannot listen stops the start with
 * the key path at fault, after closing what was already opened.
 */
import type { BuildContext, ParsedPlugin, PluginLogger } from "@l5d/config";
import { mountNamers, PluginBuildError } from "@l5d/namers";
import type { Logger } from "pino";
import { type NamerdAdmin, startNamerdAdmin } from "./admin/namerd-admin.js";
import type { ListeningInterface, NamerdInterface } from "./interfaces/namerd-interface.js";
import type { NamerdConfig } from "./namerd-config.js";
import { Namespaces } from "./namespaces.js";
import type { DtabStore } from "./storage/dtab-store.js";
import type { NamerdTelemeter } from "./telemetry/prometheus-telemeter.js";

export class NamerdStartError extends Error {
  constructor(
    readonly keyPath: string,
    cause: unknown,
  ) {
    super(`${keyPath}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "NamerdStartError";
  }
}

export interface RunningNamerd {
  readonly namespaces: Namespaces;
  readonly interfaces: readonly (ListeningInterface & { readonly kind: string })[];
  readonly admin: NamerdAdmin;
  readonly log: Logger;
  /** Closes the interfaces, the admin server, the store and the namers; idempotent. */
  close(): Promise<void>;
  /** Resolves once `close` has finished (after a signal or `POST /admin/shutdown`). */
  readonly done: Promise<void>;
}

function pluginLogger(log: Logger): PluginLogger {
  return {
    info: (o, m) => (typeof o === "string" ? log.info(o) : log.info(o, m)),
    warn: (o, m) => (typeof o === "string" ? log.warn(o) : log.warn(o, m)),
    error: (o, m) => (typeof o === "string" ? log.error(o) : log.error(o, m)),
    debug: (o, m) => (typeof o === "string" ? log.debug(o) : log.debug(o, m)),
  };
}

function make<T>(p: ParsedPlugin, ctx: BuildContext): T {
  try {
    return p.factory.make(p.config, ctx) as T;
  } catch (e) {
    throw new NamerdStartError(p.path, e);
  }
}

export interface StartOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export async function startNamerd(
  config: NamerdConfig,
  log: Logger,
  opts: StartOptions = {},
): Promise<RunningNamerd> {
  const closers: Array<() => void | Promise<void>> = [];
  const ctxFor = (scope: string, services: Record<string, unknown> = {}): BuildContext => ({
    env: opts.env ?? process.env,
    log: pluginLogger(log.child({ plugin: scope })),
    onClose: (f) => closers.push(f),
    services,
  });
  const closeAll = async () => {
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (e) {
        log.warn({ err: (e as Error).message }, "close failed");
      }
    }
  };
  const opened: (ListeningInterface & { kind: string })[] = [];
  let admin: NamerdAdmin | undefined;
  try {
    const store = make<DtabStore>(config.storage, ctxFor("storage"));
    closers.push(() => store.close?.());
    let namers: ReturnType<typeof mountNamers>;
    try {
      namers = mountNamers(config.namers, ctxFor("namers"));
    } catch (e) {
      throw e instanceof PluginBuildError ? new NamerdStartError(e.path, e.cause) : e;
    }
    const namespaces = new Namespaces(store, namers);
    closers.push(() => namespaces.close());
    const telemeters = config.telemetry.map((p) => make<NamerdTelemeter>(p, ctxFor(p.path)));
    const ifaces = config.interfaces.map((p) => ({
      path: p.path,
      iface: make<NamerdInterface>(p, ctxFor(p.path)),
    }));
    for (const { path, iface } of ifaces) {
      try {
        const l = await iface.listen({
          namespaces,
          log: pluginLogger(log.child({ iface: iface.kind })),
        });
        opened.push({ ...l, kind: iface.kind, close: () => l.close() });
      } catch (e) {
        throw new NamerdStartError(path, e);
      }
    }
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => {
      resolveDone = r;
    });
    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        log.info("namerd shutting down");
        await admin?.close();
        await Promise.all(opened.map((o) => o.close()));
        await closeAll();
        log.info("namerd stopped");
        resolveDone();
      })();
      return closing;
    };
    const routes = telemeters.flatMap((t) => t.routes(namespaces));
    try {
      admin = await startNamerdAdmin(config.admin, {
        namespaces,
        interfaces: opened,
        log,
        routes,
        shutdown: () => void close(),
      });
    } catch (e) {
      throw new NamerdStartError(`admin ${config.admin.ip}:${config.admin.port}`, e);
    }
    return { namespaces, interfaces: opened, admin, log, close, done };
  } catch (e) {
    await admin?.close();
    await Promise.all(opened.map((o) => o.close()));
    await closeAll();
    throw e;
  }
}
