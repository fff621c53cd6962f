/**
 * How far a dtab's own delegation of a path fans out, counted without binding (no namer, no
 * Activity: plain `Dtab.lookup` steps): the cheap check a router makes before binding a
 * request's override. Entries that refer to themselves through unions or alternatives
 * (`/svc => /svc & /svc`) fan out exponentially; binding one spends its whole lookup budget
 * in the reactive machinery (milliseconds of event loop), counting it here costs microseconds.
 */
import type { Dtab } from "./dtab.js";
import type { NameTree } from "./name-tree.js";
import type { Path } from "./path.js";

/**
 * True when delegating `path` through `dtab` takes at most `max` lookups (a leaf the dtab does
 * not rewrite ends its branch: a namer's path), false as soon as it takes more. Branches deeper
 * than `maxDepth` end there (binding fails them by depth, cheaply).
 */
export function delegationWithin(dtab: Dtab, path: Path, max: number, maxDepth: number): boolean {
  const paths: Path[] = [path];
  const depths: number[] = [0];
  let lookups = 0;
  while (paths.length > 0) {
    const p = paths.pop() as Path;
    const depth = depths.pop() as number;
    if (++lookups > max) return false;
    if (depth >= maxDepth) continue;
    pushLeaves(dtab.lookup(p), depth + 1, paths, depths);
  }
  return true;
}

function pushLeaves(t: NameTree<Path>, depth: number, paths: Path[], depths: number[]): void {
  switch (t.type) {
    case "leaf":
      paths.push(t.value);
      depths.push(depth);
      return;
    case "alt":
      for (const x of t.trees) pushLeaves(x, depth, paths, depths);
      return;
    case "union":
      for (const w of t.weighted) pushLeaves(w.tree, depth, paths, depths);
      return;
    default:
      return;
  }
}
