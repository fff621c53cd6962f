import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { parseArgs, UsageError } from "./cli.js";
import { nginx, startChain } from "./peers.js";
import { type ProcSample, processTree, sampleTreeProcesses } from "./proc.js";
import type { SaturatedResult } from "./results.js";
import { Supervisor } from "./supervisor.js";
import {
  L5D_YAML,
  NGHTTPX_CONF,
  NGHTTPX_TLS_CONF,
  render,
  TemplateError,
  withL5dWorkers,
  withNghttpxWorkers,
} from "./templates.js";
import {
  busyCores,
  CpuTimesError,
  expectedProcesses,
  machineNote,
  parseCpuTimes,
  parseReapedChildTicks,
  processCores,
  processList,
  renderWorkersMarkdown,
  summarizeWorkersCase,
  threadCores,
  WORKERS_CASES,
  type WorkersCase,
  type WorkersReport,
  type WorkersRound,
  workersLines,
  workersLoadSeconds,
  workersPhases,
} from "./workers.js";

const repoRoot = new URL("../..", import.meta.url).pathname;

const L5D_VARS = {
  NAME: "l5d-1",
  ADMIN_PORT: 3,
  UP_HOST: "127.0.0.1",
  UP_PORT: 2,
  LISTEN_HOST: "127.0.0.1",
  LISTEN_PORT: 1,
};
const NGHTTPX_VARS = {
  NAME: "nghttpx-1",
  RUNDIR: "/tmp/r",
  LISTEN_HOST: "127.0.0.1",
  LISTEN_PORT: 1,
  UP_HOST: "127.0.0.1",
  UP_PORT: 2,
};

const sample = (pid: number, ticks: number, rssKb = 0): ProcSample => ({
  pid,
  ppid: 1,
  ticks,
  rssKb,
  hwmKb: rssKb,
});

function sat(reqPerS: number, extra: Partial<SaturatedResult> = {}): SaturatedResult {
  return {
    clients: 8,
    streams: 32,
    durationS: 4,
    reqPerS,
    succeeded: reqPerS * 4,
    failed: 0,
    ...extra,
  };
}

function round(r: number, reqPerS: number, extra: Partial<WorkersRound> = {}): WorkersRound {
  return { ...sat(reqPerS), round: r, ...extra };
}

function caseOf(name: string, rounds: WorkersRound[], extra: Partial<WorkersCase> = {}) {
  const spec = WORKERS_CASES.find((c) => c.name === name);
  if (!spec) throw new Error(`no case ${name}`);
  return summarizeWorkersCase({ ...spec, rounds, ...extra });
}

describe("--workers on the command line", () => {
  it("is a mode of its own that takes --quick", () => {
    expect(parseArgs(["--workers", "--quick", "--no-install"])).toMatchObject({
      workers: true,
      quick: true,
      noInstall: true,
    });
    expect(parseArgs([]).workers).toBe(false);
  });

  it("is refused with another mode, with --only, and with a value", () => {
    expect(() => parseArgs(["--workers", "--mesh"])).toThrow(/separate modes/);
    expect(() => parseArgs(["--namerd", "--workers"])).toThrow(/separate modes/);
    expect(() => parseArgs(["--workers", "--http1"])).toThrow(/separate modes/);
    expect(() => parseArgs(["--workers", "--only=l5d"])).toThrow(/--only does not apply/);
    expect(() => parseArgs(["--workers=2"])).toThrow(UsageError);
  });
});

