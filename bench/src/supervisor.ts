import { type ChildProcess, spawn } from "node:child_process";
import { processTree } from "./proc.js";

/** A process started by the harness. */
export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  /** last few KiB of stdout+stderr, for error messages. */
  output(): string;
  /** resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** true once the process has exited. */
  hasExited(): boolean;
}

/** Options for {@link Supervisor.spawn}. */
export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const TAIL = 8 * 1024;

/**
 * Starts processes and guarantees they (and their descendants: nginx/nghttpx workers) are stopped:
 * on {@link stopAll}, on SIGINT/SIGTERM/SIGHUP of the harness, and (SIGKILL) on process exit.
 */
export class Supervisor {
  readonly #children = new Set<Child>();
  #handlersInstalled = false;
  #exitHookInstalled = false;

  spawn(name: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): Child {
    const proc = spawn(cmd, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: opts.env ?? process.env,
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    });
    let tail = "";
    const keep = (b: Buffer): void => {
      tail = (tail + b.toString("utf8")).slice(-TAIL);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    let done = false;
    const exited = new Promise<number | string>((resolve) => {
      proc.on("exit", (code, signal) => {
        done = true;
        resolve(code ?? signal ?? "unknown");
      });
      proc.on("error", (err) => {
        done = true;
        keep(Buffer.from(`spawn error: ${err.message}\n`));
        resolve("spawn-error");
      });
    });
    if (proc.pid === undefined) done = true;
    const child: Child = {
      name,
      pid: proc.pid ?? -1,
      proc,
      output: () => tail,
      exited,
      hasExited: () => done,
    };
    this.#children.add(child);
    this.#installExitHook();
    return child;
  }

  /** SIGTERM the child's whole tree, then SIGKILL whatever is left after `graceMs`. */
  async stop(child: Child, graceMs = 3000): Promise<void> {
    this.#children.delete(child);
    if (child.pid < 0) return;
    const tree = child.hasExited() ? [] : processTree(child.pid);
    for (const pid of tree) signal(pid, "SIGTERM");
    const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), graceMs).unref());
    if ((await Promise.race([child.exited, timeout])) === "timeout") {
      for (const pid of processTree(child.pid)) signal(pid, "SIGKILL");
      await Promise.race([child.exited, new Promise((r) => setTimeout(r, 1000).unref())]);
    }
    // workers that outlived their master (re-parented): kill them too
    for (const pid of tree) if (alive(pid)) signal(pid, "SIGKILL");
  }

  /** Stops every live child, most recent first. */
  async stopAll(): Promise<void> {
    const all = [...this.#children].reverse();
    await Promise.all(all.map((c) => this.stop(c)));
  }

  /** Number of children not yet stopped. */
  get size(): number {
    return this.#children.size;
  }

  /** On SIGINT/SIGTERM/SIGHUP: stop every child, then exit 130. For the harness's main only. */
  installSignalHandlers(): void {
    if (this.#handlersInstalled) return;
    this.#handlersInstalled = true;
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      process.once(sig, () => {
        process.stderr.write(`\nbench: ${sig}, stopping ${this.size} process(es)\n`);
        void this.stopAll().finally(() => process.exit(130));
      });
    }
  }

  /** Last resort: SIGKILL every child tree still known when this process exits. */
  #installExitHook(): void {
    if (this.#exitHookInstalled) return;
    this.#exitHookInstalled = true;
    process.once("exit", () => {
      for (const c of this.#children) {
        if (c.pid < 0) continue;
        for (const pid of processTree(c.pid)) signal(pid, "SIGKILL");
      }
    });
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
