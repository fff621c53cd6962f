import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Thrown when no ancestor directory holds `pnpm-workspace.yaml`. */
export class RepoRootNotFoundError extends Error {
  readonly code = "REPO_ROOT_NOT_FOUND";
  constructor(from: string) {
    super(`no pnpm-workspace.yaml found above ${from}`);
    this.name = "RepoRootNotFoundError";
  }
}

/** The monorepo root: the nearest ancestor of `from` (default: this module) with pnpm-workspace.yaml. */
export function repoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let i = 0; i < 32; i++) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new RepoRootNotFoundError(from);
}
