// Bind latency of `bench --namerd`: distinct names bound one at a time through namerd's
// `GET /api/1/bind/<ns>?path=` and, as the same-run peer, through the `default` interpreter
// in this process over the same io.l5d.fs directory; then through l5d's `io.l5d.namerd.http`
// client (a watch stream per name). Cold = a name's first bind (the namer reads its file),
// warm = the same names again.
import http from "node:http";
import {
  Activity,
  type Closable,
  createDefaultInterpreter,
  Dtab,
  type NameBound,
  type NameTree,
  Path,
} from "@l5d/dtab";
import { NamerdHttpInterpreter } from "@l5d/namerd-client";
import { FsNamer } from "@l5d/namers";
import {
  BIND_DTAB,
  BIND_NAMESPACE,
  type BindCase,
  type BindVia,
  type NamerdPhases,
  serviceName,
} from "./namerd.js";
import { namerdRequest } from "./namerd-http.js";
import { percentiles } from "./stats.js";

/** What the bind case needs. */
export interface BindContext {
  namerdPort: number;
  /** the io.l5d.fs directory namerd uses, with one file per service name. */
  fsDir: string;
  phases: NamerdPhases;
  /** ms since the epoch after which no new pass starts and a running one stops. */
  deadline: number;
  log: (line: string) => void;
}

/** Raised when a bind does not answer with the name's fs file. */
export class BindCheckError extends Error {
  override name = "BindCheckError";
}

const BIND_TIMEOUT_MS = 10_000;
const FS_PREFIX = Path.read("/#/io.l5d.fs");

function leaves(t: NameTree<NameBound>): NameBound[] {
  switch (t.type) {
    case "leaf":
      return [t.value];
    case "alt":
      return t.trees.flatMap(leaves);
    case "union":
      return t.weighted.flatMap((w) => leaves(w.tree));
    default:
      return [];
  }
}

/**
 * Resolves with the bound tree once it is ok and every leaf's addresses have left Pending
 * (what namerd's bind handler waits for before answering), releasing every observation.
 */
export function boundAndResolved(
  act: Activity<NameTree<NameBound>>,
  timeoutMs = BIND_TIMEOUT_MS,
): Promise<NameTree<NameBound>> {
  return new Promise((resolve, reject) => {
    let done = false;
    let outer: Closable | undefined;
    const inner: Closable[] = [];
    const finish = (k: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      queueMicrotask(() => {
        outer?.close();
        for (const c of inner.splice(0)) c.close();
      });
      k();
    };
    const timer = setTimeout(
      () => finish(() => reject(new BindCheckError(`no bound tree within ${timeoutMs} ms`))),
      timeoutMs,
    );
    outer = act.observe((s) => {
      for (const c of inner.splice(0)) c.close();
      if (s.kind === "failed") return finish(() => reject(s.error));
      if (s.kind !== "ok") return;
      const ls = leaves(s.value);
      const check = (): void => {
        if (ls.every((l) => l.addr.sample().type !== "pending")) finish(() => resolve(s.value));
      };
      for (const l of ls) inner.push(l.addr.observe(check));
      check();
    });
    if (done) queueMicrotask(() => outer?.close());
  });
}

function expectLeaf(tree: NameTree<NameBound>, name: string): void {
  const ids = leaves(tree).map((l) => l.id.show);
  if (ids.length !== 1 || ids[0] !== `/#/io.l5d.fs/${name}`)
    throw new BindCheckError(`${name} bound to ${JSON.stringify(ids)}`);
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** Latencies in µs, and why the loop stopped early if it did. */
type Timed = { us: number[]; error?: string };

/** The latencies (µs) of binding names 0..count-1 with `bindOne`, one at a time. */
async function timeBinds(
  ctx: BindContext,
  count: number,
  bindOne: (name: string) => Promise<void>,
): Promise<Timed> {
  const us: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      if (Date.now() > ctx.deadline) return { us, error: `time budget used up after ${i} binds` };
      const t0 = nowUs();
      await bindOne(serviceName(i));
      us.push(nowUs() - t0);
    }
  } catch (e) {
    return { us, error: (e as Error).message };
  }
  return { us };
}

