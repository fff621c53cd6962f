#!/usr/bin/env node
// `pnpm dev`: the whole three-hop mesh on loopback, the client's answer printed, then running
// until Ctrl-C. `--once` exits after the answer (used by tests).
//
// Default: Kubernetes mode (deploy/local/k8s-demo.mjs): the tutorial's config
// (deploy/examples/linkerd-grpc.yaml) with io.l5d.k8s + the daemonset/localnode transformers, an
// API-server stand-in on 127.0.0.1:8001 where the kubectl sidecar would be, node A = 127.0.1.0/24,
// node B = 127.0.2.0/24. When those addresses or port 8001 cannot be bound it says so and falls
// back to the io.l5d.fs demo (deploy/local/fs-demo.mjs); `--fs` forces the fs demo. `--http`: the
// series' HTTP/1.1 edition (protocol: http routers, the apps in HTTP mode, the client a proxied
// GET http://hello/ as `http_proxy=<node A>:4140 curl http://hello` would send it); `--tls` the
// same with TLS between the nodes' l5ds (linkerd-tls.yml; certificates made with openssl).
// `--namerd`: the io.l5d.fs demo with the dtab served by a namerd child process (127.0.3.1: HTTP
// API 4180, admin 9991; inMemory storage, io.l5d.fs over the demo's disco files), both l5ds binding
// through it (io.l5d.namerd.http); `l5d namerctl --base-url http://127.0.3.1:4180 dtab update
// default <file>` then reroutes both nodes while it runs.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { l5dEntry, l5dEnv, l5dNodeFlags } from "../bench/dist/l5d-flags.js";
import {
  discoFiles,
  httpDiscoFiles,
  httpNodeConfig,
  NAMERD,
  NODE_A,
  NODE_B,
  namerdConfig,
  namerdDst,
  nodeConfig,
} from "../deploy/local/fs-demo.mjs";
import {
  DEV_API,
  DEV_NODES,
  DEV_PODS,
  fixturesText,
  PORTS,
  tutorialConfig,
  tutorialConfigChanges,
  tutorialObjects,
} from "../deploy/local/k8s-demo.mjs";
import { makeLinkerdCerts } from "../deploy/local/tls-certs.mjs";

const root = new URL("..", import.meta.url).pathname;
const once = process.argv.includes("--once");
const forceFs = process.argv.includes("--fs");
const namerdMode = process.argv.includes("--namerd");
const tlsMode = process.argv.includes("--tls");
const httpMode = tlsMode || process.argv.includes("--http");
const children = [];
const work = mkdtempSync(join(tmpdir(), "l5d-dev-"));
let stopping = false;

/** l5d's node flags, malloc settings and entry point (the esbuild bundle) as the image's launcher
 * runs them (deploy/docker/bin/l5d, docs/performance.md "Memory"), read by the bench harness's
 * module (built by `pnpm dev`'s turbo build); L5D_NODE_FLAGS overrides the flags there and here. */
function l5dCommand() {
  return [...l5dNodeFlags(root), l5dEntry(root)];
}
const L5D = l5dCommand();
const L5D_ENV = l5dEnv(root);

function log(msg) {
  process.stdout.write(`[dev] ${msg}\n`);
}

function canBind(ip, port = 0) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", (e) => resolve(e.code ?? false));
    s.listen(port, ip, () => s.close(() => resolve(true)));
  });
}

/** `last`: stopped after every other child (the API stand-in, so the l5ds' watches end quietly). */
function start(name, args, env = {}, { last = false } = {}) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const prefix = (stream, out) => {
    let buf = "";
    stream.setEncoding("utf8");
    stream.on("data", (d) => {
      buf += d;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (process.env.L5D_DEV_QUIET !== "1" || out === process.stderr)
          out.write(`${name.padEnd(6)}| ${line}\n`);
      }
    });
  };
  prefix(child.stdout, process.stdout);
  prefix(child.stderr, process.stderr);
  child.on("exit", (code, sig) => {
    if (!stopping) {
      log(`${name} exited (${sig ?? code}); stopping`);
      void shutdown(1);
    }
  });
  child.stopLast = last;
  children.push(child);
  return child;
}

