/** Names: a NameTree leaf is either an unbound Path or a NameBound (Finagle's Name.Bound). */
import type { Addr } from "./addr.js";
import type { Path } from "./path.js";
import type { Var } from "./var.js";

/**
 * A bound name: an id (the bound prefix, e.g. `/$/inet/127.1/8080` or
 * `/#/io.l5d.k8s/default/grpc/hello`; transformers prepend `/%/...`), the addresses it
 * stands for (changing over time), and the residual path the namer did not consume.
 * Equality and client caching use `id` (compare `id.show`).
 */
export class NameBound {
  constructor(
    readonly id: Path,
    readonly addr: Var<Addr>,
    readonly residual: Path,
  ) {}

  /** Same addresses and residual under a new id (used by transformers). */
  withId(id: Path): NameBound {
    return new NameBound(id, this.addr, this.residual);
  }
}

/** What a namer's lookup tree holds: a path to look up again, or a bound name. */
export type Name = Path | NameBound;

export function isBound(n: Name): n is NameBound {
  return n instanceof NameBound;
}
