import { performance } from "node:perf_hooks";
import {
  callGreeting,
  callStreamGreeting,
  createHelloClient,
  type MetadataInit,
} from "./client.js";
import { grpcCodeName, isRpcError } from "./rpc-error.js";

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Total calls (`-n`). */
  requests: number;
  /** Calls in flight at once (`-c`). Default 1. */
  concurrency?: number;
  /** Use `StreamGreeting` (a call = the whole stream). Default false. */
  streaming?: boolean;
  /** Per-call deadline in ms. Default none. */
  timeoutMs?: number | undefined;
  /** Extra metadata on every call. */
  metadata?: MetadataInit | undefined;
}

/** What {@link runLoad} measured. */
export interface LoadSummary {
  requests: number;
  ok: number;
  errors: number;
  /** Error counts keyed by grpc-go code name (`Unavailable`), or `Other`. */
  errorsByCode: Record<string, number>;
  /** Latency percentiles of all calls (ok and failed), in ms. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  elapsedMs: number;
  requestsPerSecond: number;
}

/** Nearest-rank percentile of sorted values (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** Sends `requests` calls over one channel, `concurrency` at a time, and summarizes them. */
export async function runLoad(target: string, opts: LoadOptions): Promise<LoadSummary> {
  const total = Math.max(0, Math.floor(opts.requests));
  const workers = Math.max(1, Math.min(total, Math.floor(opts.concurrency ?? 1)));
  const client = createHelloClient(target);
  const latencies: number[] = [];
  const errorsByCode: Record<string, number> = {};
  let next = 0;
  let ok = 0;
  const callOpts = { timeoutMs: opts.timeoutMs, metadata: opts.metadata };
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (next < total) {
          next++;
          const t0 = performance.now();
          try {
            if (opts.streaming) await callStreamGreeting(client, callOpts);
            else await callGreeting(client, callOpts);
            ok++;
          } catch (err) {
            const key = isRpcError(err) ? grpcCodeName(err.code) : "Other";
            errorsByCode[key] = (errorsByCode[key] ?? 0) + 1;
          }
          latencies.push(performance.now() - t0);
        }
      }),
    );
  } finally {
    client.close();
  }
  const elapsedMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    requests: total,
    ok,
    errors: total - ok,
    errorsByCode,
    latencyMs: {
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? 0,
    },
    elapsedMs,
    requestsPerSecond: elapsedMs > 0 ? (total * 1000) / elapsedMs : 0,
  };
}

/** The human summary `helloworld-client -n N -c C` prints. */
export function formatLoadSummary(s: LoadSummary): string {
  const ms = (v: number) => v.toFixed(2);
  const codes = Object.entries(s.errorsByCode)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  return [
    `requests: ${s.requests}  ok: ${s.ok}  errors: ${s.errors}`,
    ...(codes === "" ? [] : [`errors by code: ${codes}`]),
    `latency ms: p50=${ms(s.latencyMs.p50)} p90=${ms(s.latencyMs.p90)} p99=${ms(s.latencyMs.p99)} max=${ms(s.latencyMs.max)}`,
    `throughput: ${s.requestsPerSecond.toFixed(1)} req/s over ${(s.elapsedMs / 1000).toFixed(3)} s`,
    "",
  ].join("\n");
}
