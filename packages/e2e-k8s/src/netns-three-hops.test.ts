// The tutorial's three DaemonSet hops for real, across separate hosts: Linux network namespaces
// wired to one bridge (see netns-lab.ts, lab-topology.ts). Each node runs l5d with the tutorial's
// config (deploy/examples/linkerd-grpc.yaml) changed only in where the API is reached and
// `admin.ip: 0.0.0.0` (the tutorial's HEAD); the API stand-in serves what the tutorial's
// manifests create. Needs root and `ip netns`; otherwise the whole file is SKIPPED with a message.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  appPod,
  PORTS,
  tutorialConfig,
  tutorialConfigChanges,
  tutorialObjects,
} from "../../../deploy/local/k8s-demo.mjs";
import { makeLinkerdCerts } from "../../../deploy/local/tls-certs.mjs";
import { ApiAgent } from "./api-agent.js";
import { LabProcess, runInNamespace } from "./lab-process.js";
import {
  CTL,
  LAB_NODES,
  LAB_PODS,
  labHosts,
  nodeOf,
  POD_RANGE,
  SCALED_WORLD_V1,
} from "./lab-topology.js";
import { NetnsLab, netnsAvailability } from "./netns-lab.js";
import { repoRoot } from "./repo-root.js";

const root = repoRoot();
// L5D_E2E_NETNS=skip skips it on purpose (e.g. a root shell where namespaces are unwelcome)
const avail: ReturnType<typeof netnsAvailability> =
  process.env.L5D_E2E_NETNS === "skip"
    ? { ok: false, reason: "L5D_E2E_NETNS=skip" }
    : netnsAvailability();
if (!avail.ok) {
  console.warn(
    `SKIPPED: the network-namespace e2e test needs root and \`ip netns\` (CI runs it as root): ${avail.reason}`,
  );
}

const API = { host: CTL.ip, port: CTL.apiPort };
const [A, B, C] = LAB_NODES as [
  (typeof LAB_NODES)[0],
  (typeof LAB_NODES)[0],
  (typeof LAB_NODES)[0],
];
const HELLO = LAB_PODS.hello[0] as (typeof LAB_PODS.hello)[0];
const WORLD = LAB_PODS.worldV1[0] as (typeof LAB_PODS.hello)[0];
const WORLD2 = LAB_PODS.worldV2[0] as (typeof LAB_PODS.hello)[0];
const ENTRY = `${A.ip}:${PORTS.outgoing}`;
/** Calls of the bounded load while world-v1 scales. */
const LOAD_N = 400;
let unavailableMessage = "";
let loadSummary = "";

/** Polls `check` every 200 ms until it holds; fails after `timeoutMs`. */
async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const dsId = (svc: string) =>
  `%/io.l5d.k8s.daemonset/default/incoming/l5d/#/io.l5d.k8s/default/grpc/${svc}`;
const lnId = (node: { l5dIp: string }, svc: string) =>
  `%/io.l5d.k8s.localnode/${node.l5dIp}/#/io.l5d.k8s/default/grpc/${svc}`;

type Edition = "grpc" | "http" | "tls";
type PodKind = "hello" | "world-v1" | "world-v2";

/** One edition's mesh in the lab: the API stand-in, an l5d per node, the app pods. */
interface Mesh {
  ctl(): ApiAgent;
  inNode(host: string): string;
  startPod(kind: PodKind, pod: { name: string; ip: string; node: string }): LabProcess;
  metrics(node: { l5dIp: string }): Promise<Record<string, number>>;
  readonly procs: LabProcess[];
}

/**
 * Starts the lab for the file's describe block (`beforeAll`) and stops it after (`afterAll`):
 * the API stand-in serving the edition's objects, l5d on every node with the edition's config
 * (changed only in where the API is reached and `admin.ip`), hello, world-v1 and world-v2 in
 * the edition's protocol (gRPC, or HTTP with hello reaching world through
 * `http_proxy=$(NODE_NAME):4140`). A failed test prints every process's output.
 */
