import { spawn } from "node:child_process";

/** What a finished command printed. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A command that did not finish within its time limit. */
export class CommandTimeoutError extends Error {
  readonly code = "COMMAND_TIMEOUT";
  constructor(cmd: string, timeoutMs: number) {
    super(`${cmd} did not finish in ${timeoutMs} ms`);
    this.name = "CommandTimeoutError";
  }
}

/** Runs a command to completion (killed after `timeoutMs`), capturing its output. */
export function runCommand(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new CommandTimeoutError(`${cmd} ${args.join(" ")}`, timeoutMs));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
