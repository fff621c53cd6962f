/**
 * The primary of `workers: n`: forks the workers (node:cluster, which shares each server port
 * among them and hands every new connection to one of them in turn), serves their name bindings
 * from its own namers (`BindingHost`), collects their metrics and routers for the admin server
 * (`AdminLiveView`: metrics summed, servers' connections summed, clients merged by id), restarts
 * a worker that dies, and drains them all on shutdown.
 */
import cluster, { type Worker } from "node:cluster";
import type { LinkerdConfig } from "@l5d/config";
import type { NameInterpreter } from "@l5d/dtab";
import { type Counter, Histogram, type MetricData, type RequestRecord } from "@l5d/h2-proxy";
import type { Logger } from "pino";
import type { AdminLiveView, RouterLiveView } from "../admin/admin-routes.js";
import { type AdminRoute, json } from "../admin/admin-server.js";
import { type Linker, LinkerBuildError } from "../linker.js";
import { RecentRequests } from "../telemetry/recent-requests-telemeter.js";
import { BindingHost } from "./binding-host.js";
import {
  type ClientReport,
  type FromWorker,
  isWireMessage,
  type RouterReport,
  type ServerPort,
  type ToWorker,
} from "./wire.js";

/** How long the admin waits for the workers' reports before answering with the last ones. */
const REPORT_TIMEOUT_MS = 1_000;
/** The fleet's restart policy and start deadline. */
export interface FleetTimings {
  /**
   * The first restart's delay; doubled per consecutive failure (a worker that did not start, or
   * died within `stableMs` of serving), up to `maxRestartMs`.
   */
  readonly restartMs: number;
  readonly maxRestartMs: number;
  /** A worker that served this long before it died starts again after `restartMs`. */
  readonly stableMs: number;
  /** A worker not serving this long after its fork is killed (and restarted). */
  readonly startTimeoutMs: number;
}

export const DEFAULT_FLEET_TIMINGS: FleetTimings = {
  restartMs: 500,
  maxRestartMs: 30_000,
  stableMs: 10_000,
  startTimeoutMs: 60_000,
};

export type WorkerState = "starting" | "ready" | "stopping" | "exited";

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  host: BindingHost | undefined;
  state: WorkerState;
  restarts: number;
  failedStarts: number;
  readyAt: number;
  metrics: readonly MetricData[];
  routers: readonly RouterReport[];
  recent: readonly RequestRecord[];
}

export interface WorkerFleetOptions {
  readonly count: number;
  /** The validated config's text, the first message every worker gets. */
  readonly configText: string;
  readonly logLevel: string;
  readonly interpreters: ReadonlyMap<string, NameInterpreter>;
  readonly log: Logger;
  readonly restarts: Counter;
  /** The restart policy and start deadline (`DEFAULT_FLEET_TIMINGS`; tests shorten them). */
  readonly timings?: FleetTimings | undefined;
}

export class WorkerFleet implements AdminLiveView {
  readonly #slots: Slot[];
  readonly #pending = new Map<number, { left: Set<Slot>; done: () => void }>();
  readonly #retired = new Map<string, MetricData>();
  #nextReq = 1;
  #refreshing: Promise<void> | undefined;
  #stopping = false;
  #onStarted: ((e?: Error) => void) | undefined;
  readonly #timings: FleetTimings;