function useMesh(edition: Edition): Mesh {
  let lab: NetnsLab | undefined;
  let agent: ApiAgent | undefined;
  const procs: LabProcess[] = [];
  const work = mkdtempSync(join(tmpdir(), "l5d-e2e-k8s-"));
  const inNode = (host: string) => (lab as NetnsLab).ns(host);
  const ctl = () => agent as ApiAgent;

  function startPod(kind: PodKind, pod: { name: string; ip: string; node: string }) {
    const node = nodeOf(pod);
    const grpc = edition === "grpc" ? ["-protocol=grpc"] : [];
    const args =
      kind === "hello"
        ? [
            "apps/hello/dist/main.js",
            `-addr=${pod.ip}:${PORTS.hello}`,
            "-text=Hello",
            // gRPC: its node's outgoing router directly; HTTP: `world` through http_proxy
            edition === "grpc" ? `-target=${node.ip}:${PORTS.outgoing}` : "-target=world",
            ...grpc,
          ]
        : ["apps/world/dist/main.js", `-addr=${pod.ip}:${PORTS.world}`, ...grpc];
    const env: Record<string, string> = { POD_IP: pod.ip, NODE_NAME: node.ip };
    // the HTTP editions (http, tls): hello reaches world through http_proxy
    if (kind === "hello" && edition !== "grpc") env.http_proxy = `${node.ip}:${PORTS.outgoing}`;
    if (kind !== "hello") env.TARGET_WORLD = kind === "world-v2" ? "earth" : "world";
    const p = new LabProcess({ ns: inNode(node.host), name: pod.name, cwd: root, args, env });
    procs.push(p);
    return p;
  }

  async function metrics(node: { l5dIp: string }): Promise<Record<string, number>> {
    const r = await ctl().http(`http://${node.l5dIp}:${PORTS.admin}/admin/metrics.json`);
    expect(r.status).toBe(200);
    return JSON.parse(r.body) as Record<string, number>;
  }

  beforeAll(async () => {
    lab = NetnsLab.create({ hosts: labHosts(), onLinkRoutes: [POD_RANGE] });
    agent = new ApiAgent(lab.ns(CTL.host), root);
    await agent.call({
      op: "start",
      host: API.host,
      port: API.port,
      objects: tutorialObjects({ nodes: [...LAB_NODES], pods: LAB_PODS, edition }),
    });
    // the TLS edition's Secret, as every node would mount it
    const certsDir = edition === "tls" ? makeLinkerdCerts(join(work, "certs")) : undefined;
    for (const node of LAB_NODES) {
      const cfg = join(work, `l5d-${node.name}.yaml`);
      writeFileSync(
        cfg,
        tutorialConfig({
          api: API,
          adminIp: "0.0.0.0",
          edition,
          ...(certsDir === undefined ? {} : { certsDir }),
        }),
      );
      procs.push(
        new LabProcess({
          ns: lab.ns(node.host),
          name: `l5d-${node.name}`,
          cwd: root,
          args: ["apps/l5d/dist/main.js", cfg],
          env: { POD_IP: node.l5dIp },
        }),
      );
    }
    startPod("hello", HELLO);
    startPod("world-v1", WORLD);
    startPod("world-v2", WORLD2);
    const wait = (host: string, port: number) =>
      ctl().call({ op: "waitTcp", host, port, timeoutMs: 30_000 });
    await Promise.all([
      ...LAB_NODES.flatMap((n) =>
        [PORTS.outgoing, PORTS.incoming, PORTS.admin].map((p) => wait(n.l5dIp, p)),
      ),
      wait(A.ip, PORTS.outgoing),
      wait(HELLO.ip, PORTS.hello),
      wait(WORLD.ip, PORTS.world),
      wait(WORLD2.ip, PORTS.world),
    ]);
  }, 60_000);

  afterEach((ctx) => {
    if (ctx.task.result?.state !== "fail") return;
    for (const p of [...procs, ...(agent ? [agent.process] : [])]) {
      console.error(
        `----- ${p.name} (${p.running ? "running" : "exited"}) -----\n${p.output.slice(-4_000)}`,
      );
    }
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await agent?.close();
    lab?.destroy();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  return { ctl, inNode, startPod, metrics, procs };
}

describe.skipIf(!avail.ok)("the tutorial's three hops across network namespaces", () => {
  const { ctl, inNode, startPod, metrics, procs } = useMesh("grpc");

  async function client(...args: string[]) {
    return runInNamespace({
      ns: inNode(CTL.host),
      name: "client",
      cwd: root,
      args: ["apps/helloworld-client/dist/main.js", ...args],
      timeoutMs: 30_000,
    });
  }

  afterAll(() => {
    if (loadSummary !== "")
      console.log(`load while scaling world-v1 (-n ${LOAD_N} -c 4):\n${loadSummary}`);
    if (unavailableMessage !== "") console.log(`world-v1 without Endpoints: ${unavailableMessage}`);
  });

  it("runs the tutorial's config, changed only in where the API is reached (and admin.ip)", () => {
    expect(tutorialConfigChanges({ api: API, adminIp: "0.0.0.0" })).toHaveLength(3);
    const cfg = tutorialConfig({ api: API, adminIp: "0.0.0.0" });
    expect(cfg).toContain("  host: 10.240.0.2\n  port: 8001\n");
    expect(cfg).toContain("      k8sHost: 10.240.0.2\n      k8sPort: 8001\n");
    expect(cfg.match(/ip: 0\.0\.0\.0/g)).toHaveLength(3);
  });

  it("answers through outgoing → incoming on the right node for each hop", async () => {
    const r = await client(ENTRY);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`Hello (${HELLO.ip}) world (${WORLD.ip})!!`);
    const [ma, mb, mc] = await Promise.all([metrics(A), metrics(B), metrics(C)]);
    // hop 1: client → A outgoing → daemonset gateway of hello's node = A's incoming
    expect(ma[`rt/outgoing/client/${dsId("hello")}/requests`]).toBe(1);
    // hop 2: A incoming → localnode (A's /24) → hello
    expect(ma[`rt/incoming/client/${lnId(A, "hello")}/requests`]).toBe(1);
    // hop 3: hello → A outgoing (its node's 4140) → daemonset gateway of world-v1's node = B's incoming
    expect(ma[`rt/outgoing/client/${dsId("world-v1")}/requests`]).toBe(1);
    expect(ma[`rt/incoming/client/${lnId(A, "world-v1")}/requests`]).toBeUndefined();
    // hop 4: B incoming → localnode (B's /24) → world-v1
    expect(mb[`rt/incoming/client/${lnId(B, "world-v1")}/requests`]).toBe(1);
    expect(mb["rt/incoming/server/0.0.0.0/4141/requests"]).toBe(1);
    // nothing went through B's outgoing, and node C saw nothing
    expect(mb["rt/outgoing/server/0.0.0.0/4140/requests"] ?? 0).toBe(0);
    expect(mb[`rt/outgoing/client/${dsId("world-v1")}/requests`]).toBeUndefined();
    expect(mc["rt/incoming/server/0.0.0.0/4141/requests"] ?? 0).toBe(0);
    expect(mc["rt/outgoing/server/0.0.0.0/4140/requests"] ?? 0).toBe(0);
  });

  it("scales world-v1 onto node C while load runs, without a failure", async () => {
    const replica = startPod("world-v1", SCALED_WORLD_V1);
    await ctl().call({
      op: "waitTcp",
      host: SCALED_WORLD_V1.ip,
      port: PORTS.world,
      timeoutMs: 20_000,
    });
    const load = new LabProcess({
      ns: inNode(CTL.host),
      name: "load",
      cwd: root,
      args: [
        "apps/helloworld-client/dist/main.js",
        "-n",
        String(LOAD_N),
        "-c",
        "4",
        "-timeout",
        "10s",
        ENTRY,
      ],
    });
    procs.push(load);
    // the replica becomes Ready mid-load: the endpoints controller adds it to world-v1's Endpoints
    await waitUntil(
      async () =>
        ((await metrics(A))[`rt/outgoing/client/${dsId("world-v1")}/requests`] ?? 0) >= 50,
      20_000,
    );
    expect(load.running).toBe(true);
    await ctl().call({
      op: "apply",
      object: appPod({ ...SCALED_WORLD_V1, app: "world-v1", node: C, port: PORTS.world }),
    });
    const ep = (
      await ctl().call({ op: "get", kind: "Endpoints", namespace: "default", name: "world-v1" })
    ).object;
    expect(JSON.stringify(ep)).toContain(SCALED_WORLD_V1.ip);
    const appliedWhileRunning = load.running;
    const done = await load.exited;
    loadSummary = load.output.trim();
    expect(load.output).toContain(`requests: ${LOAD_N}  ok: ${LOAD_N}  errors: 0`);
    expect(done.code).toBe(0);
    expect(appliedWhileRunning).toBe(true);
    // both nodes now serve world-v1, each through its own incoming router
    const seen = new Set<string>();
    for (let i = 0; i < 20 && seen.size < 2; i++) {
      const r = await client(ENTRY);
      expect(r.code).toBe(0);
      const m = /world \(([\d.]+)\)!!$/.exec(r.stdout.trim());
      if (m?.[1]) seen.add(m[1]);
    }
    expect([...seen].sort()).toEqual([WORLD.ip, SCALED_WORLD_V1.ip].sort());
    const [mb, mc] = await Promise.all([metrics(B), metrics(C)]);
    expect(mb[`rt/incoming/client/${lnId(B, "world-v1")}/requests`]).toBeGreaterThan(0);
    expect(mc[`rt/incoming/client/${lnId(C, "world-v1")}/requests`]).toBeGreaterThan(0);
    expect(replica.running).toBe(true);
  }, 60_000);

  it("answers UNAVAILABLE while world-v1 has no Endpoints, and recovers when they return", async () => {
    const saved = (
      await ctl().call({ op: "get", kind: "Endpoints", namespace: "default", name: "world-v1" })
    ).object as Record<string, unknown>;
    expect(saved).not.toBeNull();
    expect(
      (
        await ctl().call({
          op: "delete",
          kind: "Endpoints",
          namespace: "default",
          name: "world-v1",
        })
      ).existed,
    ).toBe(true);
    let failed: { code: number | null; stderr: string } | undefined;
    await waitUntil(async () => {
      const r = await client(ENTRY);
      if (r.code !== 0) failed = r;
      return r.code !== 0;
    }, 15_000);
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/^rpc error: code = Unavailable desc = /);
    expect(failed?.stderr).toContain("/#/io.l5d.k8s/default/grpc/world-v1");
    unavailableMessage = failed?.stderr.trim() ?? "";
    // the Endpoints come back (what the endpoints controller writes from the same pods)
    const { metadata, ...rest } = saved as { metadata: Record<string, unknown> };
    await ctl().call({
      op: "apply",
      object: {
        ...rest,
        metadata: { name: metadata.name, namespace: metadata.namespace, labels: metadata.labels },
      },
    });
    let answer = "";
    await waitUntil(async () => {
      const r = await client(ENTRY);
      answer = r.stdout.trim();
      return r.code === 0;
    }, 15_000);
    expect(answer).toMatch(
      new RegExp(
        `^Hello \\(${HELLO.ip.replaceAll(".", "\\.")}\\) world \\(10\\.244\\.[23]\\.10\\)!!$`,
      ),
    );
  }, 45_000);

  it("sends one call to world-v2 with a per-request l5d-dtab override", async () => {
    const before = (await metrics(C))[`rt/incoming/client/${lnId(C, "world-v2")}/requests`] ?? 0;
    const r = await client("-metadata", "l5d-dtab=/grpc/World=>/srv/world-v2", ENTRY);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(`Hello (${HELLO.ip}) earth (${WORLD2.ip})!!`);
    const [ma, mc] = await Promise.all([metrics(A), metrics(C)]);
    expect(ma[`rt/outgoing/client/${dsId("world-v2")}/requests`]).toBe(1);
    expect(mc[`rt/incoming/client/${lnId(C, "world-v2")}/requests`]).toBe(before + 1);
    // without the header the same path still goes to world-v1
    const plain = await client(ENTRY);
    expect(plain.stdout.trim()).toMatch(/ world \(10\.244\.[23]\.10\)!!$/);
  });
});

