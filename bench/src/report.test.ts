import { describe, expect, it } from "vitest";
import { parseArgs, UsageError } from "./cli.js";
import {
  fmt,
  fmtRatio,
  markdownTable,
  oneLine,
  quickLine,
  ratio,
  ratioMatrix,
  renderMarkdown,
} from "./report.js";
import type { RunReport } from "./results.js";
import { parseSoakArgs } from "./soak.js";
import { slope, soakVerdict } from "./soak-verdict.js";
import { NGHTTPX_CONF, render, TemplateError } from "./templates.js";

describe("report helpers", () => {
  it("formats numbers and ratios", () => {
    expect(fmt(undefined)).toBe("n/a");
    expect(fmt(Number.NaN)).toBe("n/a");
    expect(fmt(12.345)).toBe("12.3");
    expect(fmt(22_000.4)).toBe("22,000");
    expect(ratio(10, 4)).toBe(2.5);
    expect(ratio(10, 0)).toBeUndefined();
    expect(fmtRatio(ratio(147, 11.3))).toBe("13.01×");
    expect(oneLine("exited:\n  daemon not built\n")).toBe("exited: daemon not built");
  });

  it("renders a markdown table and escapes pipes", () => {
    expect(markdownTable(["a", "b"], [["1", "x|y"]])).toBe(
      "| a | b |\n| --- | --- |\n| 1 | x\\|y |",
    );
  });

  it("renders a ratio matrix row ÷ column", () => {
    const m = ratioMatrix(
      [
        { name: "naive", value: 150 },
        { name: "nghttpx", value: 10 },
      ],
      "cpu",
    );
    expect(m.split("\n")[2]).toBe("| naive | 1.00× | 15.00× |");
    expect(m.split("\n")[3]).toBe("| nghttpx | 0.07× | 1.00× |");
  });

  it("prints the quick line with n/a for a missing l5d", () => {
    expect(quickLine(30, 10)).toBe(
      "l5d_cpu_us_per_req=30.0 nghttpx_cpu_us_per_req=10.0 ratio=3.00",
    );
    expect(quickLine(undefined, 11.3)).toBe(
      "l5d_cpu_us_per_req=n/a nghttpx_cpu_us_per_req=11.3 ratio=n/a",
    );
  });

  it("renders a full report with ratios against direct and between peers", () => {
    const rep: RunReport = {
      startedAt: "2026-01-01T00:00:00.000Z",
      finishedAt: "2026-01-01T00:04:00.000Z",
      mode: "full",
      machine: {
        cpuModel: "X",
        cores: 2,
        kernel: "Linux 6",
        os: "Debian",
        memTotalMiB: 1024,
        node: "v20",
      },
      versions: { nghttpx: "nghttpx nghttp2/1.52.0" },
      skipped: [{ what: "nginx", reason: "not installed" }],
      settings: { saturatedS: 4 },
      cases: [
        {
          id: "d",
          backend: "node",
          proxy: "direct",
          hops: 0,
          workload: "unary",
          saturated: {
            clients: 4,
            streams: 32,
            durationS: 4,
            reqPerS: 20_000,
            succeeded: 80_000,
            failed: 0,
            backendCpuUsPerReq: 36,
          },
        },
        {
          id: "n",
          backend: "node",
          proxy: "naive",
          hops: 1,
          workload: "unary",
          saturated: {
            clients: 4,
            streams: 32,
            durationS: 4,
            reqPerS: 5_000,
            succeeded: 20_000,
            failed: 0,
            proxyCpuUsPerReq: 150,
            proxyCpuUsPerReqPerHop: 150,
          },
          rss: { idleKb: 40 * 1024, afterKb: 90 * 1024, peakKb: 110 * 1024 },
        },
        {
          id: "x",
          backend: "node",
          proxy: "nghttpx",
          hops: 1,
          workload: "unary",
          rate: {
            count: 10,
            mean: 1,
            p50: 1,
            p99: 2,
            p999: 3,
            max: 3,
            targetRps: 1000,
            achievedRps: 600,
            failed: 0,
          },
          saturated: {
            clients: 4,
            streams: 32,
            durationS: 4,
            reqPerS: 15_000,
            succeeded: 60_000,
            failed: 0,
            proxyCpuUsPerReq: 10,
            proxyCpuUsPerReqPerHop: 10,
          },
        },
        {
          id: "l",
          backend: "node",
          proxy: "l5d",
          hops: 1,
          workload: "unary",
          error: "exited before listening",
        },
      ],
    };
    const md = renderMarkdown(rep);
    expect(md).toContain("- nginx: not installed");
    expect(md).toContain("| naive ×1 | 5,000 | 0.25× | 150.0 | 150.0 |");
    expect(md).toContain("| naive | 1.00× | 15.00× |");
    expect(md).toContain("| l5d ×1 | error: exited before listening |");
    expect(md).toContain("40.0 → 110.0");
    expect(md).toContain("1 / 2 / 3 (overloaded: 600 rps)");
  });
});

