import { Dtab } from "@l5d/dtab";
import { describe, expect, it } from "vitest";
import { parseArgs, USAGE, UsageError } from "./cli.js";
import { protoBytesField } from "./grpc.js";
import {
  addedRatio,
  decodeSvcResponse,
  l5dMeshVars,
  MESH_DTAB,
  type MeshCase,
  type MeshReport,
  type MeshRound,
  meshCaseSeconds,
  meshDisco,
  meshLines,
  meshLoadSeconds,
  meshPhases,
  NODE_A,
  NODE_B,
  nghttpxMeshBackends,
  nghttpxMeshRoles,
  renderMeshMarkdown,
  summarizeAll,
  summarizeMesh,
} from "./mesh.js";
import { L5D_MESH_YAML, NGHTTPX_MESH_CONF, render } from "./templates.js";

/** One round's fixed-rate p50, p99 (µs) and proxy CPU; saturated calls/s, p50, p99 and proxy CPU. */
type RoundRow = readonly [
  rate: readonly [p50: number, p99: number, cpu?: number],
  sat: readonly [rps: number, p50: number, p99: number, cpu?: number],
];

/** Round `r` from its row (no CPU: the case has no proxy). */
function round(r: number, [[p50, p99, cpu], [rps, satP50, satP99, satCpu]]: RoundRow): MeshRound {
  return {
    round: r,
    rate: {
      targetRps: 1000,
      achievedRps: 1000,
      calls: 5000,
      failed: 0,
      p50,
      p99,
      p999: p99 + 100,
      sendLagP99Us: 5,
      generator: "c",
      ...(cpu === undefined ? {} : { proxyCpuUsPerCall: cpu }),
      appsCpuUsPerCall: 400,
    },
    saturated: {
      clients: 4,
      streams: 16,
      durationS: 4,
      callsPerS: rps,
      succeeded: rps * 4,
      failed: 0,
      p50: satP50,
      p99: satP99,
      p999: satP99 + 1000,
      ...(satCpu === undefined ? {} : { proxyCpuUsPerCall: satCpu }),
      appsCpuUsPerCall: 300,
    },
  };
}

/** A case (labelled by its name) with rounds 0, 1, … from `rows`. */
function meshCase(
  name: MeshCase["name"],
  proxies: string[],
  hops: number,
  rows: readonly RoundRow[],
): MeshCase {
  return { name, label: name, proxies, hops, rounds: rows.map((row, i) => round(i, row)) };
}

function cases(): MeshCase[] {
  return [
    meshCase("direct", [], 0, [
      [
        [1000, 2000],
        [3000, 20_000, 40_000],
      ],
      [
        [1100, 2500],
        [2900, 21_000, 41_000],
      ],
      [
        [900, 1500],
        [3100, 19_000, 39_000],
      ],
    ]),
    {
      ...meshCase("l5d", ["l5d a", "l5d b"], 4, [
        [
          [1600, 3000, 200],
          [2000, 30_000, 60_000, 150],
        ],
        // a noisy round: the paired difference keeps it from shifting "added"
        [
          [1700, 9500, 220],
          [1900, 31_000, 62_000, 160],
        ],
        [
          [1500, 2600, 180],
          [2100, 29_000, 59_000, 140],
        ],
      ]),
      proxyRssKb: 150 * 1024,
    },
    meshCase("nghttpx", ["out-a", "in-a", "out-b", "in-b"], 4, [
      [
        [1200, 2400, 50],
        [2800, 22_000, 45_000, 40],
      ],
      [
        [1300, 2900, 60],
        [2700, 23_000, 46_000, 42],
      ],
    ]),
  ];
}

