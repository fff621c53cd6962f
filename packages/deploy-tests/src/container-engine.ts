import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { request } from "node:http";

/** Whether a Docker-API engine and the docker CLI with compose v2 can be used from here. */
export interface ContainerEngine {
  available: boolean;
  /** Why not (or what was found), for the skip message. */
  reason: string;
  /** The Docker API unix socket that answered `/_ping`. */
  socketPath?: string;
}

function socketFromEnv(): string | undefined {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith("unix://")) return host.slice("unix://".length);
  if (host !== undefined && host !== "") return undefined;
  for (const p of ["/var/run/docker.sock", "/run/docker.sock"]) if (existsSync(p)) return p;
  return undefined;
}

function ping(socketPath: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request(
      { socketPath, path: "/_ping", method: "GET", timeout: timeoutMs },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          body += d;
        });
        res.on("end", () =>
          resolve(res.statusCode === 200 ? undefined : `/_ping answered ${res.statusCode} ${body}`),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on("error", (e) => resolve(e.message));
    req.end();
  });
}

function cli(args: string[]): string | undefined {
  const r = spawnSync("docker", args, { encoding: "utf8", timeout: 10_000 });
  if (r.error) return r.error.message;
  if (r.status !== 0) return (r.stderr || r.stdout).trim().split("\n")[0] ?? `exit ${r.status}`;
  return undefined;
}

/**
 * Looks for a reachable container engine: a unix socket from `DOCKER_HOST` (or
 * /var/run/docker.sock) that answers `/_ping`, the `docker` CLI and `docker compose` (v2).
 * A TCP `DOCKER_HOST` is not probed (the tests only talk to loopback), so it counts as absent.
 */
export async function detectContainerEngine(timeoutMs = 3_000): Promise<ContainerEngine> {
  const socketPath = socketFromEnv();
  if (socketPath === undefined) {
    const host = process.env.DOCKER_HOST;
    return {
      available: false,
      reason: host
        ? `DOCKER_HOST=${host} is not a unix socket`
        : "no DOCKER_HOST and no /var/run/docker.sock",
    };
  }
  const err = await ping(socketPath, timeoutMs);
  if (err !== undefined)
    return { available: false, reason: `${socketPath} does not answer: ${err}` };
  const noCli = cli(["version", "--format", "{{.Server.Version}}"]);
  if (noCli !== undefined)
    return { available: false, reason: `docker CLI unusable: ${noCli}`, socketPath };
  const noCompose = cli(["compose", "version"]);
  if (noCompose !== undefined)
    return { available: false, reason: `docker compose (v2) unusable: ${noCompose}`, socketPath };
  return { available: true, reason: `engine at ${socketPath}`, socketPath };
}
