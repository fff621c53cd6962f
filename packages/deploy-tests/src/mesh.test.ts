// The images and the docker compose mesh, run for real with testcontainers on whatever engine
// DOCKER_HOST (or /var/run/docker.sock) points at. Without a reachable engine the whole file is
// SKIPPED with a message saying so. Images are built once per run (L5D_IMAGE_BUILD=prebuilt,
// the default: apps built on the host and packed by deploy/docker/Dockerfile.prebuilt; =full:
// the multi-stage deploy/docker/Dockerfile; =none: use the images already present).

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DockerComposeEnvironment,
  type StartedDockerComposeEnvironment,
  Wait,
} from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "./compose-cli.js";
import { detectContainerEngine } from "./container-engine.js";
import { repoRoot } from "./repo-root.js";

const root = repoRoot();
const composeDir = join(root, "deploy", "compose");
const project = "l5d-deploy-tests";
const L5D_IMAGE = "l5d-ts/l5d:0.1.0";
const HELLOWORLD_IMAGE = "l5d-ts/helloworld:0.1.0";
const NAMERD_IMAGE = "l5d-ts/namerd:0.1.0";
const ANSWER = "Hello (172.30.77.11) world (172.30.77.12)!!";

const engine = await detectContainerEngine();
if (!engine.available) {
  console.warn(
    `SKIPPED: image and compose tests need a container engine and none is reachable (${engine.reason}). ` +
      'Run `eval "$(bash ../shared/container-engine/setup.sh)"` first.',
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() =>
        typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port")),
      );
    });
  });
}

// testcontainers reads these from process.env: no Ryuk image can be pulled here, and the
// engine is on loopback (the container-engine README's settings, for runs without its env)
process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "127.0.0.1";

const env: NodeJS.ProcessEnv = {
  ...process.env,
  DOCKER_BUILDKIT: "0",
  COMPOSE_DOCKER_CLI_BUILD: "0",
  TESTCONTAINERS_RYUK_DISABLED: process.env.TESTCONTAINERS_RYUK_DISABLED ?? "true",
};
const ports = { aOut: 0, aAdmin: 0, bOut: 0, bAdmin: 0, ndHttp: 0, ndMesh: 0, ndAdmin: 0 };
/** Free host ports for every published port not chosen yet (each describe may run alone). */
async function ensurePorts(): Promise<void> {
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) {
    // distinct: the OS may offer a just-released port again
    for (let i = 0; ports[k] === 0 && i < 50; i++) {
      const p = await freePort();
      if (!Object.values(ports).includes(p)) ports[k] = p;
    }
  }
}
/** The host ports the compose files publish, as their variables. */
function portsEnv(): Record<string, string> {
  return {
    L5D_A_OUTGOING_PORT: String(ports.aOut),
    L5D_A_ADMIN_PORT: String(ports.aAdmin),
    L5D_B_OUTGOING_PORT: String(ports.bOut),
    L5D_B_ADMIN_PORT: String(ports.bAdmin),
    NAMERD_HTTP_PORT: String(ports.ndHttp),
    NAMERD_MESH_PORT: String(ports.ndMesh),
    NAMERD_ADMIN_PORT: String(ports.ndAdmin),
  };
}

/** A compose project: its name and files (the gRPC mesh, or it with the HTTP/1.1 override). */
interface Stack {
  readonly project: string;
  readonly files: readonly string[];
}
const GRPC_STACK: Stack = { project, files: ["docker-compose.yml"] };
const HTTP_STACK: Stack = {
  project: `${project}-http`,
  files: ["docker-compose.yml", "docker-compose.http.yml"],
};
const TLS_STACK: Stack = {
  project: `${project}-tls`,
  files: ["docker-compose.yml", "docker-compose.http.yml", "docker-compose.tls.yml"],
};
const NAMERD_STACK: Stack = { project: `${project}-namerd`, files: ["docker-compose.namerd.yml"] };
const NAMERD_ETCD_STACK: Stack = {
  project: `${project}-namerd-etcd`,
  files: ["docker-compose.namerd.yml", "docker-compose.namerd-etcd.yml"],
};
/** The TLS stack's certificates (made by deploy/local/make-certs.mjs in beforeAll). */
const certsDir = join(tmpdir(), `l5d-compose-certs-${process.pid}`);

