// Dtab propagation of `bench --namerd`: N real l5d processes route `/svc/target` by a dtab that
// namerd serves (`io.l5d.namerd.http`); a PUT flips it between two backends, and each linker is
// probed with requests until the new backend answers through it. The time from sending the
// PUT to that answer is the honest "routes by the new dtab": it includes namerd's push, the
// linker's re-bind and its first connection to the new backend, to a resolution of one probe.
import { mkdirSync, writeFileSync } from "node:fs";
import http2, { type ClientHttp2Session, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { l5dEntry, l5dEnv, l5dNodeFlags } from "./l5d-flags.js";
import {
  linkerYaml,
  type NamerdPhases,
  namerdYaml,
  PROPAGATION_AUTHORITY,
  PROPAGATION_NAMESPACE,
  type PropagationCase,
  type PropagationPut,
  propagationDtab,
  summarizePropagation,
} from "./namerd.js";
import { namerdExpect } from "./namerd-http.js";
import { type NamerdProcess, startNamerdProcess } from "./namerd-process.js";
import { freePort, waitForPort } from "./net.js";
import { percentiles } from "./stats.js";
import type { Child, Supervisor } from "./supervisor.js";

/** What the propagation case needs. */
export interface PropagationContext {
  sup: Supervisor;
  repoRoot: string;
  /** scratch directory of this case. */
  dir: string;
  phases: NamerdPhases;
  deadline: number;
  log: (line: string) => void;
}

/** Raised when a probe through a linker does not come back 200 from a backend. */
export class ProbeError extends Error {
  override name = "ProbeError";
}

const BACKENDS = ["a", "b"] as const;
const PROBE_TIMEOUT_MS = 2_000;
/** How long a freshly started (or already running) linker gets to route by the current dtab. */
const READY_MS = 20_000;

interface Backend {
  name: string;
  port: number;
  close(): Promise<void>;
}

/** An h2c server answering every request 200 with `x-backend: <name>`. */
async function startBackend(name: string): Promise<Backend> {
  const server: Http2Server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("stream", (stream) => {
    stream.respond({ ":status": 200, "content-type": "text/plain", "x-backend": name });
    stream.end(name);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    name,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One linker: its process and a persistent h2c connection for the probes. */
class Linker {
  #session: ClientHttp2Session | undefined;

  constructor(
    readonly child: Child,
    readonly port: number,
  ) {}

  #connect(): ClientHttp2Session {
    if (this.#session && !this.#session.closed && !this.#session.destroyed) return this.#session;
    const s = http2.connect(`http://127.0.0.1:${this.port}`);
    s.on("error", () => {}); // surfaced by the request that hits it
    this.#session = s;
    return s;
  }

  /** One request for `/svc/target`: the backend that answered. */
  probe(): Promise<string> {
    return new Promise((resolve, reject) => {
      let req: http2.ClientHttp2Stream;
      try {
        req = this.#connect().request({
          ":method": "GET",
          ":path": "/",
          ":authority": PROPAGATION_AUTHORITY,
        });
      } catch (e) {
        this.#session?.destroy();
        reject(e);
        return;
      }
      let status = 0;
      let backend: string | undefined;
      const timer = setTimeout(() => {
        req.close(http2.constants.NGHTTP2_CANCEL);
        reject(new ProbeError(`linker :${this.port}: no answer within ${PROBE_TIMEOUT_MS} ms`));
      }, PROBE_TIMEOUT_MS);
      req.on("response", (h) => {
        status = Number(h[":status"]);
        const b = h["x-backend"];
        backend = typeof b === "string" ? b : undefined;
      });
      req.on("data", () => {});
      req.on("end", () => {
        clearTimeout(timer);
        if (status === 200 && backend !== undefined) resolve(backend);
        else reject(new ProbeError(`linker :${this.port}: HTTP ${status}`));
      });
      req.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.end();
    });
  }

  close(): void {
    this.#session?.destroy();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startLinker(
  ctx: PropagationContext,
  namerdPort: number,
  index: number,
): Promise<Linker> {
  const routerPort = await freePort();
  const adminPort = await freePort();
  const name = `l5d-${index}`;
  const cfg = join(ctx.dir, `${name}.yaml`);
  writeFileSync(
    cfg,
    linkerYaml({ name, adminPort, routerPort, namerdPort, namespace: PROPAGATION_NAMESPACE }),
  );
  // the image's entry point, malloc settings and node flags (deploy/docker/bin/l5d)
  const child = ctx.sup.spawn(
    name,
    process.execPath,
    [...l5dNodeFlags(ctx.repoRoot), l5dEntry(ctx.repoRoot), cfg],
    { env: { ...process.env, ...l5dEnv(ctx.repoRoot), LOG_LEVEL: "warn" } },
  );
  try {
    await waitForPort(routerPort, READY_MS, child);
  } catch (e) {
    await ctx.sup.stop(child);
    throw e;
  }
  return new Linker(child, routerPort);
}

/** Probes until `linker` answers from `want`; bounded by `timeoutMs`. */
async function untilRouted(linker: Linker, want: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < end) {
    try {
      if ((await linker.probe()) === want) return;
      last = `answered by the other backend`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(20);
  }
  throw new ProbeError(
    `linker :${linker.port} not routing to backend ${want} after ${timeoutMs} ms (${last}): ${linker.child.output().slice(-400)}`,
  );
}

/**
 * From `t0` (performance.now() when the PUT was sent): probes one linker, one request in
 * flight and `intervalMs` between requests, until `want` answers; ms from t0 to that answer,
 * or null after `timeoutMs`. Bounded in time and, through the interval, in count.
 */
async function timeToSwitch(
  linker: Linker,
  want: string,
  t0: number,
  p: NamerdPhases,
  tally: { probes: number; failed: number },
): Promise<number | null> {
  const maxProbes = Math.ceil(p.switchTimeoutMs / Math.max(1, p.probeIntervalMs)) + 1;
  for (let i = 0; i < maxProbes && performance.now() - t0 < p.switchTimeoutMs; i++) {
    tally.probes++;
    try {
      if ((await linker.probe()) === want) return performance.now() - t0;
    } catch {
      tally.failed++;
    }
    await sleep(p.probeIntervalMs);
  }
  return null;
}

/** p50 of 30 probes through `linker`, one at a time, while nothing changes: ms. */
async function probeRtt(linker: Linker, want: string): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    const got = await linker.probe();
    if (got !== want) throw new ProbeError(`linker :${linker.port}: ${got} answered, not ${want}`);
    ms.push(performance.now() - t);
  }
  return percentiles(ms).p50;
}

/** One versioned PUT flipping `/svc/target` to `want`, timed to every linker. */
async function onePut(
  namerd: NamerdProcess,
  linkers: readonly Linker[],
  want: string,
  p: NamerdPhases,
): Promise<PropagationPut> {
  const path = `/api/1/dtabs/${PROPAGATION_NAMESPACE}`;
  const etag = (await namerdExpect(200, namerd.port, "GET", path)).headers.etag;
  if (typeof etag !== "string") throw new Error(`GET ${path}: no ETag`);
  const tally = { probes: 0, failed: 0 };
  const t0 = performance.now();
  const put = namerdExpect(204, namerd.port, "PUT", path, {
    headers: { "content-type": "application/dtab", "if-match": etag },
    body: propagationDtab(want),
  }).then(() => performance.now() - t0);
  const [putMs, ...linkerMs] = await Promise.all([
    put,
    ...linkers.map((l) => timeToSwitch(l, want, t0, p, tally)),
  ]);
  return {
    target: want,
    putMs: putMs as number,
    linkerMs: linkerMs as (number | null)[],
    failedProbes: tally.failed,
    probes: tally.probes,
  };
}

/** Runs the propagation case for every linker count of the phases. */
export async function measurePropagation(ctx: PropagationContext): Promise<PropagationCase[]> {
  const p = ctx.phases;
  const fsDir = join(ctx.dir, "fs");
  mkdirSync(fsDir, { recursive: true });
  const backends: Backend[] = [];
  const linkers: Linker[] = [];
  let namerd: NamerdProcess | undefined;
  const out: PropagationCase[] = [];
  try {
    for (const b of BACKENDS) {
      const be = await startBackend(b);
      backends.push(be);
      writeFileSync(join(fsDir, `backend-${b}`), `127.0.0.1 ${be.port}\n`);
    }
    namerd = await startNamerdProcess(
      ctx.sup,
      ctx.repoRoot,
      ctx.dir,
      "namerd-prop",
      (port, adminPort) =>
        namerdYaml({
          port,
          adminPort,
          rootDir: fsDir,
          namespaces: { [PROPAGATION_NAMESPACE]: propagationDtab("a") },
        }),
    );
    let current = "a";
    for (const n of p.linkerCounts) {
      const c: PropagationCase = { linkers: n, puts: [] };
      out.push(c);
      try {
        const t0 = Date.now();
        // started a few at a time: on a small machine 20 at once only contend for the cores
        while (linkers.length < n) {
          if (Date.now() > ctx.deadline) throw new Error("time budget used up starting linkers");
          const batch = Math.min(4, n - linkers.length);
          const base = linkers.length;
          linkers.push(
            ...(await Promise.all(
              Array.from({ length: batch }, (_, k) => startLinker(ctx, namerd!.port, base + k)),
            )),
          );
        }
        await Promise.all(linkers.map((l) => untilRouted(l, current, READY_MS)));
        c.probeRttP50Ms = await probeRtt(linkers[0]!, current);
        ctx.log(
          `bench: namerd: ${n} linker(s) up and routing to backend ${current} (${((Date.now() - t0) / 1000).toFixed(1)} s), probe RTT p50 ${c.probeRttP50Ms.toFixed(2)} ms`,
        );
        for (let i = 0; i < p.puts; i++) {
          if (Date.now() > ctx.deadline) {
            c.error = `time budget used up after ${i} PUT(s)`;
            break;
          }
          const want = current === "a" ? "b" : "a";
          const put = await onePut(namerd, linkers, want, p);
          c.puts.push(put);
          current = want;
          const done = put.linkerMs.filter((m) => m !== null) as number[];
          ctx.log(
            `bench: namerd: ${n} linker(s), PUT ${i + 1}/${p.puts} → ${want}: PUT ${put.putMs.toFixed(1)} ms, last linker ${done.length === n ? `${Math.max(...done).toFixed(1)} ms` : `${n - done.length} never switched`}, ${put.failedProbes}/${put.probes} probes failed`,
          );
          if (done.length !== n) {
            // a linker left behind: bring it back before the next PUT, or stop this case
            await Promise.all(linkers.map((l) => untilRouted(l, current, READY_MS)));
          }
          await sleep(200);
        }
      } catch (e) {
        c.error = (e as Error).message;
        ctx.log(`bench: namerd: ${n} linker(s): ERROR ${c.error.slice(0, 300)}`);
      }
      out[out.length - 1] = summarizePropagation(c);
      if (c.error && c.puts.length === 0) break;
    }
  } finally {
    for (const l of linkers) l.close();
    await Promise.all(linkers.map((l) => ctx.sup.stop(l.child)));
    if (namerd) await ctx.sup.stop(namerd.child);
    for (const b of backends) await b.close();
  }
  return out;
}
