/** Processes started inside a lab namespace (`ip netns exec <ns> node …`), with their output kept. */
import { type ChildProcess, spawn } from "node:child_process";

/** Options of {@link startInNamespace}. */
export interface LabProcessOptions {
  /** The namespace, or undefined for the current one. */
  readonly ns: string | undefined;
  /** A label for diagnostics. */
  readonly name: string;
  /** The node script and its arguments (run with this process's `node`). */
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
  readonly cwd: string;
  /** Node options placed before the script (e.g. `--import tsx`). */
  readonly nodeArgs?: readonly string[];
}

/** A running process; `ip netns exec` execs, so the pid is node's. */
export class LabProcess {
  readonly child: ChildProcess;
  readonly name: string;
  #out = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(opts: LabProcessOptions) {
    this.name = opts.name;
    const node = [...(opts.nodeArgs ?? []), ...opts.args];
    const [cmd, args] =
      opts.ns === undefined
        ? [process.execPath, node]
        : ["ip", ["netns", "exec", opts.ns, process.execPath, ...node]];
    this.child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const keep = (d: Buffer) => {
      this.#out += d.toString("utf8");
      if (this.#out.length > 64_000) this.#out = this.#out.slice(-32_000);
    };
    this.child.stdout?.on("data", keep);
    this.child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => resolve({ code, signal }));
    });
  }

  /** Everything printed so far (last 32-64 KB). */
  get output(): string {
    return this.#out;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
  async stop(graceMs = 3_000): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The result of a process run to completion. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a node script (in `ns`) to completion; killed after `timeoutMs`. */
export function runInNamespace(
  opts: LabProcessOptions & { readonly timeoutMs: number },
): Promise<RunResult> {
  const node = [...(opts.nodeArgs ?? []), ...opts.args];
  const [cmd, args] =
    opts.ns === undefined
      ? [process.execPath, node]
      : ["ip", ["netns", "exec", opts.ns, process.execPath, ...node]];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
