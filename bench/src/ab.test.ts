import { describe, expect, it } from "vitest";
import { type AbRound, abPhases, abRoundLine, abSummaryLine, summarizeAb } from "./ab.js";
import { parseArgs } from "./cli.js";

const round = (base: number, other: number): AbRound => ({
  baseCpuUsPerReq: base,
  otherCpuUsPerReq: other,
  baseReqPerS: 20_000,
  otherReqPerS: 19_000,
});

describe("the A/B mode", () => {
  it("takes --ab=<checkout>|nghttpx with --hops=1|2, --tls (one hop) and --quick, alone", () => {
    expect(parseArgs(["--ab=/tmp/wt"])).toMatchObject({ ab: "/tmp/wt", quick: false });
    expect(parseArgs(["--ab=/tmp/wt", "--hops=2", "--quick", "--no-install"])).toMatchObject({
      ab: "/tmp/wt",
      hops: 2,
      quick: true,
      noInstall: true,
    });
    expect(parseArgs([]).ab).toBeUndefined();
    expect(parseArgs(["--ab=nghttpx", "--tls"])).toMatchObject({ ab: "nghttpx", tls: true });
    expect(() => parseArgs(["--hops=2"])).toThrow(/--hops and --tls go with --ab/);
    expect(() => parseArgs(["--tls"])).toThrow(/--hops and --tls go with --ab/);
    expect(() => parseArgs(["--ab=nghttpx", "--tls", "--hops=2"])).toThrow(/one hop/);
    expect(() => parseArgs(["--ab=/tmp/wt", "--hops=3"])).toThrow(/unknown argument --hops=3/);
    expect(() => parseArgs(["--ab=/tmp/wt", "--mesh"])).toThrow(/separate modes/);
    expect(() => parseArgs(["--ab=/tmp/wt", "--only=l5d"])).toThrow(/--only does not apply/);
    expect(() => parseArgs(["--ab"])).toThrow(/unknown argument --ab/);
  });

  it("runs 10 rounds of 3 s, or 4 of 2 s with --quick; --scale stretches the rounds", () => {
    expect(abPhases(false, 1)).toEqual({
      rounds: 10,
      warmupS: 4,
      saturatedS: 3,
      clients: 4,
      streams: 32,
    });
    expect(abPhases(true, 1)).toMatchObject({ rounds: 4, warmupS: 2, saturatedS: 2 });
    expect(abPhases(false, 2).saturatedS).toBe(6);
    expect(abPhases(true, 0.1).saturatedS).toBe(1);
  });

  it("sums the rounds up: mean CPU each, their ratio, the median round ratio, rounds lower", () => {
    expect(summarizeAb([])).toBeUndefined();
    const s = summarizeAb([round(18, 20), round(20, 20), round(15, 20), round(22, 20)]);
    expect(s).toEqual({
      rounds: 4,
      baseCpuUsPerReq: 18.75,
      otherCpuUsPerReq: 20,
      cpuRatio: 18.75 / 20,
      // ratios 0.75, 0.9, 1.0, 1.1: the middle two's mean
      medianRoundRatio: 0.95,
      lowerIn: 2,
    });
    expect(abSummaryLine(s as NonNullable<typeof s>, "/tmp/wt", 2)).toBe(
      "ab: other=/tmp/wt hops=2 this_cpu_us_per_req=18.75 other_cpu_us_per_req=20.00 ratio=0.938 median_round_ratio=0.950 lower_in=2/4",
    );
    expect(abSummaryLine(s as NonNullable<typeof s>, "nghttpx", 1, true)).toMatch(
      /^ab: other=nghttpx hops=1 tls this_cpu_us_per_req=18\.75 /,
    );
    expect(abRoundLine(0, round(18, 20))).toBe(
      "bench: ab: round 1: this 18.00 µs/req (20000 req/s), other 20.00 µs/req (19000 req/s), ratio 0.900",
    );
  });
});
