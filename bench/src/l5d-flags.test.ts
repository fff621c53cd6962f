import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { L5D_LAUNCHER, l5dNodeFlags } from "./l5d-flags.js";

const repoRoot = new URL("../..", import.meta.url).pathname;

/** Runs the real launcher with `node` replaced by a script that prints its arguments. */
function launcherArgs(env: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), "l5d-flags-"));
  try {
    writeFileSync(join(dir, "node"), '#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n', {
      mode: 0o755,
    });
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

describe("l5d node flags", () => {
  it("are the flags the image's launcher passes to node, before the entry point", () => {
    const flags = l5dNodeFlags(repoRoot, {});
    expect(flags).toEqual(["--max-semi-space-size=4", "--heap-growing-percent=20"]);
    expect(launcherArgs({})).toEqual([...flags, "/opt/l5d-ts/l5d/dist/main.js", "cfg.yaml"]);
  });

  it("follow L5D_NODE_FLAGS like the launcher: set replaces, empty removes", () => {
    const env = { L5D_NODE_FLAGS: "--max-semi-space-size=8  --v8-pool-size=1" };
    expect(l5dNodeFlags(repoRoot, env)).toEqual(["--max-semi-space-size=8", "--v8-pool-size=1"]);
    expect(launcherArgs(env).slice(0, 2)).toEqual(l5dNodeFlags(repoRoot, env));
    expect(l5dNodeFlags(repoRoot, { L5D_NODE_FLAGS: "" })).toEqual([]);
    expect(launcherArgs({ L5D_NODE_FLAGS: "" })[0]).toBe("/opt/l5d-ts/l5d/dist/main.js");
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
