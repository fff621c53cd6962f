import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The image's launcher: the one place the product's node flags for l5d, and the file it runs,
 * are written down.
 */
export const L5D_LAUNCHER = "deploy/docker/bin/l5d";

const DEFAULT_RE = /\$\{L5D_NODE_FLAGS-([^}]*)\}/;
/** The image installs apps/l5d at /opt/l5d-ts/l5d (the Dockerfile's `COPY --from=build /out/l5d`). */
const ENTRY_RE = /\/opt\/l5d-ts\/l5d\/(\S+\.js)/;

function launcherText(repoRoot: string): string {
  return readFileSync(join(repoRoot, L5D_LAUNCHER), "utf8");
}

/**
 * The node flags l5d runs with, exactly as the image's launcher picks them: `L5D_NODE_FLAGS`
 * from `env` when set (empty: none), else the launcher's default. Read from the launcher rather
 * than copied so the harness measures the product and cannot drift from it.
 */
export function l5dNodeFlags(
  repoRoot: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const m = DEFAULT_RE.exec(launcherText(repoRoot));
  if (!m) throw new Error(`${L5D_LAUNCHER}: no \${L5D_NODE_FLAGS-<default>} in its exec line`);
  return splitNodeFlags(env.L5D_NODE_FLAGS ?? m[1] ?? "");
}

/** Node flags written as one string (an environment variable, the launcher's default), split. */
export function splitNodeFlags(flags: string): string[] {
  return flags.split(/\s+/).filter((f) => f !== "");
}

const ENV_RE = /^: "\$\{([A-Z_]+):=([^}]*)\}"$/gm;

/**
 * The environment defaults the launcher sets for node (glibc malloc tuning, `: "${NAME:=value}"`
 * lines), as it applies them: a variable already in `env` keeps its value. Returned as the
 * variables to add to a child's environment, so the harness and `pnpm dev` run l5d as the image does.
 */
export function l5dEnv(
  repoRoot: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of launcherText(repoRoot).matchAll(ENV_RE)) {
    const name = m[1] as string;
    out[name] = env[name] ?? (m[2] as string);
  }
  return out;
}

/**
 * The l5d entry point the image's launcher runs (the esbuild bundle, dist/bundle/main.js), as
 * a path in this checkout: read from the launcher so the harness runs what the image runs.
 */
export function l5dEntry(repoRoot: string): string {
  const m = ENTRY_RE.exec(launcherText(repoRoot));
  if (!m?.[1]) throw new Error(`${L5D_LAUNCHER}: no /opt/l5d-ts/l5d/<file>.js in its exec line`);
  return join(repoRoot, "apps/l5d", m[1]);
}
