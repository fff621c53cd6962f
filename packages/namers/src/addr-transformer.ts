/** Helpers for transformers that act on the addresses of every bound leaf. */
import {
  Activity,
  Addr,
  type Address,
  NameBound,
  NameTree,
  type NameTreeTransformer,
  type Path,
  Var,
} from "@l5d/dtab";

/** A transformer that maps every leaf's Addr Var (ids are prefixed by @l5d/dtab). */
export function addrTransformer(
  prefix: Path,
  name: string,
  f: (addr: Var<Addr>) => Var<Addr>,
): NameTreeTransformer {
  return {
    prefix,
    name,
    transform: (tree) =>
      Activity.map(tree, (t) => NameTree.map(t, (b) => new NameBound(b.id, f(b.addr), b.residual))),
  };
}

/**
 * Keeps the addresses `keep` accepts. Like Linkerd's FilteringNameTreeTransformer, an emptied
 * set becomes Addr.Neg (which does not trigger dtab fallback).
 */
export function filterAddr(addr: Addr, keep: (a: Address) => boolean): Addr {
  if (addr.type !== "bound") return addr;
  const kept = addr.addrs.filter(keep);
  return kept.length === 0 ? Addr.neg : Addr.bound(kept, { ...addr.meta });
}

/** Filters by a predicate that may not be known yet (pending until it is). */
export function filterAddrVar(
  addr: Var<Addr>,
  keep: Var<((a: Address) => boolean) | Error | undefined>,
): Var<Addr> {
  return Var.flatMap(keep, (k) => {
    if (k === undefined) return Var.value<Addr>(Addr.pending);
    if (k instanceof Error) return Var.value<Addr>(Addr.failed(k));
    return Var.map(addr, (a) => filterAddr(a, k));
  });
}
