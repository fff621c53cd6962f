import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { grpcFrame, protoBytesField, splitGrpcMessages } from "./grpc.js";
import { h2loadArgs, h2loadDuration, parseH2loadLog, parseH2loadOutput } from "./h2load.js";
import { parseCpuModel, parseOsRelease } from "./machine.js";
import { dueCount } from "./paced.js";
import { cpuUsPerRequest, parseStat, parseStatus } from "./proc.js";
import { percentile, percentiles } from "./stats.js";

describe("/proc parsing", () => {
  it("reads ppid and utime+stime, even with spaces and parens in the command name", () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[4 - 3] = "4242"; // ppid
    fields[14 - 3] = "1500"; // utime
    fields[15 - 3] = "250"; // stime
    const text = `1234 (nginx: worker (x) y) ${fields.join(" ")}\n`;
    expect(parseStat(text)).toEqual({ ppid: 4242, ticks: 1750 });
  });

  it("reads a real /proc/self/stat", () => {
    const st = parseStat(readFileSync("/proc/self/stat", "utf8"));
    expect(st.ppid).toBeGreaterThan(0);
    expect(st.ticks).toBeGreaterThanOrEqual(0);
  });

  it("reads VmRSS and VmHWM from status", () => {
    const text =
      "Name:\tnode\nVmPeak:\t 999 kB\nVmHWM:\t  110592 kB\nVmRSS:\t   47104 kB\nThreads:\t7\n";
    expect(parseStatus(text)).toEqual({ rssKb: 47104, hwmKb: 110592 });
    expect(parseStatus("Name:\tzombie\n")).toEqual({ rssKb: 0, hwmKb: 0 });
  });

  it("turns ticks into µs per request", () => {
    expect(cpuUsPerRequest(147, 10_000)).toBeCloseTo(147);
    expect(cpuUsPerRequest(5, 0)).toBeUndefined();
  });
});

describe("h2load", () => {
  it("parses the summary", () => {
    const out = `starting benchmark...
finished in 5.00s, 20140.20 req/s, 1.23MB/s
requests: 100701 total, 100829 started, 100701 done, 100690 succeeded, 11 failed, 0 errored, 0 timeout
status codes: 100690 2xx, 0 3xx, 0 4xx, 11 5xx
`;
    const s = parseH2loadOutput(out);
    expect(s).toMatchObject({
      durationS: 5,
      reqPerS: 20140.2,
      total: 100701,
      succeeded: 100690,
      failed: 11,
      status2xx: 100690,
    });
    expect(parseH2loadOutput(out.replace("5.00s", "500.74ms")).durationS).toBeCloseTo(0.50074);
    expect(() => parseH2loadOutput("h2load: connection refused")).toThrow(/unrecognised/);
  });

  it("parses the per-request log, keeping 2xx only", () => {
    const log = "1795751532028677\t200\t1725\n1795751532028667\t-1\t0\n1795751532028700\t200\t99\n";
    expect(parseH2loadLog(log)).toEqual([1725, 99]);
  });

  it("builds the command line", () => {
    const args = h2loadArgs({
      url: "http://127.0.0.1:1/helloworld.World/Greeting",
      dataFile: "/tmp/x",
      headers: ["te: trailers"],
      clients: 4,
      streams: 32,
      durationS: 0.5,
      logFile: "/tmp/log",
    });
    expect(args).toEqual([
      "-c",
      "4",
      "-m",
      "32",
      "-t",
      "1",
      "-D",
      "500ms",
      "--log-file",
      "/tmp/log",
      "-d",
      "/tmp/x",
      "-H",
      "te: trailers",
      "http://127.0.0.1:1/helloworld.World/Greeting",
    ]);
    expect(h2loadDuration(3)).toBe("3");
  });

  it("builds an HTTP/1.1 GET command line (--h1, no body)", () => {
    expect(
      h2loadArgs({
        url: "http://127.0.0.1:1/",
        headers: [],
        clients: 16,
        streams: 1,
        durationS: 5,
        h1: true,
      }),
    ).toEqual(["--h1", "-c", "16", "-m", "1", "-t", "1", "-D", "5", "http://127.0.0.1:1/"]);
  });
});

describe("stats", () => {
  it("computes nearest-rank percentiles", () => {
    const v = Array.from({ length: 1000 }, (_, i) => 1000 - i); // 1..1000 reversed
    const p = percentiles(v);
    expect(p).toMatchObject({ count: 1000, p50: 500, p99: 990, p999: 999, max: 1000 });
    expect(p.mean).toBeCloseTo(500.5);
    expect(v[0]).toBe(1000); // input untouched
    expect(percentile([], 0.5)).toBeNaN();
    expect(percentile([7], 0.999)).toBe(7);
  });
});

describe("pacing", () => {
  it("counts requests due at a fixed rate", () => {
    expect(dueCount(0n, 1000)).toBe(1);
    expect(dueCount(999_999n, 1000)).toBe(1);
    expect(dueCount(1_000_000n, 1000)).toBe(2);
    expect(dueCount(1_000_000_000n, 1000)).toBe(1001);
    expect(dueCount(-1n, 1000)).toBe(0);
  });
});

describe("gRPC framing", () => {
  it("frames and splits messages", () => {
    const a = grpcFrame(Buffer.from([0x0a, 0x01, 0x78]));
    expect([...a.subarray(0, 5)]).toEqual([0, 0, 0, 0, 3]);
    const msgs = splitGrpcMessages(Buffer.concat([a, grpcFrame(new Uint8Array(0)), a]));
    expect(msgs.map((m) => m.length)).toEqual([3, 0, 3]);
    expect(() => splitGrpcMessages(a.subarray(0, 6))).toThrow(/truncated/);
  });

  it("builds a 1 MiB message with a varint length", () => {
    const m = protoBytesField(1024 * 1024 - 4);
    expect(m.length).toBe(1024 * 1024);
    expect([...m.subarray(0, 4)]).toEqual([0x0a, 0xfc, 0xff, 0x3f]);
  });
});

describe("machine", () => {
  it("parses cpuinfo and os-release", () => {
    expect(parseCpuModel("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags: x\n")).toBe(
      "AMD EPYC 7B13",
    );
    expect(parseOsRelease('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')).toBe(
      "Debian GNU/Linux 12 (bookworm)",
    );
  });
});
