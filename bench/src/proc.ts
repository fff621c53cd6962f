import { readdirSync, readFileSync } from "node:fs";

/** CPU and memory of one process, read from /proc. Times are in clock ticks. */
export interface ProcSample {
  pid: number;
  ppid: number;
  /** user + system CPU time, in clock ticks (see {@link clockTicksPerSecond}). */
  ticks: number;
  /** resident set size, KiB (VmRSS); 0 when not reported (zombie). */
  rssKb: number;
  /** peak resident set size, KiB (VmHWM). */
  hwmKb: number;
}

/**
 * The fields of a /proc/<pid>/stat text after the command name, field 3 (state) first; undefined
 * when it has no command name. The name (field 2) is in parentheses and may itself contain spaces
 * and parentheses, so fields are counted from the LAST ')'.
 */
export function statFieldsFrom3(text: string): string[] | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  return text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
}

/**
 * Parses the text of /proc/<pid>/stat (fields from the last ')', `statFieldsFrom3`).
 * Returns ppid and utime+stime (fields 4, 14 and 15, 1-based).
 */
export function parseStat(text: string): { ppid: number; ticks: number } {
  const rest = statFieldsFrom3(text);
  if (rest === undefined) throw new ProcParseError(`no command name in stat: ${text.slice(0, 80)}`);
  const field = (n: number): number => {
    const v = Number(rest[n - 3]);
    if (!Number.isFinite(v)) throw new ProcParseError(`stat field ${n} missing`);
    return v;
  };
  return { ppid: field(4), ticks: field(14) + field(15) };
}

/** Parses VmRSS and VmHWM (KiB) out of the text of /proc/<pid>/status; missing lines read as 0. */
export function parseStatus(text: string): { rssKb: number; hwmKb: number } {
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, "m").exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
}

/** Raised when a /proc file does not have the expected shape. */
export class ProcParseError extends Error {
  override name = "ProcParseError";
}

/** Reads one process; undefined when it has gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const st = parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
    const mem = parseStatus(readFileSync(`/proc/${pid}/status`, "utf8"));
    return { pid, ppid: st.ppid, ticks: st.ticks, ...mem };
  } catch {
    return undefined;
  }
}

/** All pids in /proc. */
function allPids(): number[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/** `root` and every descendant (nginx/nghttpx workers, shell wrappers), by walking ppid links. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const s = sampleProcessStatOnly(pid);
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push(pid);
    children.set(s.ppid, list);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0 && out.length < 10_000) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

function sampleProcessStatOnly(pid: number): { ppid: number } | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** Summed usage of a set of process trees. */
export interface TreeUsage {
  ticks: number;
  rssKb: number;
  hwmKb: number;
  pids: number[];
}

/** Sums CPU ticks, current RSS and peak RSS over the trees rooted at `roots`. */
export function sampleTrees(roots: readonly number[]): TreeUsage {
  const pids = [...new Set(roots.flatMap((r) => processTree(r)))];
  let ticks = 0;
  let rssKb = 0;
  let hwmKb = 0;
  for (const pid of pids) {
    const s = sampleProcess(pid);
    if (!s) continue;
    ticks += s.ticks;
    rssKb += s.rssKb;
    hwmKb += s.hwmKb;
  }
  return { ticks, rssKb, hwmKb, pids };
}

/** Each live process of the tree rooted at `root` (root first), sampled once. */
export function sampleTreeProcesses(root: number): ProcSample[] {
  return processTree(root).flatMap((pid) => {
    const s = sampleProcess(pid);
    return s === undefined ? [] : [s];
  });
}

/** The kernel's USER_HZ; 100 on every mainstream Linux build (sysconf(_SC_CLK_TCK)). */
export const clockTicksPerSecond = 100;

/** Microseconds of CPU per request from a tick delta. */
export function cpuUsPerRequest(tickDelta: number, requests: number): number | undefined {
  if (requests <= 0) return undefined;
  return (tickDelta * (1_000_000 / clockTicksPerSecond)) / requests;
}