/** `http_proxy=<proxy> curl http://<host>/` with extra headers, run in the ctl namespace. */
const PROXIED_GET = `
const [proxy, host, headers] = process.argv.slice(1);
const [ip, port] = proxy.split(":");
const req = require("node:http").request(
  { host: ip, port: Number(port), path: "http://" + host + "/", headers: { host, ...JSON.parse(headers) } },
  (res) => {
    let body = "";
    res.on("data", (d) => (body += d));
    res.on("end", () => {
      process.stdout.write(body);
      process.exitCode = res.statusCode === 200 ? 0 : 1;
      if (res.statusCode !== 200) process.stderr.write("HTTP " + res.statusCode + " " + (res.headers["l5d-err"] ?? ""));
    });
  },
);
req.on("error", (e) => { process.stderr.write(e.message); process.exitCode = 1; });
req.end();
`;

/** `http_proxy=<proxy> curl http://<host>/` with `headers`, from the ctl namespace. */
function proxiedGet(mesh: Mesh, proxy: string, host: string, headers: Record<string, string> = {}) {
  return runInNamespace({
    ns: mesh.inNode(CTL.host),
    name: "curl",
    cwd: root,
    args: ["-e", PROXIED_GET, proxy, host, JSON.stringify(headers)],
    timeoutMs: 30_000,
  });
}