describe("mesh topology and configs", () => {
  it("uses the fs demo's dtab (the tutorial's, io.l5d.fs for io.l5d.k8s), and it parses", async () => {
    const demo = new URL("../../deploy/local/fs-demo.mjs", import.meta.url).href;
    const { FS_DTAB } = (await import(demo)) as { FS_DTAB: string };
    expect(MESH_DTAB).toBe(FS_DTAB);
    expect(Dtab.read(MESH_DTAB).show).toContain("/grpc/World=>/srv/world-v1");
  });

  it("renders an l5d node: outgoing → the destination node's incoming port, incoming → this node", () => {
    const y = render(
      L5D_MESH_YAML,
      l5dMeshVars(
        { name: "a", ip: NODE_A },
        { outgoing: 1, incoming: 2, admin: 3 },
        "/tmp/x y/disco",
      ),
    );
    expect(y).not.toMatch(/\{\{/);
    expect(y).toContain("admin: {ip: 127.0.0.1, port: 3}\n");
    expect(y).toContain('  rootDir: "/tmp/x y/disco"\n');
    expect(y).toContain("  identifier: {kind: io.l5d.header.path, segments: 1}\n");
    expect(y).toContain(
      "    - kind: io.l5d.port\n      port: 2\n  servers:\n  - port: 1\n    ip: 127.0.0.1\n",
    );
    expect(y).toContain(
      "    - kind: io.l5d.specificHost\n      host: 127.0.0.1\n  servers:\n  - port: 2\n    ip: 127.0.0.1\n",
    );
    expect(y).toContain("    /grpc/World => /srv/world-v1 ;\n");
    expect(y.match(/\/svc {8}=> \/\$\/io\.buoyant\.http\.domainToPathPfx\/grpc ;/g)).toHaveLength(
      2,
    );
    expect(y).toContain("  sampleRate: 0.25\n");
  });

  it("writes the disco files: hello on node A, world-v1 on node B", () => {
    expect(meshDisco([NODE_A, 7777], [NODE_B, 7778])).toEqual({
      Hello: "127.0.0.1 7777\n",
      "world-v1": "127.0.0.2 7778\n",
    });
  });

  it("mirrors the routing with four nghttpx processes and an unroutable catch-all", () => {
    const roles = nghttpxMeshRoles({ outA: 10, inA: 11, outB: 12, inB: 13, hello: 20, world: 21 });
    expect(roles.map((r) => `${r.name}@${r.host}:${r.port}`)).toEqual([
      "out-a@127.0.0.1:10",
      "in-a@127.0.0.1:11",
      "out-b@127.0.0.2:12",
      "in-b@127.0.0.2:13",
    ]);
    const outA = roles[0]!;
    expect(nghttpxMeshBackends(outA.routes)).toBe(
      [
        "backend=127.0.0.1,11;/helloworld.Hello/;proto=h2;no-tls",
        "backend=127.0.0.2,13;/helloworld.World/;proto=h2;no-tls",
        "backend=127.0.0.1,1;;proto=h2;no-tls",
      ].join("\n"),
    );
    expect(roles[1]!.routes).toEqual([{ prefix: "/helloworld.Hello/", host: NODE_A, port: 20 }]);
    expect(roles[3]!.routes).toEqual([{ prefix: "/helloworld.World/", host: NODE_B, port: 21 }]);
    const conf = render(NGHTTPX_MESH_CONF, {
      NAME: "in-b",
      RUNDIR: "/tmp/r",
      LISTEN_HOST: NODE_B,
      LISTEN_PORT: 13,
      BACKENDS: nghttpxMeshBackends(roles[3]!.routes),
    });
    expect(conf).toContain(
      "frontend=127.0.0.2,13;no-tls\nbackend=127.0.0.2,21;/helloworld.World/;",
    );
    expect(conf).toContain("workers=1\n");
  });

  it("decodes SvcResponse.message", () => {
    const msg = Buffer.concat([Buffer.from([0x0a, 13]), Buffer.from("Hello world!!")]);
    expect(decodeSvcResponse(msg)).toBe("Hello world!!");
    expect(decodeSvcResponse(new Uint8Array(0))).toBe("");
    // a two-byte length varint
    expect(decodeSvcResponse(protoBytesField(300))).toBe("x".repeat(300));
    expect(() => decodeSvcResponse(Buffer.from([0x12, 0]))).toThrow(/field key/);
    expect(() => decodeSvcResponse(Buffer.from([0x0a, 5, 0x41]))).toThrow(/truncated/);
  });
});

describe("mesh phases and CLI", () => {
  it("keeps the full run under 3 minutes of load and quick under one", () => {
    const full = meshPhases(false);
    const quick = meshPhases(true);
    expect(full.rate).toBe(1000);
    expect(quick.rate).toBe(1000);
    expect(quick.rounds).toBe(1);
    expect(meshCaseSeconds(full, 0)).toBe(full.firstWarmupS + full.rateS + full.saturatedS);
    expect(meshLoadSeconds(full, 3)).toBeLessThan(130);
    expect(meshLoadSeconds(quick, 3)).toBeLessThan(30);
    expect(meshPhases(false, 0.5).rateS).toBe(2.5);
  });

  it("parses --mesh and rejects mixing it with other modes", () => {
    expect(parseArgs(["--mesh"])).toMatchObject({ mesh: true, quick: false });
    expect(parseArgs(["--mesh", "--quick", "--no-install"])).toMatchObject({
      mesh: true,
      quick: true,
      noInstall: true,
    });
    expect(parseArgs([]).mesh).toBe(false);
    expect(() => parseArgs(["--mesh", "--http1"])).toThrow(/separate modes/);
    expect(() => parseArgs(["--mesh", "--namerd"])).toThrow(/separate modes/);
    expect(() => parseArgs(["--mesh", "--only=l5d"])).toThrow(/does not apply/);
    expect(() => parseArgs(["--mesh=1"])).toThrow(UsageError);
    expect(USAGE).toContain("--mesh [--quick]");
  });
});

describe("mesh summary and report", () => {
  it("takes medians over rounds and pairs each round with direct's for what the mesh adds", () => {
    const all = cases();
    const direct = all[0]!;
    const l = summarizeMesh(all[1]!, direct);
    expect(l.rateP50).toBe(1600);
    expect(l.rateP99).toBe(3000);
    // per-round differences 1000, 7000, 1100 → median 1100
    expect(l.rateAddedP99).toBe(1100);
    expect(l.rateAddedP50).toBe(600);
    expect(l.rateCpuUsPerCall).toBe(200);
    expect(l.satCallsPerS).toBe(2000);
    expect(l.satAddedP50).toBe(10_000);
    expect(l.satCpuUsPerCall).toBe(150);
    // two rounds: the mean of the two
    const n = summarizeMesh(all[2]!, direct);
    expect(n.rateCpuUsPerCall).toBe(55);
    expect(n.rateAddedP99).toBe(400);
    const d = summarizeMesh(direct, direct);
    expect(d.rateAddedP99).toBeUndefined();
    expect(d.rateCpuUsPerCall).toBeUndefined();
  });

  it("prints the summary lines with l5d ÷ nghttpx, n/a for what did not run", () => {
    const [rate, sat] = meshLines(summarizeAll(cases()));
    expect(rate).toBe(
      "mesh @1000/s: direct_p50_us=1000 direct_p99_us=2000 l5d_added_p50_us=600 l5d_added_p99_us=1100 nghttpx_added_p50_us=200 nghttpx_added_p99_us=400 added_p99_ratio=2.75 l5d_cpu_us_per_call=200.0 nghttpx_cpu_us_per_call=55.0 cpu_ratio=3.64",
    );
    expect(sat).toBe(
      "mesh saturated: direct_calls_per_s=3000 l5d_calls_per_s=2000 nghttpx_calls_per_s=2750 direct_p99_us=40000 l5d_p99_us=60000 nghttpx_p99_us=45500 l5d_cpu_us_per_call=150.0 nghttpx_cpu_us_per_call=41.0 cpu_ratio=3.66",
    );
    expect(addedRatio(1100, 400)).toBe(2.75);
    expect(addedRatio(1100, -400)).toBeUndefined();
    expect(addedRatio(0, 400)).toBeUndefined();
    const negative = cases();
    for (const r of negative[2]!.rounds) if (r.rate) r.rate.p99 = 1000;
    expect(meshLines(summarizeAll(negative))[0]).toContain("added_p99_ratio=n/a ");
    const noNg = summarizeAll(cases().slice(0, 2));
    expect(meshLines(noNg)[0]).toContain("nghttpx_cpu_us_per_call=n/a cpu_ratio=n/a");
  });

  it("renders the report: both tables, the ratio table, failures and overload marked", () => {
    const cs = cases();
    cs[2]!.rounds[1]!.rate!.achievedRps = 700;
    cs[2]!.rounds.push({ round: 2, error: "h2load exited 1" });
    const rep: MeshReport = {
      startedAt: "2026-01-01T00:00:00.000Z",
      finishedAt: "2026-01-01T00:02:00.000Z",
      mode: "mesh",
      machine: {
        cpuModel: "cpu",
        cores: 2,
        memTotalMiB: 1024,
        kernel: "k",
        os: "os",
        node: "v20",
      },
      loadAvg: { start: 0.1, end: 0.2 },
      versions: { nghttpx: "1.52" },
      skipped: [{ what: "x", reason: "y" }],
      settings: { rounds: 3, rate: 1000, clients: 4, streams: 16 },
      answers: { direct: "Hello world!!", l5d: "Hello world!!" },
      cases: summarizeAll(cs),
    };
    const md = renderMeshMarkdown(rep);
    expect(md).toContain("# l5d-ts whole-mesh benchmark (mesh)");
    expect(md).toContain(
      'Answers checked before the load: direct: "Hello world!!"; l5d: "Hello world!!".',
    );
    expect(md).toContain("## At 1000 calls/s");
    expect(md).toContain(
      "| l5d | 1,600 / 3,000 / 3,100 | 3,000 / 9,500 / 2,600 | 600 / 1,100 | 200.0 | 200.0 / 220.0 / 180.0 | 50.0 | 400.0 | 1,000 / 1,000 / 1,000 | 0 |",
    );
    expect(md).toContain("1,000 / 700 (overloaded) / n/a");
    expect(md).toContain(
      "| direct | 3,000 | 3,000 / 2,900 / 3,100 | 1.00× | 20,000 / 40,000 | — | — | — | 300.0 | 0 |",
    );
    expect(md).toContain("| proxy CPU µs/call @1000/s | 200.0 | 55.0 | 3.64× |");
    expect(md).toContain("- nghttpx round 3: h2load exited 1");
    expect(md).toContain("RSS after the load 150.0 MiB");
    expect(md).toContain("- x: y");
  });
});