describe("cli", () => {
  it("parses flags", () => {
    expect(parseArgs(["--quick", "--only=naive,nghttpx", "--scale=0.5"])).toEqual({
      quick: true,
      http1: false,
      namerd: false,
      mesh: false,
      workers: false,
      noInstall: false,
      scale: 0.5,
      cpuProf: false,
      only: ["naive", "nghttpx"],
    });
    expect(() => parseArgs(["--only=envoy"])).toThrow(UsageError);
    expect(() => parseArgs(["--fast"])).toThrow(UsageError);
  });

  it("parses --http1, its proxies, and rejects what it cannot run", () => {
    expect(parseArgs(["--http1"])).toEqual({
      quick: false,
      http1: true,
      namerd: false,
      mesh: false,
      workers: false,
      noInstall: false,
      scale: 1,
      cpuProf: false,
    });
    expect(parseArgs(["--http1", "--only=l5d,haproxy", "--no-install"])).toMatchObject({
      http1: true,
      noInstall: true,
      only: ["l5d", "haproxy"],
    });
    expect(parseArgs([]).http1).toBe(false);
    expect(() => parseArgs(["--http1", "--quick"])).toThrow(/separate modes/);
    expect(() => parseArgs(["--only=naive", "--http1"])).toThrow(/naive has no HTTP\/1.1 case/);
    expect(() => parseArgs(["--http1=yes"])).toThrow(UsageError);
  });
});

describe("templates", () => {
  it("renders the nghttpx config and rejects unknown variables", () => {
    const text = render(NGHTTPX_CONF, {
      NAME: "t",
      LISTEN_HOST: "127.0.0.1",
      LISTEN_PORT: 1,
      UP_HOST: "127.0.0.1",
      UP_PORT: 2,
      RUNDIR: "/tmp/r",
    });
    expect(text).toContain("frontend=127.0.0.1,1;no-tls\nbackend=127.0.0.1,2;;proto=h2;no-tls");
    expect(() => render("{{NOPE}}", {})).toThrow(TemplateError);
  });
});

describe("soak verdict", () => {
  it("accepts a flat RSS and flags a steady climb", () => {
    const flat = Array.from({ length: 20 }, (_, i) => ({
      minute: i * 0.5,
      rssKb: 50_000 + (i % 3) * 300,
      requests: i * 60_000,
    }));
    expect(soakVerdict(flat).ok).toBe(true);
    expect(soakVerdict(flat).text).toMatch(/^no growth/);
    const leak = flat.map((s, i) => ({ ...s, rssKb: 50_000 + i * 2_000 }));
    const v = soakVerdict(leak);
    expect(v.ok).toBe(false);
    expect(v.text).toMatch(/^GROWTH/);
    expect(v.slopeKbPerMin).toBeCloseTo(4_000);
    expect(slope([{ x: 0, y: 1 }])).toBe(0);
  });

  it("parses soak flags", () => {
    expect(parseSoakArgs(["--minutes=0.5", "--proxy=naive"])).toMatchObject({
      minutes: 0.5,
      proxy: "naive",
    });
    expect(parseSoakArgs([]).proxy).toBe("l5d");
    expect(() => parseSoakArgs(["--proxy=l5d-node"])).toThrow(/usage/);
    expect(() => parseSoakArgs(["--proxy=toString"])).toThrow(/usage/);
    expect(() => parseSoakArgs(["--minutes=abc"])).toThrow(/usage/);
  });
});
