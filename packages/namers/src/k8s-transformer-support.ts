/**
 * Shared pieces of the k8s transformers: mapping every bound leaf's addresses, combining
 * address Vars, /24 matching. The `/%` ++ prefix of ids is added by @l5d/dtab's
 * `applyTransformer`, so transformers here keep the ids they are given.
 */
import { isIPv4 } from "node:net";
import {
  Activity,
  type ActivityState,
  Addr,
  type Address,
  type Name,
  NameBound,
  NameTree,
  type NameTreeTransformer,
  type Path,
  Var,
} from "@l5d/dtab";

export type { NameTreeTransformer };

/**
 * A transformer that rewrites each leaf's addresses with `f` (ids unchanged; applyTransformer
 * prefixes them with `/%` ++ prefix). The same input NameBound always maps to the same output
 * (so re-emitted trees keep their Vars).
 */
export function addressTransformer(
  prefix: Path,
  f: (addr: Var<Addr>) => Var<Addr>,
): NameTreeTransformer {
  const cache = new WeakMap<NameBound, NameBound>();
  const mapBound = (b: NameBound): NameBound => {
    let out = cache.get(b);
    if (!out) {
      out = new NameBound(b.id, f(b.addr), b.residual);
      cache.set(b, out);
    }
    return out;
  };
  return {
    prefix,
    transform: (tree) => Activity.map(tree, (t) => NameTree.map(t, mapBound)),
  };
}

/** Combines two address Vars; recomputed when either changes. */
export function combineAddr(a: Var<Addr>, b: Var<Addr>, f: (a: Addr, b: Addr) => Addr): Var<Addr> {
  return Var.map(Var.collect<Addr>([a, b]), ([x, y]) => f(x as Addr, y as Addr));
}

/** Collapses a namer's answer into one address Var (all bound leaves merged; Neg → neg). */
export function lookupAddr(answer: Activity<NameTree<Name>>): Var<Addr> {
  return Var.flatMap(answer, (st: ActivityState<NameTree<Name>>): Var<Addr> => {
    if (st.kind === "pending") return Var.value(Addr.pending);
    if (st.kind === "failed") return Var.value(Addr.failed(st.error));
    const leaves = NameTree.eval(st.value, (x, y) => x === y);
    const bound = (leaves ?? []).filter((n): n is NameBound => n instanceof NameBound);
    if (leaves === null || bound.length === 0) return Var.value(Addr.neg);
    if (bound.length === 1) return bound[0]!.addr;
    return Var.map(Var.collect(bound.map((b) => b.addr)), (addrs) => {
      const all = addrs.flatMap((a) => (a.type === "bound" ? a.addrs : []));
      return all.length > 0 || addrs.every((a) => a.type === "bound")
        ? Addr.bound(all)
        : (addrs[0] ?? Addr.neg);
    });
  });
}

/** True when both are IPv4 addresses in the same /24 (mask 255.255.255.0). */
export function sameSlash24(a: string, b: string): boolean {
  if (!isIPv4(a) || !isIPv4(b)) return a === b;
  return a.slice(0, a.lastIndexOf(".")) === b.slice(0, b.lastIndexOf("."));
}

/** Deduplicates addresses by host:port, keeping the first. */
export function dedupe(addrs: readonly Address[]): Address[] {
  const seen = new Map<string, Address>();
  for (const a of addrs) {
    const k = `${a.host}:${a.port}`;
    if (!seen.has(k)) seen.set(k, a);
  }
  return [...seen.values()];
}