function waitPort(host, port, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = connect(port, host);
      s.once("connect", () => {
        s.destroy();
        resolve();
      });
      s.once("error", () => {
        s.destroy();
        if (Date.now() > deadline)
          reject(new Error(`${host}:${port} did not open in ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  await stopAll(children.filter((c) => !c.stopLast));
  await stopAll(children.filter((c) => c.stopLast));
  rmSync(work, { recursive: true, force: true });
  process.exit(code);
}

async function stopAll(list) {
  for (const c of list) if (c.exitCode === null) c.kill("SIGTERM");
  await Promise.all(
    list.map(
      (c) =>
        new Promise((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const t = setTimeout(() => {
            c.kill("SIGKILL");
            resolve();
          }, 5_000);
          c.once("exit", () => {
            clearTimeout(t);
            resolve();
          });
        }),
    ),
  );
}

process.on("SIGINT", () => {
  log("Ctrl-C: stopping everything");
  void shutdown(0);
});
process.on("SIGTERM", () => void shutdown(0));

function runClient(target) {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ["apps/helloworld-client/dist/main.js", target], {
      cwd: root,
    });
    let out = "";
    let err = "";
    c.stdout.on("data", (d) => (out += d));
    c.stderr.on("data", (d) => (err += d));
    c.on("exit", (code) => resolve({ code, out: out.trim(), err: err.trim() }));
  });
}

/** Why the k8s mode cannot run here (an address or port that cannot be bound), or undefined. */
async function k8sModeUnavailable() {
  const ips = [
    ...DEV_NODES.map((n) => n.l5dIp),
    ...Object.values(DEV_PODS).flatMap((ps) => ps.map((p) => p.ip)),
  ];
  for (const ip of ips) {
    const r = await canBind(ip);
    if (r !== true)
      return `cannot bind ${ip} (${r}; Linux binds all of 127.0.0.0/8, this OS may not)`;
  }
  const api = await canBind(DEV_API.host, DEV_API.port);
  if (api !== true)
    return `cannot listen on ${DEV_API.host}:${DEV_API.port} for the API stand-in (${api}; a kubectl proxy running?)`;
  return undefined;
}

async function runK8s() {
  log("Kubernetes mode: the tutorial's linkerd-grpc.yaml with io.l5d.k8s, daemonset and localnode");
  const fixtures = join(work, "k8s-objects.json");
  writeFileSync(fixtures, fixturesText(tutorialObjects({ nodes: DEV_NODES, pods: DEV_PODS })));
  start(
    "k8sapi",
    [
      "packages/k8s-standin/dist/main.js",
      `--host=${DEV_API.host}`,
      `--port=${DEV_API.port}`,
      `--fixtures=${fixtures}`,
    ],
    {},
    { last: true },
  );
  await waitPort(DEV_API.host, DEV_API.port);
  log(
    `API stand-in (where kubectl proxy would be): http://${DEV_API.host}:${DEV_API.port}/api/v1/namespaces/default/endpoints`,
  );
  const [a, b] = DEV_NODES;
  for (const node of DEV_NODES) {
    const cfg = join(work, `l5d-${node.name}.yaml`);
    writeFileSync(cfg, tutorialConfig({ serverIp: node.l5dIp, adminIp: node.l5dIp }));
    start(`l5d-${node.name.slice(-1)}`, [...L5D, cfg], { ...L5D_ENV, POD_IP: node.l5dIp });
  }
  log(
    `config: deploy/examples/linkerd-grpc.yaml per node, changed only in: ${tutorialConfigChanges({ serverIp: "<node IP>", adminIp: "<node IP>" }).join("; ")}`,
  );
  const nodeIp = (name) => DEV_NODES.find((n) => n.name === name).ip;
  for (const p of DEV_PODS.hello) {
    // hello-world-grpc.yml: -addr=:7777 -text=Hello -target=$NODE_NAME:4140 -protocol=grpc
    start(
      "hello",
      [
        "apps/hello/dist/main.js",
        `-addr=${p.ip}:${PORTS.hello}`,
        "-text=Hello",
        `-target=${nodeIp(p.node)}:${PORTS.outgoing}`,
        "-protocol=grpc",
      ],
      {
        POD_IP: p.ip,
        NODE_NAME: nodeIp(p.node),
      },
    );
  }
  for (const p of DEV_PODS.worldV1) {
    start("world", ["apps/world/dist/main.js", `-addr=${p.ip}:${PORTS.world}`, "-protocol=grpc"], {
      TARGET_WORLD: "world",
      POD_IP: p.ip,
    });
  }
  await Promise.all([
    ...DEV_NODES.flatMap((n) =>
      [PORTS.outgoing, PORTS.incoming, PORTS.admin].map((port) => waitPort(n.l5dIp, port)),
    ),
    ...DEV_PODS.hello.map((p) => waitPort(p.ip, PORTS.hello)),
    ...DEV_PODS.worldV1.map((p) => waitPort(p.ip, PORTS.world)),
  ]);
  const target = `${a.ip}:${PORTS.outgoing}`;
  log(`mesh is up; calling helloworld-client ${target}`);
  const answer = await runClient(target);
  report(
    answer,
    [
      `http://${a.l5dIp}:${PORTS.admin}/ (node A)   http://${b.l5dIp}:${PORTS.admin}/ (node B)`,
      `http://${a.l5dIp}:${PORTS.admin}/namer_state/io.l5d.k8s.json   http://${a.l5dIp}:${PORTS.admin}/admin/metrics.json`,
    ],
    target,
  );
  return answer;
}

function report(
  answer,
  adminLines,
  target,
  tryLine = `node apps/helloworld-client/dist/main.js ${target}`,
) {
  if (answer.code === 0) {
    console.log(`\n${answer.out}\n`);
  } else {
    console.log(`\nclient failed (exit ${answer.code}): ${answer.err}\n`);
  }
  for (const [i, l] of adminLines.entries()) log(`${i === 0 ? "admin:" : "      "} ${l}`);
  log(`try:   ${tryLine}`);
}

/** Exits saying so when one of `ips` cannot be bound here. */
async function requireBindable(ips) {
  for (const ip of ips) {
    if ((await canBind(ip)) !== true) {
      log(`cannot bind ${ip} on this machine (Linux binds all of 127.0.0.0/8; this OS may not)`);
      await shutdown(1);
    }
  }
}

/** The fs demo's disco directory, holding `files`. */
function writeDisco(files) {
  const disco = join(work, "disco");
  mkdirSync(disco, { recursive: true });
  for (const [f, body] of Object.entries(files)) writeFileSync(join(disco, f), body);
  return disco;
}

/** The fs demo's two nodes: checks their addresses, writes `files` and one config per node
 * (`configFor({ ip, disco })`), starts the l5ds. */
async function startFsNodes(files, configFor) {
  await requireBindable([NODE_A, NODE_B]);
  const disco = writeDisco(files);
  for (const [node, ip] of [
    ["a", NODE_A],
    ["b", NODE_B],
  ]) {
    const cfg = join(work, `l5d-${node}.yaml`);
    writeFileSync(cfg, configFor({ ip, disco }));
    start(`l5d-${node}`, [...L5D, cfg], L5D_ENV);
  }
}

/** Every port of the fs demo (two l5ds, hello, world) accepting connections. */
function waitFsPorts() {
  return Promise.all([
    waitPort(NODE_A, 4140),
    waitPort(NODE_A, 4141),
    waitPort(NODE_B, 4140),
    waitPort(NODE_B, 4141),
    waitPort(NODE_A, 7777),
    waitPort(NODE_B, 7778),
  ]);
}

/** The io.l5d.fs demo; `configFor` makes each node's config, `adminLines` go before the nodes'. */
async function runFs(configFor = nodeConfig, adminLines = []) {
  await startFsNodes(discoFiles(), configFor);
  start("world", ["apps/world/dist/main.js", `-addr=${NODE_B}:7778`, "-protocol=grpc"], {
    TARGET_WORLD: "world",
    POD_IP: NODE_B,
  });
  start(
    "hello",
    [
      "apps/hello/dist/main.js",
      `-addr=${NODE_A}:7777`,
      "-text=Hello",
      `-target=${NODE_A}:4140`,
      "-protocol=grpc",
    ],
    {
      POD_IP: NODE_A,
    },
  );
  await waitFsPorts();
  log(`mesh is up; calling helloworld-client ${NODE_A}:4140`);
  const answer = await runClient(`${NODE_A}:4140`);
  report(
    answer,
    [...adminLines, `http://${NODE_A}:9990/ (node A)   http://${NODE_B}:9990/ (node B)`],
    `${NODE_A}:4140`,
  );
  return answer;
}

/** The io.l5d.fs demo with the dtab and the namer in a namerd child process. */
async function runNamerd() {
  log(
    `--namerd: the io.l5d.fs demo with its dtab served by namerd (${NAMERD}:4180), l5ds on io.l5d.namerd.http`,
  );
  await requireBindable([NAMERD]);
  const cfg = join(work, "namerd.yaml");
  writeFileSync(cfg, namerdConfig({ ip: NAMERD, disco: writeDisco(discoFiles()) }));
  // stopped after the l5ds, so their watches end quietly
  start("namerd", ["apps/namerd/dist/main.js", cfg], {}, { last: true });
  await Promise.all([waitPort(NAMERD, 4180), waitPort(NAMERD, 9991)]);
  const dst = namerdDst(NAMERD, 4180);
  const answer = await runFs(
    (node) => nodeConfig({ ...node, namerd: { dst, namespace: "default" } }),
    [`http://${NAMERD}:9991/ (namerd: namespaces, dtab editor, delegator)`],
  );
  log(
    `dtabs: node apps/l5d/dist/main.js namerctl --base-url http://${NAMERD}:4180 dtab get default`,
  );
  return answer;
}

/** `http_proxy=<proxy> curl http://<host>/`: a GET in absolute form through l5d. */
function proxiedGet(proxy, host) {
  const [ip, port] = proxy.split(":");
  return new Promise((resolve) => {
    const req = request(
      { host: ip, port: Number(port), path: `http://${host}/`, headers: { host } },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () =>
          resolve(
            res.statusCode === 200
              ? { code: 0, out: body.trim(), err: "" }
              : { code: 1, out: "", err: `HTTP ${res.statusCode}: ${body.trim()}` },
          ),
        );
      },
    );
    req.on("error", (e) => resolve({ code: 1, out: "", err: e.message }));
    req.end();
  });
}

async function runHttp() {
  let certs;
  if (tlsMode) {
    log("--tls: the series' TLS edition (protocol: http routers, TLS between the nodes' l5ds)");
    try {
      certs = makeLinkerdCerts(join(work, "certs"));
    } catch (e) {
      log(`cannot make the certificates with openssl: ${e.message}`);
      await shutdown(1);
    }
    log(`certificates (a CA, and one for the name linkerd): ${certs}`);
  } else log("--http: the series' HTTP/1.1 edition (protocol: http routers, io.l5d.fs)");
  await startFsNodes(httpDiscoFiles(), (node) => httpNodeConfig({ ...node, certs }));
  // hello-world.yml: world-v1 `-addr=:7778`; hello `-addr=:7777 -text=Hello -target=world`
  // with http_proxy=$(NODE_NAME):4140
  start("world", ["apps/world/dist/main.js", `-addr=${NODE_B}:7778`], {
    TARGET_WORLD: "world",
    POD_IP: NODE_B,
  });
  start(
    "hello",
    ["apps/hello/dist/main.js", `-addr=${NODE_A}:7777`, "-text=Hello", "-target=world"],
    {
      POD_IP: NODE_A,
      http_proxy: `${NODE_A}:4140`,
    },
  );
  await waitFsPorts();
  log(`mesh is up; http_proxy=${NODE_A}:4140 curl http://hello`);
  const answer = await proxiedGet(`${NODE_A}:4140`, "hello");
  report(
    answer,
    [`http://${NODE_A}:9990/ (node A)   http://${NODE_B}:9990/ (node B)`],
    `${NODE_A}:4140`,
    `http_proxy=${NODE_A}:4140 curl http://hello`,
  );
  if (tlsMode) {
    // the hop between the nodes is TLS: node B's incoming router refuses plaintext
    const plain = await proxiedGet(`${NODE_B}:4141`, "world");
    log(
      plain.code === 0
        ? `plaintext to node B's incoming router was answered: TLS is NOT in use`
        : `plaintext to node B's incoming router (${NODE_B}:4141): refused (${plain.err}); it speaks TLS only`,
    );
  }
  return answer;
}

async function main() {
  let answer;
  if (httpMode) {
    answer = await runHttp();
  } else if (namerdMode) {
    answer = await runNamerd();
  } else if (forceFs) {
    log("--fs: the io.l5d.fs demo");
    answer = await runFs();
  } else {
    const why = await k8sModeUnavailable();
    if (why === undefined) {
      answer = await runK8s();
    } else {
      log(`Kubernetes mode unavailable: ${why}; falling back to the io.l5d.fs demo`);
      answer = await runFs();
    }
  }
  if (once) await shutdown(answer.code === 0 ? 0 : 1);
  else log("running; Ctrl-C to stop");
}

main().catch((e) => {
  console.error(e);
  void shutdown(1);
});
