import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Activity,
  Addr,
  address,
  createDefaultInterpreter,
  Dtab,
  type Name,
  NameBound,
  NameTree,
  Path,
  VarCell,
} from "@l5d/dtab";
import { createNamerdRegistries, parseNamerdConfig } from "@l5d/namerd";
import { FsNamer } from "@l5d/namers";
import { afterAll, describe, expect, it } from "vitest";
import { parseArgs, UsageError } from "./cli.js";
import {
  BIND_DTAB,
  type BindCase,
  bindRatio,
  lastLinkerMs,
  linkerYaml,
  memoryDtab,
  memoryNamespace,
  memoryWatchPath,
  type NamerdReport,
  namerdLines,
  namerdPhases,
  namerdYaml,
  propagationDtab,
  renderNamerdMarkdown,
  serviceName,
  summarizePropagation,
} from "./namerd.js";
import { boundAndResolved } from "./namerd-bind.js";
import { namerdExpect, openWatch } from "./namerd-http.js";
import { startNamerdProcess } from "./namerd-process.js";
import { Supervisor } from "./supervisor.js";

const work = mkdtempSync(join(tmpdir(), "l5d-bench-namerd-test-"));
const sup = new Supervisor();
afterAll(async () => {
  await sup.stopAll();
  rmSync(work, { recursive: true, force: true });
});

const lat = (p50: number, p99: number) => ({
  count: 100,
  mean: p50,
  p50,
  p99,
  p999: p99,
  max: p99 * 2,
});

describe("cli", () => {
  it("parses --namerd, alone or with --quick, and rejects what does not apply to it", () => {
    expect(parseArgs(["--namerd"])).toMatchObject({ namerd: true, quick: false, http1: false });
    expect(parseArgs(["--namerd", "--quick", "--no-install"])).toMatchObject({
      namerd: true,
      quick: true,
      noInstall: true,
    });
    expect(parseArgs([]).namerd).toBe(false);
    expect(() => parseArgs(["--namerd", "--http1"])).toThrow(/separate modes/);
    expect(() => parseArgs(["--namerd", "--only=l5d"])).toThrow(/do not apply/);
    expect(() => parseArgs(["--namerd=1"])).toThrow(UsageError);
  });
});

describe("namerd mode counts", () => {
  it("full: the issue's 1,000 namespaces × 100 dentries, 1,000 watches, 1/5/20 linkers; quick: smaller", () => {
    const full = namerdPhases(false);
    expect(full).toMatchObject({
      namespaces: 1000,
      dentries: 100,
      watches: 1000,
      linkerCounts: [1, 5, 20],
    });
    const quick = namerdPhases(true);
    expect(quick.bindNames).toBeLessThan(full.bindNames);
    expect(quick.namespaces).toBeLessThan(full.namespaces);
    expect(quick.watches).toBeLessThan(full.watches);
    expect(Math.max(...quick.linkerCounts)).toBeLessThan(20);
    expect(quick.budgetS).toBeLessThan(full.budgetS);
  });
});

describe("generated configs and dtabs", () => {
  it("namerd's config passes namerd's own parser, seeded or empty", () => {
    const seeded = parseNamerdConfig(
      namerdYaml({
        port: 1,
        adminPort: 2,
        rootDir: work,
        namespaces: { bench: BIND_DTAB, prop: propagationDtab("a") },
      }),
      createNamerdRegistries(),
    );
    expect(seeded.ok ? [] : seeded.errors).toEqual([]);
    const empty = parseNamerdConfig(
      namerdYaml({ port: 1, adminPort: 2, rootDir: work, namespaces: {} }),
      createNamerdRegistries(),
    );
    expect(empty.ok ? [] : empty.errors).toEqual([]);
  });

  it("the memory dtabs: 100 dentries each, no two namespaces alike, the watched name in its dtab", () => {
    const a = memoryDtab(7, 100, 1000);
    const d = Dtab.read(a);
    expect(d.size).toBe(100);
    expect(memoryDtab(8, 100, 1000)).not.toBe(a);
    expect(a).toContain(`${memoryWatchPath(7, 100)} => /#/io.l5d.fs/${serviceName(707)} ;`);
    expect(memoryNamespace(7)).toBe("ns0007");
    // every target is one of the `files` fs files
    for (const m of memoryDtab(999, 100, 1000).matchAll(/svc(\d{4})/g))
      expect(Number(m[1])).toBeLessThan(1000);
  });

  it("the propagation dtab sends /svc/target to the named backend's fs file", () => {
    const d = Dtab.read(propagationDtab("b"));
    // the later dentry is tried first (Alt of both matches, /svc/target's own first)
    const t = d.lookup(Path.read("/svc/target"));
    const first = t.type === "alt" ? t.trees[0] : undefined;
    expect(first?.type === "leaf" ? first.value.show : first?.type).toBe("/#/io.l5d.fs/backend-b");
  });

  it("a linker's config: an h2 router whose interpreter is io.l5d.namerd.http on the given namerd", () => {
    const y = linkerYaml({ name: "l", adminPort: 3, routerPort: 4, namerdPort: 5, namespace: "p" });
    expect(y).toContain("- protocol: h2\n");
    expect(y).toContain("    kind: io.l5d.namerd.http\n");
    expect(y).toContain("    dst: /$/inet/127.0.0.1/5\n");
    expect(y).toContain("    namespace: p\n");
    expect(y).toContain("servers: [{port: 4, ip: 127.0.0.1}]");
  });
});