const httpDs = (svc: string) =>
  `%/io.l5d.k8s.daemonset/default/incoming/l5d/#/io.l5d.k8s/default/http/${svc}`;
const httpLn = (node: { l5dIp: string }, svc: string) =>
  `%/io.l5d.k8s.localnode/${node.l5dIp}/#/io.l5d.k8s/default/http/${svc}`;

describe.skipIf(!avail.ok)(
  "the series' HTTP/1.1 edition's three hops across network namespaces",
  () => {
    const mesh = useMesh("http");
    const { metrics } = mesh;
    const curl = (headers: Record<string, string> = {}) =>
      proxiedGet(mesh, ENTRY, "hello", headers);

    it("runs linkerd.yml's protocol: http routers, changed only in where the API is reached", () => {
      const cfg = tutorialConfig({ api: API, adminIp: "0.0.0.0", edition: "http" });
      expect(cfg).toContain("- protocol: http\n  label: outgoing\n");
      expect(cfg).toContain("  host: 10.240.0.2\n  port: 8001\n");
      expect(cfg).toContain("      kind: io.l5d.http.retryableRead5XX\n");
    });

    it("answers http_proxy=<node A>:4140 curl http://hello through outgoing → incoming on the right node for each hop", async () => {
      const r = await curl();
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(`Hello (${HELLO.ip}) world (${WORLD.ip})!!`);
      const [ma, mb, mc] = await Promise.all([metrics(A), metrics(B), metrics(C)]);
      expect(ma[`rt/outgoing/client/${httpDs("hello")}/requests`]).toBe(1);
      expect(ma[`rt/incoming/client/${httpLn(A, "hello")}/requests`]).toBe(1);
      expect(ma[`rt/outgoing/client/${httpDs("world-v1")}/requests`]).toBe(1);
      expect(mb[`rt/incoming/client/${httpLn(B, "world-v1")}/requests`]).toBe(1);
      expect(mb["rt/outgoing/server/0.0.0.0/4140/requests"] ?? 0).toBe(0);
      expect(mc["rt/incoming/server/0.0.0.0/4141/requests"] ?? 0).toBe(0);
    });

    it("sends one request to world-v2 with a per-request l5d-dtab override", async () => {
      const r = await curl({ "l5d-dtab": "/host/world => /srv/world-v2" });
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe(`Hello (${HELLO.ip}) earth (${WORLD2.ip})!!`);
      const mc = await metrics(C);
      expect(mc[`rt/incoming/client/${httpLn(C, "world-v2")}/requests`]).toBe(1);
      const plain = await curl();
      expect(plain.stdout.trim()).toBe(`Hello (${HELLO.ip}) world (${WORLD.ip})!!`);
    });
  },
);

