/** The test's side of the control-plane agent (see api-agent-main.ts). */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { AGENT_MARK, type AgentRequest } from "./api-agent-protocol.js";
import { LabProcess } from "./lab-process.js";

/** The agent answered a command with an error. */
export class AgentCommandError extends Error {
  readonly code = "AGENT_COMMAND_FAILED";
  constructor(op: string, detail: string) {
    super(`agent ${op}: ${detail}`);
    this.name = "AgentCommandError";
  }
}

type Answer = { id: number; ok: boolean; error?: string } & Record<string, unknown>;

/** The control-plane agent running in namespace `ns` (or here, when undefined). */
export class ApiAgent {
  readonly process: LabProcess;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (a: Answer) => void; op: string }>();

  constructor(ns: string | undefined, cwd: string) {
    // from src (vitest) the program runs through tsx; from dist as plain JS
    const ts = join(import.meta.dirname, "api-agent-main.ts");
    const fromSrc = existsSync(ts);
    this.process = new LabProcess({
      ns,
      name: "ctl-agent",
      cwd,
      nodeArgs: fromSrc ? ["--import", "tsx"] : [],
      args: [fromSrc ? ts : join(import.meta.dirname, "api-agent-main.js")],
    });
    const stdout = this.process.child.stdout;
    if (stdout === null) throw new Error("agent without stdout");
    createInterface({ input: stdout }).on("line", (line) => {
      if (!line.startsWith(AGENT_MARK)) return;
      const a = JSON.parse(line.slice(AGENT_MARK.length)) as Answer;
      const p = this.#pending.get(a.id);
      this.#pending.delete(a.id);
      p?.resolve(a);
    });
    void this.process.exited.then(() => {
      for (const [id, p] of this.#pending) {
        this.#pending.delete(id);
        p.resolve({ id, ok: false, error: `agent exited\n${this.process.output}` });
      }
    });
  }

  /** Sends one command; resolves with the answer's fields, rejects with {@link AgentCommandError}. */
  async call(req: AgentRequest): Promise<Record<string, unknown>> {
    const id = this.#next++;
    const answer = await new Promise<Answer>((resolve) => {
      this.#pending.set(id, { resolve, op: req.op });
      this.process.child.stdin?.write(`${JSON.stringify({ ...req, id })}\n`);
    });
    if (!answer.ok) throw new AgentCommandError(req.op, answer.error ?? "failed");
    return answer;
  }

  /** GET `url` from inside the agent's namespace. */
  async http(url: string, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
    const a = await this.call({ op: "http", url, timeoutMs });
    return { status: a.status as number, body: a.body as string };
  }

  /** Closes stdin (the agent closes the stand-in and exits), then makes sure it is gone. */
  async close(): Promise<void> {
    this.process.child.stdin?.end();
    const t = setTimeout(() => void this.process.stop(), 3_000);
    await this.process.exited;
    clearTimeout(t);
  }
}