function toCase(
  ctx: BindContext,
  via: BindVia,
  pass: "cold" | "warm",
  label: string,
  r: Timed,
): BindCase {
  const c: BindCase = { via, pass, label };
  if (r.us.length > 0) c.latency = percentiles(r.us);
  if (r.error !== undefined) c.error = r.error;
  ctx.log(
    `bench: namerd: bind ${pass} via ${via}: ${r.us.length} binds, p50 ${c.latency?.p50 ?? "-"} µs, p99 ${c.latency?.p99 ?? "-"} µs, max ${c.latency?.max ?? "-"} µs${c.error ? `, ERROR ${c.error.slice(0, 200)}` : ""}`,
  );
  return c;
}

/** Runs the bind-latency case: cold, then the warm passes, namerd and in-process alternately. */
export async function measureBinds(ctx: BindContext): Promise<BindCase[]> {
  const p = ctx.phases;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const viaNamerd = async (name: string): Promise<void> => {
    const a = await namerdRequest(
      ctx.namerdPort,
      "GET",
      `/api/1/bind/${BIND_NAMESPACE}?path=${encodeURIComponent(`/svc/${name}`)}`,
      { agent, timeoutMs: BIND_TIMEOUT_MS },
    );
    if (a.status !== 200 || !a.body.includes(`/#/io.l5d.fs/${name}`))
      throw new BindCheckError(`bind ${name}: HTTP ${a.status}: ${a.body.slice(0, 200)}`);
  };
  const namer = new FsNamer({ rootDir: ctx.fsDir, idPrefix: FS_PREFIX });
  await namer.refresh();
  const interp = createDefaultInterpreter([{ prefix: FS_PREFIX, namer, kind: "io.l5d.fs" }]);
  const dtab = Dtab.read(BIND_DTAB);
  const inProcess = async (name: string): Promise<void> => {
    expectLeaf(await boundAndResolved(interp.bind(dtab, Path.read(`/svc/${name}`))), name);
  };
  const labelN = "namerd process, GET /api/1/bind (keep-alive)";
  const labelI = "default interpreter, in-process";
  const out: BindCase[] = [];
  try {
    out.push(toCase(ctx, "namerd", "cold", labelN, await timeBinds(ctx, p.bindNames, viaNamerd)));
    out.push(
      toCase(ctx, "in-process", "cold", labelI, await timeBinds(ctx, p.bindNames, inProcess)),
    );
    // the warm passes pooled into one sample per side, alternating so drift hits both alike
    const warmN: Timed = { us: [] };
    const warmI: Timed = { us: [] };
    for (let w = 0; w < p.warmPasses && !warmN.error && !warmI.error; w++) {
      const n = await timeBinds(ctx, p.bindNames, viaNamerd);
      warmN.us.push(...n.us);
      if (n.error !== undefined) warmN.error = n.error;
      const i = await timeBinds(ctx, p.bindNames, inProcess);
      warmI.us.push(...i.us);
      if (i.error !== undefined) warmI.error = i.error;
      ctx.log(`bench: namerd: warm pass ${w + 1}/${p.warmPasses} done`);
    }
    out.push(toCase(ctx, "namerd", "warm", labelN, warmN));
    out.push(toCase(ctx, "in-process", "warm", labelI, warmI));
    const client = new NamerdHttpInterpreter({
      dst: Path.read(`/$/inet/127.0.0.1/${ctx.namerdPort}`),
      namespace: BIND_NAMESPACE,
      retry: { baseMs: 50, maxMs: 500 },
    });
    const r = await timeBinds(ctx, Math.min(p.clientBinds, p.bindNames), async (name) => {
      const tree = await Activity.toPromise(
        client.bind(Dtab.empty, Path.read(`/svc/${name}`)),
        BIND_TIMEOUT_MS,
      );
      expectLeaf(tree, name);
    });
    out.push(
      toCase(
        ctx,
        "namerd-client",
        "warm",
        "io.l5d.namerd.http client, in-process → namerd (a new watch stream per bind)",
        r,
      ),
    );
  } finally {
    agent.destroy();
    namer.close();
  }
  return out;
}
