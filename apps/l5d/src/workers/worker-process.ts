/**
 * A worker of `workers: n`: it opens every router's servers (node's cluster shares each port
 * with the other workers), binds names through the primary (`RemoteBindings`), answers the
 * primary's report requests with its metrics and routers, and drains when the primary says
 * `shutdown` or goes away. SIGINT/SIGTERM are the primary's to handle: a terminal's Ctrl-C
 * reaches every process of the group, and the primary drains the workers itself.
 */
import type { LinkerdConfig } from "@l5d/config";
import type { Logger } from "pino";
import { type Linker, link } from "../linker.js";
import { RecentRequests } from "../telemetry/recent-requests-telemeter.js";
import { RemoteBindings } from "./remote-interpreter.js";
import { type FromWorker, isWireMessage, type RouterReport, type ToWorker } from "./wire.js";

function send(m: FromWorker): void {
  if (process.connected && process.send) process.send(m);
}

function report(linker: Linker, req: number): FromWorker {
  const routers: RouterReport[] = linker.routers.map((r) => ({
    label: r.config.label,
    servers: r.servers.map((s) => ({ ip: s.ip, port: s.port, connections: s.proxy.connections })),
    clients: r.router.clients(),
  }));
  const recent = linker.telemeters.flatMap((t) => (t instanceof RecentRequests ? t.recent : []));
  return { l5d: "report", req, metrics: linker.metrics.data(), routers, recent };
}

/** Runs this process as a worker until the primary stops it; resolves with the exit code. */
export async function runWorker(config: LinkerdConfig, log: Logger): Promise<number> {
  const bindings = new RemoteBindings(send);
  let linker: Linker | undefined;
  let stopping: Promise<number> | undefined;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });
  const stop = (graceMs: number, why: string) => {
    stopping ??= (async () => {
      log.info({ graceMs, why }, "worker draining");
      await linker?.close(graceMs);
      log.info("worker stopped");
      // the IPC channel is all that keeps the process running now
      if (process.connected) process.disconnect();
      resolveDone(0);
      return 0;
    })();
    return stopping;
  };
  process.on("message", (m: unknown) => {
    if (!isWireMessage(m)) return;
    const msg = m as ToWorker;
    if (msg.l5d === "report?") {
      if (linker) send(report(linker, msg.req));
    } else if (msg.l5d === "shutdown") void stop(msg.graceMs, "primary");
    else bindings.receive(msg);
  });
  process.on("disconnect", () => void stop(0, "primary gone"));
  process.on("SIGINT", () => log.debug("SIGINT: left to the primary"));
  process.on("SIGTERM", () => log.debug("SIGTERM: left to the primary"));
  try {
    linker = await link(config, { log, remoteInterpreter: (label) => bindings.interpreter(label) });
  } catch (e) {
    log.error({ err: (e as Error).message }, "worker startup failed");
    // once the primary has the reason, nothing keeps the process: it exits, and the primary
    // stops the daemon (at start) or restarts it with backoff
    const failed: FromWorker = { l5d: "startFailed", message: (e as Error).message };
    await new Promise<void>((resolve) => {
      if (!process.connected || !process.send) return resolve();
      process.send(failed, undefined, {}, () => resolve());
    });
    if (process.connected) process.disconnect();
    return 1;
  }
  if (stopping) await linker.close(0);
  send({
    l5d: "ready",
    servers: linker.routers.flatMap((r) =>
      r.servers.map((s) => ({ router: s.router, ip: s.ip, port: s.port })),
    ),
  });
  return done;
}

/**
 * The config's text, the primary's first message to a worker (`undefined` when the primary went
 * away or is stopping). It is asked for (`config?`) once this listens: a message that came while
 * the worker was still loading would have found no listener.
 */
export function configFromPrimary(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      if (!isWireMessage(m) || (m.l5d !== "config" && m.l5d !== "shutdown")) return;
      process.off("message", onMessage);
      process.off("disconnect", onGone);
      // a shutdown before the config: the daemon is stopping while this worker started
      if (m.l5d === "shutdown") {
        process.disconnect();
        resolve(undefined);
      } else resolve((m as ToWorker & { l5d: "config" }).text);
    };
    const onGone = () => resolve(undefined);
    process.on("message", onMessage);
    process.once("disconnect", onGone);
    send({ l5d: "config?" });
  });
}