  constructor(private readonly opts: WorkerFleetOptions) {
    this.#timings = opts.timings ?? DEFAULT_FLEET_TIMINGS;
    this.#slots = Array.from({ length: opts.count }, (_, index) => ({
      index,
      worker: undefined,
      host: undefined,
      state: "starting" as WorkerState,
      restarts: 0,
      failedStarts: 0,
      readyAt: 0,
      metrics: [],
      routers: [],
      recent: [],
    }));
  }

  /**
   * The workers' metrics as last reported (for `MetricsRegistry.addSource`), with the counters
   * and histograms of workers that exited: a sum must not go down when a worker is replaced
   * (Prometheus's `rate()` would read a reset).
   */
  metrics(): MetricData[] {
    return [...this.#retired.values(), ...this.#slots.flatMap((s) => s.metrics)];
  }

  /** The requests the workers' `io.l5d.recentRequests` telemeters sampled, as last reported. */
  recentRequests(): RequestRecord[] {
    return this.#slots.flatMap((s) => s.recent);
  }

  /** Keeps an exited worker's counters and histograms in the sums (its gauges leave with it). */
  #retire(metrics: readonly MetricData[]): void {
    for (const m of metrics) {
      const have = this.#retired.get(m.name);
      if (m.kind === "counter") {
        const value = (have?.kind === "counter" ? have.value : 0) + m.value;
        this.#retired.set(m.name, { name: m.name, kind: "counter", value });
      } else if (m.kind === "histogram") {
        const h = new Histogram();
        if (have?.kind === "histogram") h.merge(have.data);
        h.merge(m.data);
        this.#retired.set(m.name, { name: m.name, kind: "histogram", data: h.data() });
      }
    }
  }

  /** Forks every worker; resolves with their servers' ports once all are serving. */
  start(): Promise<ServerPort[]> {
    return new Promise<ServerPort[]>((resolve, reject) => {
      let ports: ServerPort[] = [];
      this.#onStarted = (e) => {
        if (e) {
          this.#onStarted = undefined;
          reject(e);
        } else if (this.#slots.every((s) => s.state === "ready")) {
          this.#onStarted = undefined;
          resolve(ports);
        }
      };
      for (const s of this.#slots) this.#fork(s, (p) => (ports = p));
    });
  }

  #fork(slot: Slot, onPorts?: (p: ServerPort[]) => void): void {
    const worker = cluster.fork({
      L5D_WORKER: String(slot.index),
      L5D_LOG_LEVEL: this.opts.logLevel,
    });
    const log = this.opts.log.child({ worker: slot.index, pid: worker.process.pid });
    slot.worker = worker;
    slot.state = "starting";
    // a worker exiting while a message is on its way: EPIPE, an 'error' on the worker
    worker.on("error", (e) => log.debug({ err: e.message }, "worker channel error"));
    const send = (m: ToWorker) => {
      if (worker.isConnected()) worker.send(m, undefined, {}, () => {});
    };
    const host = new BindingHost(this.opts.interpreters, send, log);
    slot.host = host;
    const { startTimeoutMs, stableMs, restartMs, maxRestartMs } = this.#timings;
    const startTimer = setTimeout(() => {
      log.error({ timeoutMs: startTimeoutMs }, "worker did not start in time: killed");
      worker.process.kill("SIGKILL");
    }, startTimeoutMs);
    startTimer.unref();
    worker.on("message", (m: unknown) => {
      if (!isWireMessage(m)) return;
      const msg = m as FromWorker;
      switch (msg.l5d) {
        case "config?":
          // over the channel rather than in the environment: no size limit, not in /proc/<pid>/environ
          if (this.#stopping) send({ l5d: "shutdown", graceMs: 0 });
          else send({ l5d: "config", text: this.opts.configText });
          return;
        case "bind":
        case "unbind":
          host.handle(msg);
          return;
        case "ready":
          clearTimeout(startTimer);
          slot.readyAt = Date.now();
          if (this.#stopping) {
            // a worker that was starting when the stop began: it drains now
            slot.state = "stopping";
            send({ l5d: "shutdown", graceMs: 0 });
            return;
          }
          slot.state = "ready";
          log.info({ servers: msg.servers.length }, "worker serving");
          onPorts?.([...msg.servers]);
          this.#onStarted?.();
          return;
        case "startFailed":
          this.#onStarted?.(new Error(msg.message));
          return;
        case "report":
          slot.metrics = msg.metrics;
          slot.routers = msg.routers;
          slot.recent = msg.recent;
          this.#reported(msg.req, slot);
          return;
      }
    });
    worker.on("exit", (code, signal) => {
      clearTimeout(startTimer);
      const stable = slot.state === "ready" && Date.now() - slot.readyAt >= stableMs;
      slot.state = "exited";
      slot.worker = undefined;
      host.close();
      this.#retire(slot.metrics);
      slot.metrics = [];
      slot.routers = [];
      slot.recent = [];
      for (const [req, p] of this.#pending) if (p.left.delete(slot)) this.#reported(req);
      if (this.#stopping) return;
      log.error({ code, signal }, "worker exited");
      if (this.#onStarted) {
        this.#onStarted(new Error(`worker ${slot.index} exited during startup (code ${code})`));
        return;
      }
      slot.restarts++;
      this.opts.restarts.incr();
      // a worker that served a while starts afresh; one that failed or died young backs off
      slot.failedStarts = stable ? 0 : slot.failedStarts + 1;
      const delay = Math.min(maxRestartMs, restartMs * 2 ** slot.failedStarts);
      log.warn({ delayMs: delay }, "restarting worker");
      setTimeout(() => {
        if (!this.#stopping && slot.worker === undefined) this.#fork(slot);
      }, delay).unref();
    });
  }

  #reported(req: number, slot?: Slot): void {
    const p = this.#pending.get(req);
    if (p === undefined) return;
    if (slot) p.left.delete(slot);
    if (p.left.size === 0) p.done();
  }

  /** Asks every serving worker for its figures; resolves when all answered or after 1 s. */
  refresh(): Promise<void> {
    this.#refreshing ??= new Promise<void>((resolve) => {
      const req = this.#nextReq++;
      const left = new Set(this.#slots.filter((s) => s.state === "ready" && s.worker));
      const timer = setTimeout(done, REPORT_TIMEOUT_MS);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#pending.set(req, { left, done });
      for (const s of left)
        if (s.worker?.isConnected())
          s.worker.send({ l5d: "report?", req }, undefined, {}, () => {});
      if (left.size === 0) done();
    }).finally(() => {
      this.#refreshing = undefined;
      this.#pending.clear();
    });
    return this.#refreshing;
  }

  router(label: string): RouterLiveView {
    const servers = new Map<string, { ip: string; port: number; connections: number }>();
    const clients = new Map<string, ClientReport & { workers: number }>();
    for (const s of this.#slots) {
      const r = s.routers.find((x) => x.label === label);
      if (r === undefined) continue;
      for (const sv of r.servers) {
        const k = `${sv.ip}:${sv.port}`;
        const have = servers.get(k);
        if (have) have.connections += sv.connections;
        else servers.set(k, { ...sv });
      }
      for (const c of r.clients) {
        const have = clients.get(c.id);
        if (have === undefined) {
          clients.set(c.id, { ...c, endpoints: c.endpoints.map((e) => ({ ...e })), workers: 1 });
          continue;
        }
        have.workers++;
        for (const e of c.endpoints) {
          const same = have.endpoints.find((x) => x.key === e.key);
          if (same === undefined) (have.endpoints as Array<typeof e>).push({ ...e });
          else
            for (const k of ["inflight", "requests", "load"])
              if (typeof e[k] === "number") same[k] = Number(same[k] ?? 0) + (e[k] as number);
        }
      }
    }
    return { servers: [...servers.values()], clients: [...clients.values()] };
  }

  /** `/workers.json`: each worker's state, pid, restarts, connections, requests and bindings. */
  get extraRoutes(): readonly AdminRoute[] {
    return [
      {
        path: "/workers.json",
        description: "the worker processes (workers: n): state, pid, connections, requests",
        handler: () =>
          json(
            this.#slots.map((s) => ({
              index: s.index,
              pid: s.worker?.process.pid ?? null,
              state: s.state,
              restarts: s.restarts,
              connections: s.routers.reduce(
                (n, r) => n + r.servers.reduce((m, sv) => m + sv.connections, 0),
                0,
              ),
              requests: s.metrics.reduce(
                (n, m) => (m.kind === "counter" && SERVER_REQUESTS.test(m.name) ? n + m.value : n),
                0,
              ),
              bindings: s.host?.bindings ?? 0,
              addrWatches: s.host?.addrWatches ?? 0,
            })),
          ),
      },
    ];
  }

  /** Drains every worker (`graceMs` each, in parallel); kills one that does not exit in time. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      this.#slots.map(async (s) => {
        const w = s.worker;
        if (w === undefined) return;
        s.state = "stopping";
        const exited = new Promise<void>((r) => w.once("exit", () => r()));
        if (w.isConnected())
          w.send({ l5d: "shutdown", graceMs } satisfies ToWorker, undefined, {}, () => {});
        const timer = setTimeout(() => w.process.kill("SIGKILL"), graceMs + 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

const SERVER_REQUESTS = /^rt\/[^/]+\/server\/[^/]+\/[^/]+\/requests$/;

/** What `workers: n` (n > 1) needs beyond the config: the text the workers are given. */
export interface WorkersOptions {
  readonly configText: string;
  readonly logLevel: string;
}