describe.skipIf(!avail.ok)(
  "the series' TLS edition (linkerd-tls.yml): TLS between the nodes",
  () => {
    const mesh = useMesh("tls");
    const { metrics } = mesh;

    it("answers through outgoing → (TLS, commonName linkerd) → incoming on each hop", async () => {
      const r = await proxiedGet(mesh, ENTRY, "hello");
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe(`Hello (${HELLO.ip}) world (${WORLD.ip})!!`);
      const [ma, mb] = await Promise.all([metrics(A), metrics(B)]);
      expect(ma[`rt/outgoing/client/${httpDs("world-v1")}/requests`]).toBe(1);
      expect(mb[`rt/incoming/client/${httpLn(B, "world-v1")}/requests`]).toBe(1);
      expect(mb["rt/incoming/server/0.0.0.0/4141/tls/handshake_failures"] ?? 0).toBe(0);
    });

    it("an incoming router speaks TLS only: a plaintext request to it is refused and counted", async () => {
      const plain = await proxiedGet(mesh, `${B.ip}:${PORTS.incoming}`, "world");
      expect(plain.code).not.toBe(0);
      expect(plain.stdout).toBe("");
      const mb = await metrics(B);
      expect(mb["rt/incoming/server/0.0.0.0/4141/tls/handshake_failures"]).toBeGreaterThanOrEqual(
        1,
      );
    });
  },
);