describe("the workers setting in the proxies' configs", () => {
  it("l5d: one worker leaves the config as every other mode runs it; two add the top-level key", () => {
    const y = render(L5D_YAML, L5D_VARS);
    expect(withL5dWorkers(y, 1)).toBe(y);
    const y2 = withL5dWorkers(y, 2);
    expect(y2.startsWith(y)).toBe(true);
    expect(y2.slice(y.length)).toBe("workers: 2\n");
    expect(withL5dWorkers("admin: {port: 1}", 3)).toBe("admin: {port: 1}\nworkers: 3\n");
  });

  it("l5d: refuses a worker count outside 1..64, a fraction, and a config that already sets it", () => {
    const y = render(L5D_YAML, L5D_VARS);
    for (const n of [0, 65, 1.5, Number.NaN])
      expect(() => withL5dWorkers(y, n)).toThrow(TemplateError);
    expect(withL5dWorkers(y, 64)).toContain("\nworkers: 64\n");
    expect(() => withL5dWorkers(withL5dWorkers(y, 2), 2)).toThrow(/already sets workers/);
  });

  it("nghttpx: workers=n replaces the template's one workers= line (cleartext and TLS)", () => {
    const c = render(NGHTTPX_CONF, NGHTTPX_VARS);
    expect(c).toContain("\nworkers=1\n");
    expect(withNghttpxWorkers(c, 1)).toBe(c);
    const c2 = withNghttpxWorkers(c, 2);
    expect(c2).toContain("\nworkers=2\n");
    expect(c2).not.toContain("workers=1");
    expect(c2.replace("workers=2", "workers=1")).toBe(c);
    const tls = render(NGHTTPX_TLS_CONF, {
      ...NGHTTPX_VARS,
      CA: "ca",
      CERT: "c",
      KEY: "k",
      UP_NAME: "up",
    });
    expect(tls.replace("workers=1", "workers=4")).toBe(withNghttpxWorkers(tls, 4));
    expect(() => withNghttpxWorkers("frontend=x\n", 2)).toThrow(/0 workers= lines/);
    expect(() => withNghttpxWorkers(c, 0)).toThrow(TemplateError);
  });

  it("a chain of a kind without a workers setting is refused before anything starts", async () => {
    const sup = new Supervisor();
    const ctx = { sup, rundir: tmpdir(), repoRoot, tools: new Map() };
    await expect(startChain(ctx, nginx, 1, 1, { workers: 2 })).rejects.toThrow(
      /nginx: the harness has no workers setting/,
    );
    expect(sup.size).toBe(0);
  });

  it("counts the processes each case's tree has once up", () => {
    expect(expectedProcesses("l5d", 1)).toBe(1);
    expect(expectedProcesses("l5d", 2)).toBe(3);
    expect(expectedProcesses("nghttpx", 1)).toBe(2);
    expect(expectedProcesses("nghttpx", 2)).toBe(2);
    expect(expectedProcesses("direct", 0)).toBe(0);
  });
});

describe("the machine's and the harness's CPU from /proc", () => {
  it("reads busy and total ticks from /proc/stat's aggregate line", () => {
    const text =
      "cpu  100 5 50 1000 20 3 2 7 9 0\ncpu0 50 2 25 500 10 1 1 3 4 0\nintr 12345\nctxt 99\n";
    // total: user..steal; idle: idle + iowait; guest (9) is inside user already
    expect(parseCpuTimes(text)).toEqual({ busy: 167, total: 1187 });
    expect(() => parseCpuTimes("cpu0 1 2 3 4\n")).toThrow(CpuTimesError);
    expect(() => parseCpuTimes("cpu  1 x 3 4\n")).toThrow(CpuTimesError);
    const real = parseCpuTimes(readFileSync("/proc/stat", "utf8"));
    expect(real.total).toBeGreaterThan(real.busy);
    expect(real.busy).toBeGreaterThan(0);
  });

  it("turns two samples into busy cores of the machine", () => {
    expect(busyCores({ busy: 100, total: 1000 }, { busy: 250, total: 1200 }, 2)).toBeCloseTo(1.5);
    expect(busyCores({ busy: 1, total: 10 }, { busy: 1, total: 10 }, 2)).toBeUndefined();
  });

  it("reads a process's reaped children's ticks (fields 16 and 17), even with parens in its name", () => {
    const fields = Array.from({ length: 50 }, () => "0");
    fields[16 - 3] = "120"; // cutime
    fields[17 - 3] = "30"; // cstime
    expect(parseReapedChildTicks(`7 (h2 (load) x) ${fields.join(" ")}\n`)).toBe(150);
    expect(() => parseReapedChildTicks("7 (x) S 1")).toThrow(CpuTimesError);
  });

  it("a child that burned CPU and was waited for shows in the harness's reaped ticks", () => {
    const before = parseReapedChildTicks(readFileSync("/proc/self/stat", "utf8"));
    // ~300 ms of CPU in a child, waited for synchronously (bounded by the timeout)
    execFileSync(
      process.execPath,
      ["-e", "const t = Date.now(); let x = 0; while (Date.now() - t < 300) x++;"],
      { timeout: 10_000 },
    );
    const after = parseReapedChildTicks(readFileSync("/proc/self/stat", "utf8"));
    expect(after - before).toBeGreaterThanOrEqual(5);
  });
});

