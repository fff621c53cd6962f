// The gRPC modes' backend (bench/backend.mjs, or apps/world for the full run's second backend)
// and the unary call every gRPC mode measures: shared by the default modes (main.ts) and
// `--workers` (workers-run.ts).
import { join } from "node:path";
import { splitNodeFlags } from "./l5d-flags.js";
import { freePort, waitForPort } from "./net.js";
import type { BackendName } from "./results.js";
import type { Child, Supervisor } from "./supervisor.js";
import type { BenchTls } from "./tls.js";

/** The request headers of every gRPC load (h2load -H). */
export const GRPC_HEADERS: readonly string[] = ["content-type: application/grpc", "te: trailers"];

/** The unary call: bench/backend.mjs and apps/world both answer it with one message. */
export const UNARY_PATH = "/helloworld.World/Greeting";

/** A started backend. */
export interface Backend {
  name: BackendName;
  child: Child;
  port: number;
  /** the same backend's TLS port (bench/backend.mjs with `tls`), for the `-tls` cases. */
  tlsPort?: number;
}

/**
 * Node flags of bench/backend.mjs, the peer every case shares (not the product: l5d runs with
 * its launcher's flags). With node's defaults its heap grows over a run and its major GCs
 * (10-25 ms) land in whichever case is being measured: at 1,000 req/s one of them is enough to
 * move a case's p99 (docs/performance.md, "Tails"). A young generation of 2 x 32 MiB and an old
 * generation that is not collected before 512 MiB keep those pauses out of the run, for every
 * case alike. `BENCH_BACKEND_NODE_FLAGS` replaces them (empty: node's defaults).
 */
export const BACKEND_NODE_FLAGS = ["--max-semi-space-size=32", "--initial-old-space-size=512"];

export function backendNodeFlags(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const v = env.BENCH_BACKEND_NODE_FLAGS;
  return v === undefined ? [...BACKEND_NODE_FLAGS] : splitNodeFlags(v);
}

/**
 * Starts bench/backend.mjs (`node`, with a TLS port too when `tls` is given) or apps/world
 * (`world`) on a free loopback port and waits until it listens.
 */
export async function startBackend(
  sup: Supervisor,
  repoRoot: string,
  name: BackendName,
  tls: BenchTls | undefined,
): Promise<Backend> {
  const port = await freePort();
  const tlsPort = name === "node" && tls !== undefined ? await freePort() : undefined;
  const child =
    name === "node"
      ? sup.spawn("backend", process.execPath, [
          ...backendNodeFlags(),
          join(repoRoot, "bench/backend.mjs"),
          String(port),
          ...(tlsPort === undefined || tls === undefined
            ? []
            : [`--tls=${tlsPort},${tls.cert},${tls.key}`]),
        ])
      : sup.spawn(
          "world",
          process.execPath,
          [join(repoRoot, "apps/world/dist/main.js"), `-addr=127.0.0.1:${port}`, "-protocol=grpc"],
          { env: { ...process.env, TARGET_WORLD: "world", LOG_LEVEL: "warn" } },
        );
  try {
    await waitForPort(port, 15_000, child);
    if (tlsPort !== undefined) await waitForPort(tlsPort, 15_000, child);
  } catch (err) {
    await sup.stop(child);
    throw err;
  }
  return { name, child, port, ...(tlsPort === undefined ? {} : { tlsPort }) };
}
