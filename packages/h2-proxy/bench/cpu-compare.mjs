#!/usr/bin/env node
// Side-by-side CPU per request of proxy commands in ONE run (a script, not a test; issue #9).
//   node packages/h2-proxy/bench/cpu-compare.mjs <requests> <rounds> name=command ...
// Starts bench/backend.mjs, then every command with {PORT} (its listen port) and {UP}
// (backend host:port) substituted; {CFG} becomes an l5d config file (token identifier,
// /svc/* => the backend). Each round runs
// h2load -n <requests> -c 4 -m 32 (unary gRPC) against each proxy in turn and prints the proxy's
// CPU µs/request (utime+stime from /proc), the backend's, req/s and VmHWM/VmRSS (MiB).
// Run from the repository root, after building. Loopback only; every process is stopped at the end.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [n, rounds, ...specs] = process.argv.slice(2);
const freePort = () =>
  new Promise((r) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => r(p));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const procs = [];
const dir = mkdtempSync(join(tmpdir(), "cpu-compare-"));
function start(cmd) {
  const p = spawn("bash", ["-c", `exec ${cmd}`], { stdio: ["ignore", "ignore", "inherit"] });
  procs.push(p);
  return p;
}
async function waitPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy();
        r(true);
      });
      s.on("error", () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error("port " + port);
}
function cpu(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10000;
}
function hwm(pid) {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  return {
    hwm: Number(/VmHWM:\s+(\d+)/.exec(s)[1]) / 1024,
    rss: Number(/VmRSS:\s+(\d+)/.exec(s)[1]) / 1024,
  };
}
const up = await freePort();
const be = start(`node bench/backend.mjs ${up}`);
await waitPort(up);
const body = join(dir, "body.bin");
writeFileSync(body, Buffer.from([0, 0, 0, 0, 0]));
const h2 = (port, nn) =>
  execFileSync(
    "h2load",
    [
      "-n",
      String(nn),
      "-c",
      "4",
      "-m",
      "32",
      "-t",
      "1",
      "-d",
      body,
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      `http://127.0.0.1:${port}/helloworld.World/Greeting`,
    ],
    { encoding: "utf8" },
  );
const px = [];
for (const s of specs) {
  const i = s.indexOf("=");
  const name = s.slice(0, i);
  let cmd = s.slice(i + 1);
  const port = await freePort();
  const admin = await freePort();
  if (cmd.includes("{CFG}")) {
    const cfg = join(dir, `${name}.yaml`);
    writeFileSync(
      cfg,
      `admin: {port: ${admin}, ip: 127.0.0.1}\nrouters:\n- protocol: h2\n  label: bench\n  identifier: {kind: io.l5d.header.token}\n  dtab: /svc/* => /$/inet/127.0.0.1/${up};\n  servers: [{port: ${port}, ip: 127.0.0.1}]\n`,
    );
    cmd = cmd.replace("{CFG}", cfg);
  }
  cmd = cmd.replaceAll("{PORT}", String(port)).replaceAll("{UP}", `127.0.0.1:${up}`);
  const p = start(cmd);
  await waitPort(port);
  px.push({ name, p, port, res: [] });
  h2(port, 4000);
}
for (let r = 0; r < Number(rounds); r++)
  for (const x of px) {
    const c0 = cpu(x.p.pid);
    const b0 = cpu(be.pid);
    const out = h2(x.port, Number(n));
    const ok = Number(/(\d+) succeeded/.exec(out)[1]);
    const rps = /finished in [^,]+, ([\d.]+) req\/s/.exec(out)[1];
    const us = (cpu(x.p.pid) - c0) / ok;
    const bus = (cpu(be.pid) - b0) / ok;
    x.res.push(us);
    console.log(
      `${x.name} round ${r}: ${us.toFixed(1)} us/req  backend ${bus.toFixed(1)}  ${rps} req/s ok=${ok}  ${JSON.stringify(hwm(x.p.pid))}`,
    );
  }
for (const x of px)
  console.log(
    `${x.name}: min ${Math.min(...x.res).toFixed(1)} median ${x.res.sort((a, b) => a - b)[Math.floor(x.res.length / 2)].toFixed(1)} hwm ${hwm(x.p.pid).hwm.toFixed(0)}MB`,
  );
console.log("load", readFileSync("/proc/loadavg", "utf8").trim());
for (const p of procs) p.kill("SIGTERM");
await sleep(500);
for (const p of procs)
  try {
    p.kill("SIGKILL");
  } catch {}
rmSync(dir, { recursive: true, force: true });
