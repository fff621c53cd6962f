/**
 * A real, single-member etcd for tests: Debian's `etcd-server` (`/usr/bin/etcd`, v3.4) on
 * 127.0.0.1 with two free ports (client, peer) and a temporary data dir. `stop()` kills it
 * (a crash, for outage tests) and `start()` brings it back on the same ports and data, so the
 * stored keys and revisions survive. Missing etcd is an error, never a skip.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export class EtcdProcess {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #log: string[] = [];

  private constructor(
    readonly dataDir: string,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {}

  /** `127.0.0.1:<client port>`, what etcd3 clients and the store connect to. */
  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  /** Starts a fresh etcd and waits until it answers `/health`. */
  static async launch(): Promise<EtcdProcess> {
    const which = spawnSync("etcd", ["--version"], { encoding: "utf8" });
    if (which.error !== undefined || which.status !== 0) {
      throw new Error(
        "etcd is not installed (no `etcd` on PATH): install Debian's etcd-server package " +
          "(`apt-get install etcd-server`; .ci/run installs it) to run the io.l5d.etcd tests",
      );
    }
    const dataDir = await mkdtemp(join(tmpdir(), "namerd-etcd-"));
    const [clientPort, peerPort] = await freePorts(2);
    const p = new EtcdProcess(dataDir, clientPort as number, peerPort as number);
    await p.start();
    return p;
  }

  /** Starts etcd (again) on the same ports and data dir; resolves once it is healthy. */
  async start(): Promise<void> {
    if (this.#child !== undefined) throw new Error("etcd is already running");
    const client = `http://127.0.0.1:${this.clientPort}`;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.#log = [];
    const child = spawn(
      "etcd",
      [
        "--name=test",
        `--data-dir=${this.dataDir}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=test=${peer}`,
        "--initial-cluster-state=new",
        "--logger=zap",
        "--log-level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#child = child;
    const keep = (b: Buffer) => {
      this.#log.push(b.toString("utf8"));
      if (this.#log.length > 50) this.#log.shift();
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.#exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    let exitedEarly = false;
    void this.#exited.then(() => {
      exitedEarly = true;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exitedEarly) break;
      if (await this.#isHealthy()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new Error(
      `etcd did not become healthy within ${START_TIMEOUT_MS} ms on ${client}:\n${this.#log.join("")}`,
    );
  }

  /** Kills etcd (SIGKILL: an abrupt outage) and waits until it has exited. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await Promise.race([this.#exited, new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS))]);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Stops etcd and removes its data dir. */
  async close(): Promise<void> {
    await this.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }

  async #isHealthy(): Promise<boolean> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.clientPort}/health`, {
        signal: AbortSignal.timeout(1_000),
      });
      if (!res.ok) return false;
      const body = (await res.json()) as { health?: unknown };
      return body.health === "true";
    } catch {
      return false;
    }
  }
}

/** `n` distinct ports the OS says are free now (held open together so they differ). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === "string") throw new Error("no TCP address");
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}
