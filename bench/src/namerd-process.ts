// A namerd process for `bench --namerd`: its config validated in the bench first (a bad
// generated config fails with namerd's key-path errors, not a dead child), started as the
// `namerd` command, and its memory sampled from /proc plus the preloaded namerd-heap hook.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createNamerdRegistries, parseNamerdConfig } from "@l5d/namerd";
import { freePort, waitForPort } from "./net.js";
import { sampleProcess } from "./proc.js";
import type { Child, Supervisor } from "./supervisor.js";

/** A running namerd. */
export interface NamerdProcess {
  child: Child;
  /** io.l5d.httpController's port. */
  port: number;
  adminPort: number;
  /** /proc RSS and, after two full GCs inside namerd, its heap. */
  memory(): Promise<{
    rssKb: number;
    hwmKb: number;
    heapUsed: number;
    heapTotal: number;
    external: number;
  }>;
}

/** Raised when namerd does not answer a memory sample. */
export class NamerdSampleError extends Error {
  override name = "NamerdSampleError";
}

/** namerd's entry in this checkout (tsc's output: apps/namerd has no bundle). */
export function namerdEntry(repoRoot: string): string {
  return join(repoRoot, "apps/namerd/dist/main.js");
}

/**
 * Writes `yaml(port, adminPort)` to `<dir>/namerd.yaml`, validates it with namerd's own parser,
 * starts `node --expose-gc --import namerd-heap.js apps/namerd/dist/main.js` and waits for the
 * HTTP controller to listen.
 */
export async function startNamerdProcess(
  sup: Supervisor,
  repoRoot: string,
  dir: string,
  name: string,
  yaml: (port: number, adminPort: number) => string,
): Promise<NamerdProcess> {
  const entry = namerdEntry(repoRoot);
  if (!existsSync(entry)) throw new Error(`${entry} not built (pnpm --filter @l5d/namerd build)`);
  const port = await freePort();
  const adminPort = await freePort();
  const cfg = join(dir, `${name}.yaml`);
  const text = yaml(port, adminPort);
  const parsed = parseNamerdConfig(text, createNamerdRegistries());
  if (!parsed.ok)
    throw new Error(
      `generated namerd config ${cfg} is invalid:\n${parsed.errors.map((e) => `${e.path}: ${e.message}`).join("\n")}`,
    );
  writeFileSync(cfg, text);
  const heapFile = join(dir, `${name}.heap.json`);
  // dist's copy, also when this module runs from src under vitest (bench's tests run after its build)
  const hook = new URL("../dist/namerd-heap.js", import.meta.url).href;
  const child = sup.spawn(
    name,
    process.execPath,
    ["--expose-gc", "--import", hook, entry, "--log-level=warn", cfg],
    { env: { ...process.env, L5D_BENCH_HEAP_FILE: heapFile } },
  );
  try {
    await waitForPort(port, 15_000, child);
  } catch (err) {
    await sup.stop(child);
    throw err;
  }
  let seq = 0;
  return {
    child,
    port,
    adminPort,
    async memory() {
      seq += 1;
      rmSync(heapFile, { force: true });
      process.kill(child.pid, "SIGUSR2");
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        if (child.hasExited()) throw new NamerdSampleError(`${name} exited: ${child.output()}`);
        if (existsSync(heapFile)) {
          const h = JSON.parse(readFileSync(heapFile, "utf8")) as {
            seq: number;
            gc: boolean;
            heapUsed: number;
            heapTotal: number;
            external: number;
          };
          if (h.seq === seq) {
            if (!h.gc) throw new NamerdSampleError(`${name}: --expose-gc did not take effect`);
            const p = sampleProcess(child.pid);
            if (!p) throw new NamerdSampleError(`${name}: /proc/${child.pid} unreadable`);
            return {
              rssKb: p.rssKb,
              hwmKb: p.hwmKb,
              heapUsed: h.heapUsed,
              heapTotal: h.heapTotal,
              external: h.external,
            };
          }
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new NamerdSampleError(`${name}: no heap sample within 10 s`);
    },
  };
}
