import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { PacedResult, PacedRun } from "./paced.js";

/** Where the C generator's source lives (shipped as source: compiled per run, never committed). */
export const PACER_SOURCE = new URL("../src/pacer.c", import.meta.url).pathname;

/**
 * Compiles the C paced generator (`pacer.c`) into `dir` with the system C compiler. Returns its
 * path, or a reason when there is no compiler (the harness then falls back to the Node
 * generator and says so in the report).
 */
export function buildPacer(dir: string): { path: string } | { reason: string } {
  const out = join(dir, "pacer");
  for (const cc of ["cc", "gcc", "clang"]) {
    try {
      execFileSync(cc, ["-O2", "-o", out, PACER_SOURCE], { stdio: ["ignore", "ignore", "pipe"] });
      if (existsSync(out)) return { path: out };
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === "ENOENT") continue;
      return { reason: `${cc} failed: ${String(e.stderr ?? e.message).slice(0, 300)}` };
    }
  }
  return { reason: "no C compiler (cc, gcc, clang) on PATH" };
}

interface PacerOutput {
  sent: number;
  ok: number;
  failed: number;
  spanS: number;
  latUs: number[];
  schedUs: number[];
}

/**
 * Runs the C generator (see pacer.c): the same open-loop, evenly paced load as `pacedLoad`,
 * without a garbage collector or a timer wheel of its own in the measurement. Bounded: killed
 * at duration + drain + 10 s.
 */
export function pacerLoad(bin: string, run: PacedRun): Promise<PacedResult> {
  const drainMs = run.drainMs ?? 5000;
  const args = [
    String(run.port),
    run.path,
    String(run.rate),
    String(run.durationS),
    String(Math.max(1, run.connections)),
    run.body.toString("hex"),
    String(drainMs),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill("SIGKILL"), run.durationS * 1000 + drainMs + 10_000);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(
          new Error(
            `pacer exited with ${code ?? signal}: ${Buffer.concat(err).toString().slice(0, 300)}`,
          ),
        );
        return;
      }
      try {
        const r = JSON.parse(Buffer.concat(out).toString()) as PacerOutput;
        const lagUs = r.latUs.map((l, i) => (r.schedUs[i] ?? l) - l);
        resolve({
          latenciesUs: r.latUs,
          lagUs,
          sent: r.sent,
          ok: r.ok,
          failed: r.failed,
          achievedRps: r.spanS > 0 ? r.ok / r.spanS : 0,
        });
      } catch (e) {
        reject(new Error(`pacer: unreadable output: ${(e as Error).message}`));
      }
    });
  });
}
