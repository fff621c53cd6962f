/**
 * The lab's control-plane host program: runs inside the `ctl` namespace and there hosts the
 * Kubernetes API stand-in (where `kubectl proxy` would answer) and acts for the test, which
 * lives in the root namespace and cannot reach the lab's addresses: it applies and deletes
 * objects, fetches admin URLs and waits for ports. Commands arrive as JSON lines on stdin;
 * answers leave as `@@agent <json>` lines on stdout. Ends when stdin closes.
 */
import { connect } from "node:net";
import { createInterface } from "node:readline";
import { type K8sObject, type Standin, startStandin } from "@l5d/k8s-standin";
import type { AgentCommand } from "./api-agent-protocol.js";
import { AGENT_MARK } from "./api-agent-protocol.js";

let standin: Standin | undefined;

function need(): Standin {
  if (standin === undefined) throw new Error("stand-in not started");
  return standin;
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

async function handle(cmd: AgentCommand): Promise<Record<string, unknown>> {
  switch (cmd.op) {
    case "start": {
      standin = await startStandin({
        host: cmd.host,
        port: cmd.port,
        objects: cmd.objects as K8sObject[],
        bookmarkIntervalMs: 5_000,
      });
      return { url: standin.url };
    }
    case "apply":
      need().apply(cmd.object as K8sObject);
      return {};
    case "delete":
      return { existed: need().delete(cmd.kind, cmd.namespace, cmd.name) };
    case "get":
      return { object: need().get(cmd.kind, cmd.namespace, cmd.name) ?? null };
    case "http": {
      const res = await fetch(cmd.url, { signal: AbortSignal.timeout(cmd.timeoutMs) });
      return { status: res.status, body: await res.text() };
    }
    case "waitTcp": {
      const deadline = Date.now() + cmd.timeoutMs;
      while (!(await tcpOpen(cmd.host, cmd.port))) {
        if (Date.now() > deadline)
          throw new Error(`${cmd.host}:${cmd.port} not open after ${cmd.timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return {};
    }
  }
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line.trim() === "") return;
  const cmd = JSON.parse(line) as AgentCommand;
  handle(cmd).then(
    (r) => process.stdout.write(`${AGENT_MARK}${JSON.stringify({ id: cmd.id, ok: true, ...r })}\n`),
    (err: unknown) =>
      process.stdout.write(
        `${AGENT_MARK}${JSON.stringify({ id: cmd.id, ok: false, error: err instanceof Error ? err.message : String(err) })}\n`,
      ),
  );
});
lines.on("close", () => {
  void (standin?.close() ?? Promise.resolve()).then(() => process.exit(0));
});