function compose(args: string[], timeoutMs = 60_000, stack: Stack = GRPC_STACK) {
  const files = stack.files.flatMap((f) => ["-f", f]);
  return runCommand("docker", ["compose", "-p", stack.project, ...files, ...args], {
    cwd: composeDir,
    timeoutMs,
    env: { ...env, L5D_CERTS_DIR: certsDir, ...portsEnv() },
  });
}
let clientRuns = 0;
/**
 * `docker compose run --no-deps client`: one call through the mesh, as a user makes it. Not
 * `--rm`: podman's Docker API loses the exit code of auto-removed containers (always 0), so the
 * container is named and removed afterwards.
 */
async function client(stack: Stack = GRPC_STACK) {
  const name = `${stack.project}-client-${++clientRuns}`;
  try {
    return await compose(["run", "--no-deps", "--name", name, "client"], 60_000, stack);
  } finally {
    await runCommand("docker", ["rm", "-f", name], { env, timeoutMs: 30_000 });
  }
}
/** The stack's four services up (l5ds healthy, the apps' `starting … server` line seen). */
function upStack(stack: Stack, app: RegExp): Promise<StartedDockerComposeEnvironment> {
  return new DockerComposeEnvironment(composeDir, [...stack.files])
    .withProjectName(stack.project)
    .withEnvironment({ L5D_CERTS_DIR: certsDir, ...portsEnv() })
    .withWaitStrategy("l5d-a-1", Wait.forHealthCheck())
    .withWaitStrategy("l5d-b-1", Wait.forHealthCheck())
    .withWaitStrategy("hello-1", Wait.forLogMessage(app))
    .withWaitStrategy("world-1", Wait.forLogMessage(app))
    .withStartupTimeout(120_000)
    .up(["l5d-a", "hello", "l5d-b", "world"]);
}

/** The stack down (its leftovers too, when it never came up). */
async function downStack(mesh: StartedDockerComposeEnvironment | undefined, stack: Stack) {
  if (mesh) await mesh.down({ timeout: 1_000 });
  else await compose(["--profile", "client", "down", "--remove-orphans", "-t", "1"], 60_000, stack);
}

async function adminJson(port: number, path: string): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    signal: AbortSignal.timeout(5_000),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, number>;
}
function sumMatching(metrics: Record<string, number>, re: RegExp): number {
  return Object.entries(metrics)
    .filter(([k]) => re.test(k))
    .reduce((a, [, v]) => a + (typeof v === "number" ? v : 0), 0);
}

