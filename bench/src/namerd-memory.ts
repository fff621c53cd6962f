// namerd's memory in `bench --namerd`: a fresh namerd process sampled empty, after `namespaces`
// dtabs of `dentries` dentries each are created through its HTTP API, and after `watches`
// bind watch streams (one per namespace, each on its own connection) have their first answer.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type MemoryResult,
  type MemorySample,
  memoryDtab,
  memoryNamespace,
  memoryWatchPath,
  type NamerdPhases,
  namerdYaml,
  serviceName,
} from "./namerd.js";
import { inParallel, namerdExpect, type OpenWatch, openWatch } from "./namerd-http.js";
import { type NamerdProcess, startNamerdProcess } from "./namerd-process.js";
import type { Supervisor } from "./supervisor.js";

/** What the memory case needs. */
export interface MemoryContext {
  sup: Supervisor;
  repoRoot: string;
  dir: string;
  phases: NamerdPhases;
  deadline: number;
  log: (line: string) => void;
}

/** Requests in flight while creating namespaces and opening watches. */
const CREATE_CONCURRENCY = 8;
const WATCH_CONCURRENCY = 50;
/** Time given to namerd to settle (timers, the fs namer's first poll) before a sample. */
const SETTLE_MS = 1_500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sample(namerd: NamerdProcess, label: string): Promise<MemorySample> {
  await sleep(SETTLE_MS);
  return { label, ...(await namerd.memory()) };
}

function budget(ctx: MemoryContext, what: string): void {
  if (Date.now() > ctx.deadline) throw new Error(`time budget used up before ${what}`);
}

/** Runs the memory case. */
export async function measureMemory(ctx: MemoryContext): Promise<MemoryResult> {
  const p = ctx.phases;
  const r: MemoryResult = {
    namespaces: p.namespaces,
    dentries: p.dentries,
    watches: Math.min(p.watches, p.namespaces),
    samples: [],
  };
  // one fs file per watched name, so each watch binds a real, distinct service
  const files = Math.max(1, r.watches);
  const fsDir = join(ctx.dir, "fs");
  mkdirSync(fsDir, { recursive: true });
  for (let i = 0; i < files; i++)
    writeFileSync(join(fsDir, serviceName(i)), `127.0.0.1 ${20_000 + (i % 40_000)}\n`);
  const watches: OpenWatch[] = [];
  let namerd: NamerdProcess | undefined;
  try {
    namerd = await startNamerdProcess(
      ctx.sup,
      ctx.repoRoot,
      ctx.dir,
      "namerd-mem",
      (port, adminPort) => namerdYaml({ port, adminPort, rootDir: fsDir, namespaces: {} }),
    );
    const nd = namerd;
    r.samples.push(await sample(nd, "empty (no namespace)"));
    ctx.log(`bench: namerd: memory empty: ${fmtSample(r.samples[0]!)}`);

    budget(ctx, "creating namespaces");
    let t0 = Date.now();
    let created = 0;
    await inParallel(p.namespaces, CREATE_CONCURRENCY, async (i) => {
      budget(ctx, `namespace ${i}`);
      await namerdExpect(204, nd.port, "POST", `/api/1/dtabs/${memoryNamespace(i)}`, {
        headers: { "content-type": "application/dtab" },
        body: memoryDtab(i, p.dentries, files),
      });
      created++;
      if (created % 250 === 0)
        ctx.log(`bench: namerd: ${created}/${p.namespaces} namespaces created`);
    });
    r.createMs = Date.now() - t0;
    const list = JSON.parse(
      (await namerdExpect(200, nd.port, "GET", "/api/1/dtabs")).body,
    ) as string[];
    if (list.length !== p.namespaces)
      throw new Error(`namerd lists ${list.length} namespaces, ${p.namespaces} were created`);
    r.samples.push(await sample(nd, `namespaces: ${p.namespaces} × ${p.dentries} dentries`));
    ctx.log(`bench: namerd: memory with ${p.namespaces} namespaces: ${fmtSample(r.samples[1]!)}`);

    budget(ctx, "opening watches");
    t0 = Date.now();
    await inParallel(r.watches, WATCH_CONCURRENCY, async (i) => {
      budget(ctx, `watch ${i}`);
      const path = `/api/1/bind/${memoryNamespace(i)}?path=${encodeURIComponent(memoryWatchPath(i, p.dentries))}&watch=true`;
      watches.push(await openWatch(nd.port, path));
      if (watches.length % 250 === 0)
        ctx.log(`bench: namerd: ${watches.length}/${r.watches} watches open`);
    });
    r.watchOpenMs = Date.now() - t0;
    r.samples.push(await sample(nd, `watches: + ${r.watches} bind watch streams`));
    ctx.log(`bench: namerd: memory with ${r.watches} watches: ${fmtSample(r.samples[2]!)}`);
  } catch (e) {
    r.error = (e as Error).message;
    ctx.log(`bench: namerd: memory: ERROR ${r.error.slice(0, 300)}`);
  } finally {
    for (const w of watches) w.close();
    if (namerd) await ctx.sup.stop(namerd.child);
  }
  return r;
}

function fmtSample(s: MemorySample): string {
  return `RSS ${(s.rssKb / 1024).toFixed(1)} MiB, heap used ${(s.heapUsed / 1048576).toFixed(1)} MiB (total ${(s.heapTotal / 1048576).toFixed(1)})`;
}
