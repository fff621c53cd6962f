/** What one h2load run is asked to do. */
export interface H2loadRun {
  url: string;
  /** request body file (-d); h2load then sends POST. Without it: GET. */
  dataFile?: string | undefined;
  /** HTTP/1.1 with keep-alive (--h1) instead of h2c; `streams` > 1 would then pipeline. */
  h1?: boolean | undefined;
  /** extra request headers (-H), e.g. content-type: application/grpc. */
  headers: readonly string[];
  /** concurrent clients (-c). */
  clients: number;
  /** max concurrent streams per client (-m). */
  streams: number;
  /** main duration in seconds (-D); mutually exclusive with `requests`. */
  durationS?: number;
  /** total request count (-n). */
  requests?: number;
  /** requests per second per client (--rps). */
  rpsPerClient?: number;
  /** per-request log (--log-file): start µs, status, µs to end of response. */
  logFile?: string;
}

/** Duration as h2load wants it: whole seconds, or milliseconds. */
export function h2loadDuration(s: number): string {
  return Number.isInteger(s) ? String(s) : `${Math.round(s * 1000)}ms`;
}

/**
 * h2load's command line for a run (h2c prior knowledge: http:// URLs speak HTTP/2 directly;
 * with `h1`, HTTP/1.1 over keep-alive connections).
 */
export function h2loadArgs(run: H2loadRun): string[] {
  const args: string[] = run.h1 ? ["--h1"] : [];
  args.push("-c", String(run.clients), "-m", String(run.streams), "-t", "1");
  if (run.durationS !== undefined) args.push("-D", h2loadDuration(run.durationS));
  if (run.requests !== undefined) args.push("-n", String(run.requests));
  if (run.rpsPerClient !== undefined) args.push("--rps", String(run.rpsPerClient));
  if (run.logFile !== undefined) args.push("--log-file", run.logFile);
  if (run.dataFile !== undefined) args.push("-d", run.dataFile);
  for (const h of run.headers) args.push("-H", h);
  args.push(run.url);
  return args;
}

/** The summary h2load prints. */
export interface H2loadSummary {
  durationS: number;
  reqPerS: number;
  total: number;
  started: number;
  done: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  status2xx: number;
}

/** Raised when h2load output cannot be understood. */
export class H2loadParseError extends Error {
  override name = "H2loadParseError";
}

/**
 * Parses h2load's stdout:
 * `finished in 5.00s, 20140.20 req/s, 1.23MB/s`,
 * `requests: 100 total, 101 started, 100 done, 100 succeeded, 0 failed, 0 errored, 0 timeout`,
 * `status codes: 100 2xx, 0 3xx, 0 4xx, 0 5xx`.
 */
export function parseH2loadOutput(text: string): H2loadSummary {
  const fin = /finished in ([\d.]+)(ms|s|us), ([\d.]+) req\/s/.exec(text);
  const req =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      text,
    );
  if (!fin || !req) throw new H2loadParseError(`unrecognised h2load output: ${text.slice(-400)}`);
  const unit = fin[2] === "ms" ? 1e-3 : fin[2] === "us" ? 1e-6 : 1;
  const codes = /status codes: (\d+) 2xx/.exec(text);
  const n = (i: number): number => Number(req[i]);
  return {
    durationS: Number(fin[1]) * unit,
    reqPerS: Number(fin[3]),
    total: n(1),
    started: n(2),
    done: n(3),
    succeeded: n(4),
    failed: n(5),
    errored: n(6),
    timeout: n(7),
    status2xx: codes ? Number(codes[1]) : 0,
  };
}

/** Per-request latencies (µs) of successful (2xx) requests from an h2load --log-file. */
export function parseH2loadLog(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split("\n")) {
    if (line.length === 0) continue;
    const cols = line.split("\t");
    const status = Number(cols[1]);
    const us = Number(cols[2]);
    if (status >= 200 && status < 300 && Number.isFinite(us)) out.push(us);
  }
  return out;
}