describe.skipIf(!engine.available)("images and the compose mesh (testcontainers)", () => {
  let mesh: StartedDockerComposeEnvironment | undefined;

  beforeAll(async () => {
    await ensurePorts();
    // leftovers of a crashed run (Ryuk is off on podman engines)
    await compose(["--profile", "client", "down", "--remove-orphans", "-t", "1"]);

    const mode = process.env.L5D_IMAGE_BUILD ?? "prebuilt";
    if (mode !== "none") {
      const built = await runCommand(
        process.execPath,
        ["scripts/images.mjs", `--mode=${mode}`, "--quiet"],
        {
          cwd: root,
          env,
          timeoutMs: 900_000,
        },
      );
      expect(built.code, built.stdout + built.stderr).toBe(0);
    }

    mesh = await upStack(GRPC_STACK, /starting gRPC server/);
  }, 1_200_000);

  afterAll(async () => {
    await downStack(mesh, GRPC_STACK);
  }, 120_000);

  it("the images run as a non-root user, carry OCI labels, and put the binaries on PATH", async () => {
    for (const [image, title, entrypoint] of [
      [L5D_IMAGE, "l5d", '["l5d"]'],
      [HELLOWORLD_IMAGE, "helloworld", '["helloworld"]'],
      [NAMERD_IMAGE, "namerd", '["namerd"]'],
    ] as const) {
      const r = await runCommand(
        "docker",
        ["image", "inspect", "--format", "{{json .Config}}", image],
        { env },
      );
      expect(r.code, r.stderr).toBe(0);
      const config = JSON.parse(r.stdout) as {
        User: string;
        Entrypoint: string[];
        Labels: Record<string, string>;
      };
      expect(config.User).toBe("1000:1000");
      expect(JSON.stringify(config.Entrypoint)).toBe(entrypoint);
      expect(config.Labels["org.opencontainers.image.title"]).toBe(title);
      expect(config.Labels["org.opencontainers.image.version"]).toBe("0.1.0");
    }
    // the original image's second entrypoint: wrong usage prints the usage line and exits 1
    const name = `${project}-usage`;
    try {
      const usage = await runCommand(
        "docker",
        ["run", "--name", name, "--entrypoint=helloworld-client", HELLOWORLD_IMAGE],
        { env, timeoutMs: 60_000 },
      );
      expect(usage.stderr).toContain("Usage: helloworld-client <host>:<port>");
      expect(usage.code).toBe(1);
    } finally {
      await runCommand("docker", ["rm", "-f", name], { env, timeoutMs: 30_000 });
    }
  }, 120_000);

  it("docker compose run client: the three-hop answer", async () => {
    const r = await client();
    expect(
      r.stderr.replace(/^.*(Creating|Created|Container).*$/gm, "").trim(),
      "client stderr",
    ).toBe("");
    expect(r.stdout.trim()).toBe(ANSWER);
    expect(r.code).toBe(0);
  }, 120_000);

  it("the admin servers answer ping and count the calls on each router of each node", async () => {
    for (const port of [ports.aAdmin, ports.bAdmin]) {
      const ping = await fetch(`http://127.0.0.1:${port}/admin/ping`, {
        signal: AbortSignal.timeout(5_000),
      });
      expect((await ping.text()).trim()).toBe("pong");
    }
    const ok = await client();
    expect(ok.stdout.trim()).toBe(ANSWER);
    const a = await adminJson(ports.aAdmin, "/admin/metrics.json");
    const b = await adminJson(ports.bAdmin, "/admin/metrics.json");
    // node A: outgoing (client → A, hello → world) and incoming (→ hello); node B: incoming (→ world)
    expect(sumMatching(a, /^rt\/outgoing\/server\/.*\/requests$/)).toBeGreaterThanOrEqual(2);
    expect(sumMatching(a, /^rt\/incoming\/server\/.*\/requests$/)).toBeGreaterThanOrEqual(1);
    expect(sumMatching(b, /^rt\/incoming\/server\/.*\/requests$/)).toBeGreaterThanOrEqual(1);
    expect(sumMatching(b, /^rt\/outgoing\/server\/.*\/requests$/)).toBe(0);
  }, 120_000);

  it("failover: world stopped → a clear UNAVAILABLE error; world started → the answer again", async () => {
    const stop = await compose(["stop", "-t", "1", "world"]);
    expect(stop.code, stop.stderr).toBe(0);
    try {
      const down = await client();
      expect(down.code).toBe(1);
      expect(down.stdout.trim()).toBe("");
      expect(down.stderr).toMatch(/rpc error: code = Unavailable desc = \S/);
    } finally {
      const start = await compose(["start", "world"]);
      expect(start.code, start.stderr).toBe(0);
    }
    // recovery: bounded polling (at most 20 more calls within 90 s)
    const deadline = Date.now() + 90_000;
    let last = await client();
    for (let i = 0; i < 20 && last.stdout.trim() !== ANSWER && Date.now() < deadline; i++) {
      await new Promise((r) => setTimeout(r, 1_000));
      last = await client();
    }
    expect(last.stdout.trim(), last.stderr).toBe(ANSWER);
  }, 300_000);
});

describe.skipIf(!engine.available)(
  "the HTTP/1.1 edition on the compose mesh (docker-compose.http.yml)",
  () => {
    let mesh: StartedDockerComposeEnvironment | undefined;

    beforeAll(async () => {
      // the images are the ones the gRPC mesh above built; the stacks share the subnet, one at a time
      await compose(
        ["--profile", "client", "down", "--remove-orphans", "-t", "1"],
        60_000,
        HTTP_STACK,
      );
      mesh = await upStack(HTTP_STACK, /starting HTTP server/);
    }, 300_000);

    afterAll(async () => {
      await downStack(mesh, HTTP_STACK);
    }, 120_000);

    it("docker compose run client (http_proxy=l5d-a:4140 GET http://hello): the three-hop answer through protocol: http routers", async () => {
      const r = await client(HTTP_STACK);
      expect(r.stdout.trim(), r.stderr).toBe(ANSWER);
      expect(r.code).toBe(0);
      const a = await adminJson(ports.aAdmin, "/admin/metrics.json");
      const b = await adminJson(ports.bAdmin, "/admin/metrics.json");
      expect(sumMatching(a, /^rt\/outgoing\/server\/.*\/requests$/)).toBeGreaterThanOrEqual(2);
      expect(sumMatching(a, /^rt\/incoming\/service\/svc\/hello\/requests$/)).toBe(1);
      expect(sumMatching(b, /^rt\/incoming\/service\/svc\/world\/requests$/)).toBe(1);
      // from the host, as `curl -x 127.0.0.1:<outgoing> http://hello` would
      const viaHost = await new Promise<string>((resolve, reject) => {
        const req = httpRequest(
          {
            host: "127.0.0.1",
            port: ports.aOut,
            path: "http://hello/",
            headers: { host: "hello" },
          },
          (res) => {
            let body = "";
            res.on("data", (d: Buffer) => {
              body += d.toString();
            });
            res.on("end", () => resolve(body.trim()));
          },
        );
        req.on("error", reject);
        req.end();
      });
      expect(viaHost).toBe(ANSWER);
    }, 120_000);
  },
);