describe("propagation summary", () => {
  it("takes the last linker of each PUT, then p50/max over the PUTs", () => {
    const c = summarizePropagation({
      linkers: 3,
      puts: [
        { target: "b", putMs: 2, linkerMs: [5, 9, 7], failedProbes: 0, probes: 12 },
        { target: "a", putMs: 3, linkerMs: [4, 6, 20], failedProbes: 0, probes: 10 },
        { target: "b", putMs: 2, linkerMs: [3, 3, 8], failedProbes: 1, probes: 9 },
      ],
    });
    expect(c.lastP50Ms).toBe(9);
    expect(c.lastMaxMs).toBe(20);
    expect(c.eachP50Ms).toBe(6);
    expect(c.error).toBeUndefined();
  });

  it("a linker that never switched makes that PUT's last time unknown and the case an error", () => {
    const put = { target: "b", putMs: 2, linkerMs: [5, null], failedProbes: 0, probes: 4 };
    expect(lastLinkerMs(put)).toBeUndefined();
    const c = summarizePropagation({
      linkers: 2,
      puts: [put, { target: "a", putMs: 2, linkerMs: [4, 6], failedProbes: 0, probes: 4 }],
    });
    expect(c.lastMaxMs).toBe(6);
    expect(c.error).toMatch(/1 of 2 PUT/);
  });
});

describe("report", () => {
  const bind: BindCase[] = [
    { via: "namerd", pass: "cold", label: "namerd", latency: lat(400, 2000) },
    { via: "in-process", pass: "cold", label: "in", latency: lat(100, 500) },
    { via: "namerd", pass: "warm", label: "namerd", latency: lat(300, 900) },
    { via: "in-process", pass: "warm", label: "in", latency: lat(50, 300) },
    { via: "namerd-client", pass: "warm", label: "client", error: "namerd down" },
  ];
  const rep: NamerdReport = {
    startedAt: "2026-12-04T00:00:00.000Z",
    finishedAt: "2026-12-04T00:03:00.000Z",
    mode: "namerd",
    machine: {
      cpuModel: "cpu",
      cores: 2,
      kernel: "k",
      os: "os",
      memTotalMiB: 1024,
      node: "v20",
    },
    loadAvg: { start: 0.1, end: 0.2 },
    versions: { node: "v20" },
    skipped: [],
    settings: namerdPhases(false),
    bind,
    propagation: [
      summarizePropagation({
        linkers: 20,
        puts: [{ target: "b", putMs: 2, linkerMs: [12.5, 30.25], failedProbes: 0, probes: 40 }],
      }),
    ],
    memory: {
      namespaces: 1000,
      dentries: 100,
      watches: 1000,
      samples: [
        {
          label: "empty (no namespace)",
          rssKb: 50 * 1024,
          hwmKb: 51 * 1024,
          heapUsed: 10 * 1048576,
          heapTotal: 20 * 1048576,
          external: 1048576,
        },
        {
          label: "namespaces: 1000 × 100 dentries",
          rssKb: 150 * 1024,
          hwmKb: 160 * 1024,
          heapUsed: 90 * 1048576,
          heapTotal: 120 * 1048576,
          external: 1048576,
        },
      ],
    },
  };

  it("gives namerd ÷ in-process for each pass", () => {
    expect(bindRatio(bind, "cold")).toBe(4);
    expect(bindRatio(bind, "warm", "p99")).toBe(3);
    expect(bindRatio(bind.slice(2), "cold")).toBeUndefined();
  });

  it("renders the three sections and the summary lines", () => {
    const md = renderNamerdMarkdown(rep);
    expect(md).toContain("| namerd | cold | 100 | 400 | 2,000 | 4,000 | 4.00× / 4.00× |");
    expect(md).toContain("| client | warm | — | error: namerd down |");
    expect(md).toContain("| 20 | 1 | 30.3 | 30.3 | 12.5 |");
    expect(md).toContain("| empty (no namespace) | 50.0 | 51.0 | 10.0 | 20.0 | 1.0 |");
    const lines = namerdLines(rep);
    expect(lines[0]).toBe(
      "namerd bind (cold): namerd_p50_us=400 p99_us=2,000 max_us=4,000 in_process_p50_us=100 p99_us=500 max_us=1,000 ratio_p50=4.00 ratio_p99=4.00",
    );
    expect(lines[2]).toBe(
      "namerd propagation (PUT → last linker routing by it): n=20 p50_ms=30.3 max_ms=30.3",
    );
    expect(lines[3]).toBe(
      "namerd memory (1000 ns × 100 dentries, 1000 watches): empty_rss_mib=50.0 empty_heap_mib=10.0 ns_rss_mib=150.0 ns_heap_mib=90.0 watches=n/a",
    );
  });
});

