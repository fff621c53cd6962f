import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The image's launcher: the one place the product's node flags for l5d are written down. */
export const L5D_LAUNCHER = "deploy/docker/bin/l5d";

const DEFAULT_RE = /\$\{L5D_NODE_FLAGS-([^}]*)\}/;

/**
 * The node flags l5d runs with, exactly as the image's launcher picks them: `L5D_NODE_FLAGS`
 * from `env` when set (empty: none), else the launcher's default. Read from the launcher rather
 * than copied so the harness measures the product and cannot drift from it.
 */
export function l5dNodeFlags(
  repoRoot: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const text = readFileSync(join(repoRoot, L5D_LAUNCHER), "utf8");
  const m = DEFAULT_RE.exec(text);
  if (!m) throw new Error(`${L5D_LAUNCHER}: no \${L5D_NODE_FLAGS-<default>} in its exec line`);
  const flags = env.L5D_NODE_FLAGS ?? m[1] ?? "";
  return flags.split(/\s+/).filter((f) => f !== "");
}