describe.skipIf(!engine.available)(
  "the TLS edition on the compose mesh (docker-compose.tls.yml)",
  () => {
    let mesh: StartedDockerComposeEnvironment | undefined;

    beforeAll(async () => {
      const made = await runCommand(process.execPath, ["deploy/local/make-certs.mjs", certsDir], {
        cwd: root,
        env,
        timeoutMs: 60_000,
      });
      expect(made.code, made.stderr).toBe(0);
      await compose(
        ["--profile", "client", "down", "--remove-orphans", "-t", "1"],
        60_000,
        TLS_STACK,
      );
      mesh = await upStack(TLS_STACK, /starting HTTP server/);
    }, 300_000);

    afterAll(async () => {
      await downStack(mesh, TLS_STACK);
      rmSync(certsDir, { recursive: true, force: true });
    }, 120_000);

    it("docker compose run client: the answer with TLS between the nodes' l5ds", async () => {
      const r = await client(TLS_STACK);
      expect(r.stdout.trim(), r.stderr).toBe(ANSWER);
      expect(r.code).toBe(0);
      const b = await adminJson(ports.bAdmin, "/admin/metrics.json");
      // node B's incoming router served the hop from node A, over TLS, with no failed handshake
      expect(sumMatching(b, /^rt\/incoming\/service\/svc\/world\/requests$/)).toBe(1);
      expect(sumMatching(b, /^rt\/incoming\/server\/.*\/tls\/handshake_failures$/)).toBe(0);
    }, 120_000);
  },
);

/** `l5d namerctl --base-url <the stack's namerd> …` from the host. */
function namerctl(...args: string[]) {
  return runCommand(
    process.execPath,
    [
      join(root, "apps", "l5d", "dist", "main.js"),
      "namerctl",
      "--base-url",
      `http://127.0.0.1:${ports.ndHttp}`,
      ...args,
    ],
    { env, timeoutMs: 30_000 },
  );
}

/** The client's answer, polled (at most 20 calls within 60 s) while the l5ds catch up. */
async function answerEventually(stack: Stack) {
  const deadline = Date.now() + 60_000;
  let last = await client(stack);
  for (let i = 0; i < 20 && last.stdout.trim() !== ANSWER && Date.now() < deadline; i++) {
    await new Promise((r) => setTimeout(r, 1_000));
    last = await client(stack);
  }
  return last;
}

/**
 * Adds a dentry that changes no route (`/grpc/Earth` → world-v1) with `namerctl dtab update`,
 * restarts namerd, and returns whether namerd still has it afterwards; the l5ds answer
 * throughout (they keep their last trees while namerd is away) and after.
 */