describe("CPU over a proxy's process tree", () => {
  it("gives each process its cores over the window, the root first, a newborn counted from 0", () => {
    const before = [sample(10, 1000), sample(11, 500), sample(12, 400)];
    const after = [
      sample(11, 700, 60_000),
      sample(10, 1001, 50_000),
      sample(12, 600),
      sample(13, 50),
    ];
    const r = processCores(before, after, 10, 2);
    expect(r.processes.map((p) => p.pid)).toEqual([10, 11, 12, 13]);
    expect(r.processes[0]).toEqual({ pid: 10, root: true, cores: 0.005, rssKb: 50_000 });
    expect(r.processes[1]?.cores).toBeCloseTo(1);
    expect(r.processes[2]?.cores).toBeCloseTo(1);
    expect(r.processes[3]?.cores).toBeCloseTo(0.25);
    expect(r.cores).toBeCloseTo(2.255);
    expect(processCores(before, after, 10, 0)).toEqual({ processes: [], cores: 0 });
  });

  it("lists a process's busiest threads, those at 0.01 cores or more", () => {
    const before = [sample(1, 0), sample(2, 0), sample(3, 0), sample(4, 100)];
    const after = [sample(1, 30), sample(2, 90), sample(3, 0), sample(4, 101)];
    // 1 s window: 0.3, 0.9, 0, 0.01
    expect(threadCores(before, after, 1)).toEqual([0.9, 0.3, 0.01]);
    expect(threadCores(before, after, 1, 0.5)).toEqual([0.9]);
    expect(threadCores(before, after, 1, 0, 2)).toEqual([0.9, 0.3]);
  });

  describe("a real process tree", () => {
    let root: ChildProcess | undefined;
    afterEach(() => {
      if (root?.pid !== undefined)
        for (const pid of processTree(root.pid))
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // gone
          }
      root = undefined;
    });

    it("sums the CPU of a process and the two children it forked", async () => {
      // the parent forks two children that burn CPU for at most 20 s (killed in afterEach)
      const burn = "const t = Date.now(); while (Date.now() - t < 20000);";
      const script = `const { spawn } = require("node:child_process");
for (let i = 0; i < 2; i++) spawn(process.execPath, ["-e", ${JSON.stringify(burn)}], { stdio: "ignore" });
setTimeout(() => {}, 20000);`;
      root = spawn(process.execPath, ["-e", script], { stdio: "ignore" });
      const pid = root.pid as number;
      let tree: ProcSample[] = [];
      for (let i = 0; i < 100 && tree.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 50));
        tree = sampleTreeProcesses(pid);
      }
      expect(tree.map((p) => p.pid)[0]).toBe(pid);
      expect(tree).toHaveLength(3);
      const t0 = process.hrtime.bigint();
      await new Promise((r) => setTimeout(r, 800));
      const after = sampleTreeProcesses(pid);
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      const r = processCores(tree, after, pid, wallS);
      expect(r.processes).toHaveLength(3);
      expect(r.processes[0]?.root).toBe(true);
      // each busy child got CPU (leniently: other work may share the cores)
      for (const child of r.processes.slice(1)) expect(child.cores).toBeGreaterThan(0.05);
      expect(r.processes[0]?.cores).toBeLessThan(0.2);
      expect(r.cores).toBeCloseTo(
        r.processes.reduce((a, p) => a + p.cores, 0),
        9,
      );
      for (const p of r.processes) expect(p.rssKb).toBeGreaterThan(0);
    });
  });
});

