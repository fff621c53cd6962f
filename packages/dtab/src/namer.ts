/** The Namer interface: what `/#/<prefix>` namers and `/$/<class>` system namers implement. */
import type { Activity } from "./activity.js";
import type { Name } from "./name.js";
import type { NameTree } from "./name-tree.js";
import type { Path } from "./path.js";

export interface Namer {
  /**
   * Looks up `path`, which is what follows the namer's prefix (for `/#/io.l5d.fs/hello/x`
   * with prefix `/#/io.l5d.fs`, it is `/hello/x`). The answer is a stream of name trees:
   * Neg when the namer does not know the name (dtab fallback then applies), a Leaf of a
   * NameBound when it does, or a Leaf of a Path to be looked up again (rewriting namers).
   * Errors are a failed Activity (shown as an exception by the delegator).
   */
  lookup(path: Path): Activity<NameTree<Name>>;
}

/** A namer mounted at a prefix (`/#/io.l5d.fs`), as configured under `namers:`. */
export interface MountedNamer {
  readonly prefix: Path;
  readonly namer: Namer;
  /** The config `kind`, for admin pages. */
  readonly kind?: string;
}