async function updateThenRestartNamerd(stack: Stack): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), "l5d-namerd-dtab-"));
  try {
    const file = join(dir, "default.dtab");
    const got = await namerctl("dtab", "get", "default");
    expect(got.code, got.stderr).toBe(0);
    writeFileSync(file, `${got.stdout}\n/grpc/Earth => /srv/world-v1 ;\n`);
    const updated = await namerctl("dtab", "update", "default", file);
    expect(updated.code, updated.stderr).toBe(0);
    expect((await namerctl("dtab", "get", "default")).stdout).toContain("/grpc/Earth");
    const restart = await compose(["restart", "-t", "1", "namerd"], 60_000, stack);
    expect(restart.code, restart.stderr).toBe(0);
    const during = await client(stack);
    expect(during.stdout.trim(), during.stderr).toBe(ANSWER);
    // namerd back (its HTTP API answers), bounded: at most 30 tries within 60 s
    let after = await namerctl("dtab", "get", "default");
    const deadline = Date.now() + 60_000;
    for (let i = 0; i < 30 && after.code !== 0 && Date.now() < deadline; i++) {
      await new Promise((r) => setTimeout(r, 1_000));
      after = await namerctl("dtab", "get", "default");
    }
    expect(after.code, after.stderr).toBe(0);
    const last = await answerEventually(stack);
    expect(last.stdout.trim(), last.stderr).toBe(ANSWER);
    return after.stdout.includes("/grpc/Earth");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!engine.available)(
  "the mesh with its dtab served by namerd (docker-compose.namerd.yml)",
  () => {
    let mesh: StartedDockerComposeEnvironment | undefined;

    beforeAll(async () => {
      // the images (namerd's too) are the ones the gRPC mesh above built
      await ensurePorts();
      await compose(
        ["--profile", "client", "down", "--remove-orphans", "-t", "1"],
        60_000,
        NAMERD_STACK,
      );
      mesh = await upStack(NAMERD_STACK, /starting gRPC server/);
    }, 300_000);

    afterAll(async () => {
      await downStack(mesh, NAMERD_STACK);
    }, 120_000);

    it("docker compose run client: the three-hop answer, both l5ds binding through namerd (io.l5d.namerd.http)", async () => {
      const r = await client(NAMERD_STACK);
      expect(r.stdout.trim(), r.stderr).toBe(ANSWER);
      expect(r.code).toBe(0);
      const ping = await fetch(`http://127.0.0.1:${ports.ndAdmin}/admin/ping`, {
        signal: AbortSignal.timeout(5_000),
      });
      expect((await ping.text()).trim()).toBe("pong");
      const list = await namerctl("dtab", "list");
      expect(list.stdout.trim().split("\n"), list.stderr).toEqual(["default"]);
      for (const port of [ports.aAdmin, ports.bAdmin]) {
        const m = await adminJson(port, "/admin/metrics.json");
        expect(
          sumMatching(m, /^rt\/incoming\/interpreter\/io\.l5d\.namerd\.http\/connected$/),
        ).toBe(1);
      }
    }, 120_000);

    it("namerd restarted: the l5ds keep answering, and the inMemory store is back to the seeded dtab", async () => {
      expect(await updateThenRestartNamerd(NAMERD_STACK)).toBe(false);
    }, 240_000);
  },
);

describe.skipIf(!engine.available)(
  "the mesh with namerd's dtabs in etcd (docker-compose.namerd-etcd.yml)",
  () => {
    let mesh: StartedDockerComposeEnvironment | undefined;

    beforeAll(async () => {
      await ensurePorts();
      await compose(
        ["--profile", "client", "down", "--remove-orphans", "-t", "1"],
        60_000,
        NAMERD_ETCD_STACK,
      );
      // the etcd image (Debian's etcd-server on debian:bookworm-slim), built when missing
      const built = await compose(["build", "etcd"], 600_000, NAMERD_ETCD_STACK);
      expect(built.code, built.stdout + built.stderr).toBe(0);
      mesh = await upStack(NAMERD_ETCD_STACK, /starting gRPC server/);
    }, 900_000);

    afterAll(async () => {
      await downStack(mesh, NAMERD_ETCD_STACK);
    }, 120_000);

    it("docker compose run client: the three-hop answer from the dtab dtab-seed stored in etcd", async () => {
      const r = await client(NAMERD_ETCD_STACK);
      expect(r.stdout.trim(), r.stderr).toBe(ANSWER);
      expect(r.code).toBe(0);
      const keys = await compose(
        ["exec", "-T", "etcd", "etcdctl", "get", "--prefix", "--keys-only", "/namerd/dtabs"],
        60_000,
        NAMERD_ETCD_STACK,
      );
      expect(keys.stdout.trim(), keys.stderr).toBe("/namerd/dtabs/default");
    }, 120_000);

    it("namerd restarted: the l5ds keep answering, and a namerctl update survives (it lives in etcd)", async () => {
      expect(await updateThenRestartNamerd(NAMERD_ETCD_STACK)).toBe(true);
    }, 240_000);
  },
);
