import { readFileSync } from "node:fs";
import os from "node:os";

/** The machine a run was measured on. */
export interface Machine {
  cpuModel: string;
  cores: number;
  kernel: string;
  os: string;
  memTotalMiB: number;
  node: string;
}

/** Model name from the text of /proc/cpuinfo (first "model name" line). */
export function parseCpuModel(cpuinfo: string): string | undefined {
  const m = /^model name\s*:\s*(.+)$/m.exec(cpuinfo);
  return m?.[1]?.trim();
}

/** PRETTY_NAME from the text of /etc/os-release. */
export function parseOsRelease(text: string): string | undefined {
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
  return m?.[1];
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

export function describeMachine(): Machine {
  return {
    cpuModel: parseCpuModel(read("/proc/cpuinfo")) ?? os.cpus()[0]?.model ?? "unknown",
    cores: os.availableParallelism(),
    kernel: `${os.type()} ${os.release()}`,
    os: parseOsRelease(read("/etc/os-release")) ?? os.platform(),
    memTotalMiB: Math.round(os.totalmem() / 1024 / 1024),
    node: process.version,
  };
}
