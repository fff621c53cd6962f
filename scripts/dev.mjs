#!/usr/bin/env node
// `pnpm dev`: the whole three-hop mesh on loopback (see deploy/local/fs-demo.mjs), the client's
// answer printed, then running until Ctrl-C. `--once` exits after the answer (used by tests).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { discoFiles, NODE_A, NODE_B, nodeConfig } from "../deploy/local/fs-demo.mjs";

const root = new URL("..", import.meta.url).pathname;
const once = process.argv.includes("--once");
const children = [];
const work = mkdtempSync(join(tmpdir(), "l5d-dev-"));
let stopping = false;

function log(msg) {
  process.stdout.write(`[dev] ${msg}\n`);
}

function canBind(ip) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(0, ip, () => s.close(() => resolve(true)));
  });
}

function start(name, args, env = {}) {
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
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (process.env.L5D_DEV_QUIET !== "1" || out === process.stderr) out.write(`${name.padEnd(6)}| ${line}\n`);
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
        if (Date.now() > deadline) reject(new Error(`${host}:${port} did not open in ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  await Promise.all(
    children.map(
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
  rmSync(work, { recursive: true, force: true });
  process.exit(code);
}

process.on("SIGINT", () => {
  log("Ctrl-C: stopping everything");
  void shutdown(0);
});
process.on("SIGTERM", () => void shutdown(0));

async function main() {
  for (const ip of [NODE_A, NODE_B]) {
    if (!(await canBind(ip))) {
      log(`cannot bind ${ip} on this machine (Linux binds all of 127.0.0.0/8; this OS may not)`);
      await shutdown(1);
    }
  }
  const disco = join(work, "disco");
  mkdirSync(disco);
  for (const [f, body] of Object.entries(discoFiles())) writeFileSync(join(disco, f), body);
  for (const [node, ip] of [
    ["a", NODE_A],
    ["b", NODE_B],
  ]) {
    const cfg = join(work, `l5d-${node}.yaml`);
    writeFileSync(cfg, nodeConfig({ ip, disco }));
    start(`l5d-${node}`, ["apps/l5d/dist/main.js", cfg]);
  }
  start("world", ["apps/world/dist/main.js", `-addr=${NODE_B}:7778`, "-protocol=grpc"], {
    TARGET_WORLD: "world",
    POD_IP: NODE_B,
  });
  start("hello", ["apps/hello/dist/main.js", `-addr=${NODE_A}:7777`, "-text=Hello", `-target=${NODE_A}:4140`, "-protocol=grpc"], {
    POD_IP: NODE_A,
  });
  await Promise.all([
    waitPort(NODE_A, 4140),
    waitPort(NODE_A, 4141),
    waitPort(NODE_B, 4140),
    waitPort(NODE_B, 4141),
    waitPort(NODE_A, 7777),
    waitPort(NODE_B, 7778),
  ]);
  log(`mesh is up; calling helloworld-client ${NODE_A}:4140`);
  const answer = await new Promise((resolve) => {
    const c = spawn(process.execPath, ["apps/helloworld-client/dist/main.js", `${NODE_A}:4140`], { cwd: root });
    let out = "";
    let err = "";
    c.stdout.on("data", (d) => (out += d));
    c.stderr.on("data", (d) => (err += d));
    c.on("exit", (code) => resolve({ code, out: out.trim(), err: err.trim() }));
  });
  if (answer.code === 0) {
    console.log(`\n${answer.out}\n`);
  } else {
    console.log(`\nclient failed (exit ${answer.code}): ${answer.err}\n`);
  }
  log(`admin: http://${NODE_A}:9990/ (node A)   http://${NODE_B}:9990/ (node B)`);
  log(`try:   node apps/helloworld-client/dist/main.js ${NODE_A}:4140`);
  if (once) await shutdown(answer.code === 0 ? 0 : 1);
  else log("running; Ctrl-C to stop");
}

main().catch((e) => {
  console.error(e);
  void shutdown(1);
});
