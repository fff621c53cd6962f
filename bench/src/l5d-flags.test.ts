import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { L5D_LAUNCHER, l5dEntry, l5dEnv, l5dNodeFlags } from "./l5d-flags.js";

const repoRoot = new URL("../..", import.meta.url).pathname;

/** Runs the real launcher with `node` replaced by `stub` (a shell script); its output lines. */
function runLauncher(stub: string, env: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), "l5d-flags-"));
  try {
    writeFileSync(join(dir, "node"), `#!/bin/sh\n${stub}\n`, { mode: 0o755 });
    const out = execFileSync("sh", [join(repoRoot, L5D_LAUNCHER), "cfg.yaml"], {
      env: { PATH: `${dir}:/usr/bin:/bin`, ...env },
      encoding: "utf8",
      timeout: 5_000,
    });
    return out.split("\n").filter((l) => l !== "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The arguments the launcher passes to node. */
const launcherArgs = (env: Record<string, string>) =>
  runLauncher('for a in "$@"; do echo "$a"; done', env);

/** The MALLOC_* variables the launcher hands to node, as sorted `NAME=value` lines. */
const launcherMallocEnv = (env: Record<string, string>) =>
  runLauncher('env | grep "^MALLOC_" | sort', env);

describe("l5d malloc environment", () => {
  it("is what the launcher exports to node, and a value already set wins", () => {
    const defaults = l5dEnv(repoRoot, {});
    expect(defaults).toEqual({
      MALLOC_ARENA_MAX: "1",
      MALLOC_TRIM_THRESHOLD_: "65536",
      MALLOC_TOP_PAD_: "0",
      MALLOC_MMAP_THRESHOLD_: "32768",
    });
    const lines = (e: Record<string, string>) =>
      Object.entries(e)
        .map(([k, v]) => `${k}=${v}`)
        .sort();
    expect(launcherMallocEnv({})).toEqual(lines(defaults));
    const mine = { MALLOC_ARENA_MAX: "4" };
    expect(l5dEnv(repoRoot, mine).MALLOC_ARENA_MAX).toBe("4");
    expect(launcherMallocEnv(mine)).toEqual(lines(l5dEnv(repoRoot, mine)));
  });
});

describe("l5d node flags", () => {
  it("are the flags the image's launcher passes to node, before the entry point", () => {
    const flags = l5dNodeFlags(repoRoot, {});
    expect(flags).toEqual([
      "--max-semi-space-size=2",
      "--heap-growing-percent=20",
      "--no-allocation-site-pretenuring",
      "--no-sparkplug",
      "--initial-old-space-size=40",
    ]);
    expect(launcherArgs({})).toEqual([...flags, "/opt/l5d-ts/l5d/dist/bundle/main.js", "cfg.yaml"]);
  });

  it("follow L5D_NODE_FLAGS like the launcher: set replaces, empty removes", () => {
    const env = { L5D_NODE_FLAGS: "--max-semi-space-size=8  --v8-pool-size=1" };
    expect(l5dNodeFlags(repoRoot, env)).toEqual(["--max-semi-space-size=8", "--v8-pool-size=1"]);
    expect(launcherArgs(env).slice(0, 2)).toEqual(l5dNodeFlags(repoRoot, env));
    expect(launcherArgs(env)[2]).toBe("/opt/l5d-ts/l5d/dist/bundle/main.js");
    expect(l5dNodeFlags(repoRoot, { L5D_NODE_FLAGS: "" })).toEqual([]);
    expect(launcherArgs({ L5D_NODE_FLAGS: "" })[0]).toBe("/opt/l5d-ts/l5d/dist/bundle/main.js");
  });

  it("go with the entry point the launcher runs, the esbuild bundle, found in this checkout", () => {
    const entry = l5dEntry(repoRoot);
    expect(entry).toBe(join(repoRoot, "apps/l5d/dist/bundle/main.js"));
    expect(launcherArgs({ L5D_NODE_FLAGS: "" })[0]).toBe(
      `/opt/l5d-ts/l5d/${relative(join(repoRoot, "apps/l5d"), entry)}`,
    );
  });

  it("are accepted by this node (a typo would stop the daemon from starting)", () => {
    const flags = l5dNodeFlags(repoRoot, {});
    const out = execFileSync(process.execPath, [...flags, "-e", "process.stdout.write('ok')"], {
      encoding: "utf8",
      timeout: 10_000,
    });
    expect(out).toBe("ok");
    expect(readFileSync(join(repoRoot, L5D_LAUNCHER), "utf8")).toMatch(/^#!\/bin\/sh\n/);
  });
});