/**
 * Forks the workers of `workers: n` for a linker built without servers, sums their metrics and
 * recent requests into its own, and resolves once every worker serves (logging each port once);
 * if one cannot, everything is stopped and the reason thrown.
 */
export async function startWorkerFleet(
  config: LinkerdConfig,
  linker: Linker,
  log: Logger,
  opts: WorkersOptions,
): Promise<WorkerFleet> {
  const fleet = new WorkerFleet({
    count: config.workers,
    configText: opts.configText,
    logLevel: opts.logLevel,
    interpreters: new Map(linker.routers.map((r) => [r.config.label, r.router.interpreter])),
    log,
    restarts: linker.metrics.counter("workers/restarts"),
  });
  linker.metrics.addSource(() => fleet.metrics());
  for (const t of linker.telemeters)
    if (t instanceof RecentRequests) t.addSource(() => fleet.recentRequests());
  try {
    const ports = await fleet.start();
    for (const p of new Map(ports.map((x) => [`${x.router} ${x.ip}:${x.port}`, x])).values())
      log.info(
        { ip: p.ip, port: p.port, workers: config.workers },
        `serving ${p.router} on ${p.ip}:${p.port}`,
      );
  } catch (e) {
    await fleet.stop(0);
    await linker.close(0);
    throw new LinkerBuildError("workers", e);
  }
  return fleet;
}