describe("waiting for a bound tree's addresses", () => {
  it("resolves only once every leaf's addresses leave Pending, and releases its observations", async () => {
    const addr = new VarCell<Addr>(Addr.pending);
    const id = Path.read("/#/test/svc");
    const interp = createDefaultInterpreter([
      {
        prefix: Path.read("/#/test"),
        namer: {
          lookup: (p) =>
            Activity.value<NameTree<Name>>(
              p.show === "/svc" ? NameTree.leaf(new NameBound(id, addr, Path.empty)) : NameTree.neg,
            ),
        },
      },
    ]);
    let tree: NameTree<NameBound> | undefined;
    const waiting = boundAndResolved(
      interp.bind(Dtab.read("/s => /#/test"), Path.read("/s/svc")),
      5_000,
    ).then((t) => {
      tree = t;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(tree).toBeUndefined();
    addr.update(Addr.bound([address("127.0.0.1", 1)]));
    await waiting;
    expect(tree?.type === "leaf" ? tree.value.id.show : tree?.type).toBe("/#/test/svc");
    await new Promise((r) => setTimeout(r, 0));
    expect(addr.observerCount).toBe(0);
  });

  it("binds a real io.l5d.fs file, and rejects after its timeout when nothing binds", async () => {
    const dir = mkdtempSync(join(work, "fs-"));
    writeFileSync(join(dir, "svc0001"), "127.0.0.1 9\n");
    const prefix = Path.read("/#/io.l5d.fs");
    const namer = new FsNamer({ rootDir: dir, idPrefix: prefix });
    try {
      const interp = createDefaultInterpreter([{ prefix, namer }]);
      const t = await boundAndResolved(
        interp.bind(Dtab.read(BIND_DTAB), Path.read("/svc/svc0001")),
        5_000,
      );
      expect(t.type === "leaf" ? t.value.addr.sample().type : t.type).toBe("bound");
      const never = new VarCell(Activity.pending);
      await expect(boundAndResolved(never, 100)).rejects.toThrow(/no bound tree within 100 ms/);
    } finally {
      namer.close();
    }
  });
});

describe("a namerd process on loopback", () => {
  it("starts from a generated config, takes namespaces and watches, and reports its memory", async () => {
    const dir = mkdtempSync(join(work, "proc-"));
    const fs = mkdtempSync(join(work, "proc-fs-"));
    writeFileSync(join(fs, serviceName(0)), "127.0.0.1 9\n");
    const nd = await startNamerdProcess(
      sup,
      new URL("../..", import.meta.url).pathname,
      dir,
      "n",
      (port, adminPort) => namerdYaml({ port, adminPort, rootDir: fs, namespaces: {} }),
    );
    try {
      const before = await nd.memory();
      expect(before.rssKb).toBeGreaterThan(10_000);
      expect(before.heapUsed).toBeGreaterThan(1_000_000);
      expect(before.heapTotal).toBeGreaterThanOrEqual(before.heapUsed);
      await namerdExpect(204, nd.port, "POST", `/api/1/dtabs/${memoryNamespace(0)}`, {
        headers: { "content-type": "application/dtab" },
        body: memoryDtab(0, 100, 1),
      });
      const w = await openWatch(
        nd.port,
        `/api/1/bind/${memoryNamespace(0)}?path=${encodeURIComponent(memoryWatchPath(0, 100))}&watch=true`,
        5_000,
      );
      w.close();
      const after = await nd.memory();
      expect(after.rssKb).toBeGreaterThan(0);
      await expect(
        openWatch(nd.port, "/api/1/bind/ns0000?path=not-a-path&watch=true", 5_000),
      ).rejects.toThrow(/HTTP 400/);
    } finally {
      await sup.stop(nd.child);
    }
  });
});
