#!/usr/bin/env node
// The traffic-shift walkthrough (issue #15, the series' continuous-deployment part on our gRPC
// apps), measured: namerd (inMemory storage, io.l5d.fs namer) and an l5d whose router binds
// through namerd (io.l5d.namerd.http) run as processes; world-v1 ("world") and world-v2
// ("earth") serve behind it. Calls run without pause through l5d while `l5d namerctl dtab update`
// shifts /grpc/World from world-v1 to 90/10, then to world-v2. Prints each phase's answers and
// every failed call; exits 1 if any call failed.
//
//   pnpm build && node scripts/traffic-shift.mjs [--calls=<per phase, default 1000>] [--workers=4]
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  callGreeting,
  createWorldClient,
  startHelloWorldServer,
} from "../packages/helloworld/dist/index.js";

const root = new URL("..", import.meta.url).pathname;
const arg = (name, dflt) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};
const PER_PHASE = arg("calls", 1000);
const WORKERS = arg("workers", 4);
const IP = "127.0.0.1";
const work = mkdtempSync(join(tmpdir(), "l5d-shift-"));
const children = [];
const closers = [];

const log = (m) => process.stdout.write(`[shift] ${m}\n`);
const DTAB = (world) =>
  `/srv => /#/io.l5d.fs; /grpc => /srv; /grpc/World => ${world}; /svc => /$/io.buoyant.http.domainToPathPfx/grpc`;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, IP, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function start(name, args) {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => {
    if (err.length < 4000) err += d;
  });
  child.on("exit", (code) => {
    if (code && !stopping) {
      log(`${name} exited ${code}: ${err.trim()}`);
      process.exit(1);
    }
  });
  children.push(child);
}

async function waitFor(url, what, ms = 20_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up at ${url}`);
}

function namerctl(api, file) {
  const r = spawnSync(
    process.execPath,
    ["apps/l5d/dist/main.js", "namerctl", "--base-url", api, "dtab", "update", "default", file],
    { cwd: root, encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`namerctl failed: ${r.stderr}`);
  return r.stdout.trim();
}

let stopping = false;
async function main() {
  const v1 = await startHelloWorldServer({ addr: `${IP}:0`, text: "world", podIp: IP });
  closers.push(() => v1.close());
  const v2 = await startHelloWorldServer({ addr: `${IP}:0`, text: "earth", podIp: IP });
  closers.push(() => v2.close());
  writeFileSync(join(work, "world-v1"), `${IP} ${v1.port}\n`);
  writeFileSync(join(work, "world-v2"), `${IP} ${v2.port}\n`);
  const [apiPort, nAdmin, lAdmin, routerPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  writeFileSync(
    join(work, "namerd.yaml"),
    `admin: {ip: ${IP}, port: ${nAdmin}}
storage:
  kind: io.l5d.inMemory
  namespaces:
    default: "${DTAB("/srv/world-v1")}"
namers:
- kind: io.l5d.fs
  rootDir: ${work}
interfaces:
- kind: io.l5d.httpController
  ip: ${IP}
  port: ${apiPort}
`,
  );
  writeFileSync(
    join(work, "l5d.yaml"),
    `admin: {ip: ${IP}, port: ${lAdmin}}
routers:
- protocol: h2
  label: outgoing
  identifier: {kind: io.l5d.header.path, segments: 1}
  interpreter:
    kind: io.l5d.namerd.http
    experimental: true
    dst: /$/inet/${IP}/${apiPort}
    namespace: default
    retry: {baseSeconds: 0.1, maxSeconds: 1}
  servers:
  - {ip: ${IP}, port: ${routerPort}}
`,
  );
  start("namerd", ["apps/namerd/dist/main.js", join(work, "namerd.yaml")]);
  await waitFor(`http://${IP}:${nAdmin}/admin/ping`, "namerd");
  start("l5d", ["apps/l5d/dist/main.js", join(work, "l5d.yaml")]);
  await waitFor(`http://${IP}:${lAdmin}/admin/ping`, "l5d");
  const api = `http://${IP}:${apiPort}`;
  log(
    `namerd ${api}, l5d ${IP}:${routerPort}, world-v1 :${v1.port} ("world"), world-v2 :${v2.port} ("earth")`,
  );

  // the load: WORKERS loops calling World through l5d, without pause, for the whole walkthrough
  const client = createWorldClient(`${IP}:${routerPort}`);
  const answers = [];
  const failures = [];
  let running = true;
  const deadline = Date.now() + 300_000;
  const loops = Array.from({ length: WORKERS }, async () => {
    while (running && Date.now() < deadline && answers.length < 50 * PER_PHASE) {
      try {
        answers.push(
          (await callGreeting(client, { service: "World", timeoutMs: 5_000 })).split(" ")[0],
        );
      } catch (e) {
        failures.push(e.message);
      }
    }
  });
  const next = async (n) => {
    const from = answers.length;
    while (answers.length < from + n && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    return answers.slice(from, from + n);
  };
  const settle = async (pred) => {
    const end = Date.now() + 20_000;
    while (!pred(answers.slice(-20)) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 5));
  };
  const rows = [];
  const phase = async (name, n) => {
    const got = await next(n);
    const world = got.filter((a) => a === "world").length;
    rows.push({ name, calls: got.length, world, earth: got.length - world });
    log(`${name}: ${got.length} calls, world ${world}, earth ${got.length - world}`);
  };

  await phase("world-v1 (seed dtab)", PER_PHASE);
  const split = join(work, "split.dtab");
  writeFileSync(split, DTAB("9 * /srv/world-v1 & 1 * /srv/world-v2"));
  let t0 = Date.now();
  log(`l5d namerctl dtab update default split.dtab → ${namerctl(api, split)}`);
  await settle((l) => l.includes("earth"));
  log(`first "earth" answer ${Date.now() - t0} ms after the update`);
  await phase("90/10 split", 2 * PER_PHASE);
  const v2only = join(work, "v2.dtab");
  writeFileSync(v2only, DTAB("/srv/world-v2"));
  t0 = Date.now();
  log(`l5d namerctl dtab update default v2.dtab → ${namerctl(api, v2only)}`);
  await settle((l) => l.length === 20 && l.every((a) => a === "earth"));
  log(`all answers "earth" ${Date.now() - t0} ms after the update`);
  await phase("world-v2", PER_PHASE);
  running = false;
  await Promise.all(loops);
  client.close();

  process.stdout.write("\nphase                     calls   world   earth\n");
  for (const r of rows)
    process.stdout.write(
      `${r.name.padEnd(24)} ${String(r.calls).padStart(6)} ${String(r.world).padStart(7)} ${String(r.earth).padStart(7)}\n`,
    );
  process.stdout.write(
    `\ncalls in total (transitions included): ${answers.length + failures.length}, failed: ${failures.length}\n`,
  );
  for (const f of [...new Set(failures)].slice(0, 5)) process.stdout.write(`  failure: ${f}\n`);
  return failures.length === 0 ? 0 : 1;
}

async function stop() {
  stopping = true;
  for (const c of children) c.kill("SIGTERM");
  for (const c of closers) await c();
  rmSync(work, { recursive: true, force: true });
}

main().then(
  async (code) => {
    await stop();
    process.exit(code);
  },
  async (e) => {
    log(`failed: ${e.stack ?? e.message}`);
    await stop();
    process.exit(1);
  },
);