describe("the workers report", () => {
  it("has phases whose quick load fits under a minute and whose full load under three", () => {
    const q = workersPhases(true);
    expect(q.rounds).toBe(1);
    expect(q.clients * q.streams).toBe(256);
    expect(workersLoadSeconds(q, WORKERS_CASES.length)).toBeLessThanOrEqual(35);
    const f = workersPhases(false);
    expect(f.rounds).toBe(3);
    expect(workersLoadSeconds(f, WORKERS_CASES.length)).toBeLessThanOrEqual(120);
    expect(workersPhases(false, 0.5).saturatedS).toBe(2.5);
  });

  it("takes medians over the rounds, dropping stale ones", () => {
    const c = caseOf(
      "l5d-w2",
      [
        round(0, 100, { proxyCpuUsPerReq: 30, backendCores: 0.9, otherCores: 0 }),
        round(1, 300, { proxyCpuUsPerReq: 10, backendCores: 1.0 }),
        round(2, 200, { proxyCpuUsPerReq: 20, backendCores: 0.8 }),
      ],
      { reqPerS: 1, loadCores: 5 },
    );
    expect(c.reqPerS).toBe(200);
    expect(c.proxyCpuUsPerReq).toBe(20);
    expect(c.backendCores).toBeCloseTo(0.9);
    expect(c.otherCores).toBe(0);
    expect(c.loadCores).toBeUndefined();
  });

  it("prints the summary lines: throughput, w2 ÷ w1 scaling and l5d ÷ nghttpx; n/a for a case that did not run", () => {
    const cases = [
      caseOf("direct", [round(0, 30_000, { backendCores: 1.0, machineBusyCores: 1.4 })]),
      caseOf("l5d-w1", [round(0, 10_000, { proxyCpuUsPerReq: 40, otherCores: 0.1 })]),
      caseOf("l5d-w2", [round(0, 15_000, { proxyCpuUsPerReq: 44, machineBusyCores: 1.9 })]),
      caseOf("nghttpx-w1", [round(0, 20_000, { proxyCpuUsPerReq: 12, backendCores: 0.95 })]),
      caseOf("nghttpx-w2", [], { error: "exited" }),
    ];
    const [cpu, last] = workersLines(cases, 2);
    expect(cpu).toBe(
      "workers cpu: l5d_w1_us_per_req=40.0 l5d_w2_us_per_req=44.0 nghttpx_w1_us_per_req=12.0 nghttpx_w2_us_per_req=n/a direct_rps=30000 cores=2 machine_busy_cores_max=1.90 backend_cores_max=1.00 other_work_cores_max=0.10",
    );
    expect(last).toBe(
      "workers: l5d_w1_rps=10000 l5d_w2_rps=15000 l5d_scaling=1.50 nghttpx_w1_rps=20000 nghttpx_w2_rps=n/a nghttpx_scaling=n/a l5d_vs_nghttpx_w1=0.50 l5d_vs_nghttpx_w2=n/a",
    );
    const [none, noneLast] = workersLines([], 2);
    expect(none).toContain("machine_busy_cores_max=n/a");
    expect(noneLast).toContain("l5d_scaling=n/a");
  });

  it("says what a 2-core machine can show, from the run's own numbers", () => {
    const cases = [
      caseOf("direct", [round(0, 20_000, { backendCores: 1.05, backendCpuUsPerReq: 50 })]),
      caseOf("l5d-w1", [
        round(0, 15_000, { proxyCores: 0.45, backendCores: 0.7, machineBusyCores: 1.5 }),
      ]),
      caseOf("l5d-w2", [round(0, 15_500, { machineBusyCores: 1.95, otherCores: 0.5 })]),
      caseOf("nghttpx-w1", [
        round(0, 21_000, { proxyCores: 0.3, backendCores: 0.95, machineBusyCores: 1.9 }),
      ]),
    ];
    const note = machineNote(cases, 2);
    expect(note).toContain("This machine has 2 cores");
    expect(note).toContain("Other work took 0.50 cores during l5d-w2");
    expect(note).toContain("1.05 cores (its one thread's limit is about 1) in direct, nghttpx-w1");
    expect(note).toContain(
      "l5d-w1 used 0.45 cores while the machine had idle time: its one worker was not the bottleneck",
    );
    expect(note).toContain("nghttpx-w1 used 0.30 cores of a machine with no idle time");
    expect(note).toContain("nghttpx-w1 went past it");
    expect(note).toContain("During l5d-w2 the machine was at least 90 % busy");
    expect(note).toContain("two workers cannot show 2×");
    const big = machineNote([caseOf("l5d-w1", [round(0, 1, { proxyCores: 1 })])], 16);
    expect(big).not.toContain("cannot show 2×");
    expect(big).not.toContain("not the bottleneck");
    expect(machineNote([], 2)).toMatch(/^No case ran/);
  });

  it("renders the cases, their processes and threads, the ratios and the failures", () => {
    const procs = [
      { pid: 1, root: true, cores: 0.004, rssKb: 60_000, threads: [] },
      { pid: 2, root: false, cores: 0.3, rssKb: 60_000, threads: [0.25, 0.03] },
      { pid: 3, root: false, cores: 0.28, rssKb: 60_000, threads: [0.27] },
    ];
    expect(processList(round(0, 1, { processes: procs }))).toBe("0.00 + 0.30 [0.25, 0.03] + 0.28");
    expect(processList(undefined)).toBe("—");
    const rep: WorkersReport = {
      startedAt: "2026-01-01T00:00:00.000Z",
      finishedAt: "2026-01-01T00:00:40.000Z",
      mode: "workers-quick",
      machine: {
        cpuModel: "cpu",
        cores: 2,
        kernel: "Linux",
        os: "test",
        memTotalMiB: 1024,
        node: "v20",
      },
      versions: { h2load: "h2load 1" },
      skipped: [{ what: "workers round 1/1: direct", reason: "time budget used up" }],
      settings: { rounds: 1, clients: 8, streams: 32 },
      cases: [
        caseOf("l5d-w1", [round(0, 10_000, { proxyCpuUsPerReq: 40 })], {
          processCount: 1,
          rss: { idleKb: 61_440, afterKb: 62_464, peakKb: 71_680 },
        }),
        caseOf("l5d-w2", [round(0, 12_000, { proxyCpuUsPerReq: 42, processes: procs })], {
          processCount: 3,
          error: "round 2: h2load exited 1",
        }),
        caseOf("nghttpx-w1", [], { error: "nghttpx exited before listening" }),
      ],
    };
    const md = renderWorkersMarkdown(rep);
    expect(md).toContain("# l5d-ts workers benchmark (workers-quick)");
    expect(md).toContain("h2load (-t 1 -c 8 -m 32)");
    expect(md).toContain("| l5d-w1 | 1 | 10,000 | 10,000 | 40.0 |");
    expect(md).toContain("| 60.0 → 61.0 (70.0) |");
    expect(md).toContain("0.00 + 0.30 [0.25, 0.03] + 0.28");
    expect(md).toContain("| nghttpx-w1 | error: nghttpx exited before listening |");
    expect(md).toContain("| l5d w2 ÷ w1 (scaling) | 1.20× | 1.05× |");
    expect(md).toContain("| l5d ÷ nghttpx, 1 worker | n/a |");
    expect(md).toContain("- l5d-w2: round 2: h2load exited 1");
    expect(md).toContain("- workers round 1/1: direct: time budget used up");
    expect(md).toContain("## What this machine can show");
  });
});
