import http2 from "node:http2";

/** An open-loop, evenly paced load: request i is due at start + i/rate. */
export interface PacedRun {
  port: number;
  path: string;
  body: Buffer;
  /** total requests per second over all connections. */
  rate: number;
  durationS: number;
  /** HTTP/2 connections used round-robin. */
  connections: number;
  /** how long to wait for stragglers after the last request is sent. */
  drainMs?: number;
}

/**
 * What a paced run measured. Latency runs from the moment the request is handed to node:http2 to
 * the end of its response (trailers). The generator does not wait for responses (open loop), so
 * queueing inside the system under test is measured; its own lateness against the schedule (timer
 * granularity, ~1 ms) is reported apart, as `lagUs`, instead of being added to every latency.
 */
export interface PacedResult {
  latenciesUs: number[];
  /** how late each request was sent against its schedule, µs. */
  lagUs: number[];
  sent: number;
  ok: number;
  failed: number;
  achievedRps: number;
}

/** The number of requests due `elapsedNs` after the start at `rate` req/s (request 0 is due at 0). */
export function dueCount(elapsedNs: bigint, rate: number): number {
  if (elapsedNs < 0n) return 0;
  return Math.floor((Number(elapsedNs) * rate) / 1e9) + 1;
}

/**
 * Sends gRPC-shaped requests at a fixed rate, independent of responses. h2load's --rps sends
 * bursts every ~10 ms, which dominates its latencies; this generator wakes every millisecond
 * and sends whatever is due, so arrivals are even.
 */
export async function pacedLoad(run: PacedRun): Promise<PacedResult> {
  const sessions = Array.from({ length: Math.max(1, run.connections) }, () => {
    const s = http2.connect(`http://127.0.0.1:${run.port}`);
    s.on("error", () => {});
    return s;
  });
  await Promise.all(
    sessions.map(
      (s) =>
        new Promise<void>((resolve, reject) => {
          s.once("connect", () => resolve());
          s.once("error", reject);
        }),
    ),
  );
  const total = Math.max(1, Math.round(run.rate * run.durationS));
  const latenciesUs: number[] = [];
  const lagUs: number[] = [];
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let outstanding = 0;
  let lastEnd = 0n;
  const start = process.hrtime.bigint();
  const stepNs = 1e9 / run.rate;
  let onIdle: (() => void) | undefined;

  const send = (i: number): void => {
    const due = start + BigInt(Math.round(i * stepNs));
    const sentAt = process.hrtime.bigint();
    lagUs.push(Number(sentAt - due) / 1000);
    const session = sessions[i % sessions.length]!;
    outstanding++;
    let grpcOk = false;
    const done = (good: boolean): void => {
      outstanding--;
      const now = process.hrtime.bigint();
      lastEnd = now;
      if (good) {
        ok++;
        latenciesUs.push(Number(now - sentAt) / 1000);
      } else failed++;
      if (outstanding === 0 && sent >= total) onIdle?.();
    };
    let req: http2.ClientHttp2Stream;
    try {
      req = session.request({
        ":method": "POST",
        ":path": run.path,
        "content-type": "application/grpc",
        te: "trailers",
      });
    } catch {
      done(false);
      return;
    }
    req.on("response", (h) => {
      if (h["grpc-status"] === "0") grpcOk = true;
    });
    req.on("trailers", (t) => {
      if (t["grpc-status"] === "0") grpcOk = true;
    });
    req.on("data", () => {});
    req.on("error", () => done(false));
    req.on("end", () => done(grpcOk));
    req.end(run.body);
  };

  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, dueCount(process.hrtime.bigint() - start, run.rate));
      while (sent < due) send(sent++);
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const drainMs = run.drainMs ?? 5000;
  if (outstanding > 0) {
    await new Promise<void>((resolve) => {
      onIdle = resolve;
      setTimeout(resolve, drainMs).unref();
    });
  }
  failed += outstanding;
  for (const s of sessions) s.destroy();
  const spanS = Number((lastEnd > start ? lastEnd : process.hrtime.bigint()) - start) / 1e9;
  return { latenciesUs, lagUs, sent, ok, failed, achievedRps: spanS > 0 ? ok / spanS : 0 };
}
