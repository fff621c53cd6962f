import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** An external program the harness needs and the Debian package that provides it. */
export interface Tool {
  bin: string;
  /** Debian packages to try, in order (nghttpx moved from nghttp2-server to nghttp2-proxy). */
  packages: readonly string[];
  /** how to print the version; the first matching line is kept. */
  versionArgs: readonly string[];
}

export const TOOLS = {
  h2load: { bin: "h2load", packages: ["nghttp2-client"], versionArgs: ["--version"] },
  nginx: { bin: "nginx", packages: ["nginx"], versionArgs: ["-v"] },
  haproxy: { bin: "haproxy", packages: ["haproxy"], versionArgs: ["-v"] },
  nghttpx: {
    bin: "nghttpx",
    packages: ["nghttp2-proxy", "nghttp2-server", "nghttp2"],
    versionArgs: ["--version"],
  },
} as const satisfies Record<string, Tool>;

export type ToolName = keyof typeof TOOLS;

/** A found tool, or the reason it is missing. */
export type ToolStatus =
  | { ok: true; path: string; version: string }
  | { ok: false; reason: string };

const EXTRA_DIRS = ["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"];

/** Absolute path of `bin` on PATH (plus the sbin directories), or undefined. */
export function which(bin: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), ...EXTRA_DIRS];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** First line of `<bin> <versionArgs>` (stdout or stderr), trimmed. */
export function toolVersion(path: string, args: readonly string[]): string {
  const r = spawnSync(path, args, { encoding: "utf8", timeout: 5000 });
  const text = `${r.stdout ?? ""}\n${r.stderr ?? ""}`;
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? "unknown"
  );
}

/**
 * Finds each tool; installs the missing ones with apt-get (one `apt-get update` first, only when
 * something is missing). Never throws: a tool that cannot be had is reported with its reason.
 */
export function ensureTools(
  names: readonly ToolName[],
  log: (line: string) => void,
): Map<ToolName, ToolStatus> {
  const out = new Map<ToolName, ToolStatus>();
  const missing = names.filter((n) => which(TOOLS[n].bin) === undefined);
  if (missing.length > 0) {
    const apt = which("apt-get");
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    if (!apt) {
      log(`bench: apt-get not found, cannot install ${missing.join(", ")}`);
    } else if (!isRoot) {
      log(`bench: not root, cannot apt-get install ${missing.join(", ")}`);
    } else {
      log(`bench: installing ${missing.join(", ")} with apt-get`);
      const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
      const upd = spawnSync(apt, ["update"], { encoding: "utf8", env, timeout: 180_000 });
      if (upd.status !== 0) log(`bench: apt-get update failed: ${(upd.stderr ?? "").slice(-300)}`);
      for (const n of missing) {
        for (const pkg of TOOLS[n].packages) {
          const r = spawnSync(apt, ["install", "-y", "--no-install-recommends", pkg], {
            encoding: "utf8",
            env,
            timeout: 300_000,
          });
          if (r.status === 0 && which(TOOLS[n].bin)) break;
        }
      }
    }
  }
  for (const n of names) {
    const t = TOOLS[n];
    const path = which(t.bin);
    if (path) out.set(n, { ok: true, path, version: toolVersion(path, t.versionArgs) });
    else
      out.set(n, {
        ok: false,
        reason: `${t.bin} not found and could not be installed (apt packages tried: ${t.packages.join(", ")})`,
      });
  }
  return out;
}

/**
 * The tools' status: found on PATH only (`noInstall`, a missing one reported as such), or found
 * and the missing ones installed ({@link ensureTools}).
 */
export function lookupTools(
  names: readonly ToolName[],
  noInstall: boolean,
  log: (line: string) => void,
): Map<ToolName, ToolStatus> {
  if (!noInstall) return ensureTools(names, log);
  return new Map(
    names.map((n): [ToolName, ToolStatus] => {
      const p = which(TOOLS[n].bin);
      return [
        n,
        p
          ? { ok: true, path: p, version: toolVersion(p, TOOLS[n].versionArgs) }
          : { ok: false, reason: `${n} not found (--no-install)` },
      ];
    }),
  );
}
