/**
 * Reading namerd's JSON back into our types: a bound tree (Linkerd's bind JSON, the
 * DelegateTree codec) and an Addr (`/api/1/addr`). Each leaf's addresses become a Var supplied
 * by the caller, seeded with the addresses the bind answer carried.
 */
import { Addr, type Address, address, NameBound, NameTree, Path, type Var } from "@l5d/dtab";

type Json = Record<string, unknown>;

function obj(v: unknown, what: string): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new Error(`${what}: expected an object`);
  return v as Json;
}

/** `{"type":"bound","addrs":[{"ip","port","meta"}],"meta":{}}` and the neg/failed/pending forms. */
export function addrFromJson(v: unknown): Addr {
  const o = obj(v, "addr");
  switch (o.type) {
    case "bound": {
      const addrs: Address[] = (Array.isArray(o.addrs) ? o.addrs : []).map((a: unknown, i) => {
        const x = obj(a, `addr.addrs[${i}]`);
        if (typeof x.ip !== "string" || typeof x.port !== "number")
          throw new Error(`addr.addrs[${i}]: expected ip and port`);
        const meta = (typeof x.meta === "object" && x.meta !== null ? x.meta : {}) as Record<
          string,
          unknown
        >;
        const w = meta.endpoint_addr_weight;
        return address(x.ip, x.port, meta, typeof w === "number" ? w : undefined);
      });
      const meta = (typeof o.meta === "object" && o.meta !== null ? o.meta : {}) as Record<
        string,
        unknown
      >;
      return Addr.bound(addrs, meta);
    }
    case "neg":
      return Addr.neg;
    case "pending":
      return Addr.pending;
    case "failed":
      return Addr.failed(new Error(typeof o.cause === "string" ? o.cause : "failed"));
    default:
      throw new Error(`addr: unknown type ${String(o.type)}`);
  }
}

/**
 * A bind answer as a tree of bound names. `addrFor(id, initial)` supplies each leaf's address
 * Var (shared per id by the caller).
 */
export function boundTreeFromJson(
  v: unknown,
  addrFor: (id: Path, initial: Addr) => Var<Addr>,
): NameTree<NameBound> {
  const rec = (x: unknown, depth: number): NameTree<NameBound> => {
    if (depth > 100) throw new Error("bound tree nested too deeply");
    const o = obj(x, "tree");
    switch (o.type) {
      case "leaf":
      case "transformation": {
        const b = obj(o.bound, "leaf.bound");
        if (typeof b.id !== "string") throw new Error("leaf.bound.id: expected a path");
        const id = Path.read(b.id);
        const residual = typeof b.path === "string" ? Path.read(b.path) : Path.empty;
        const initial = b.addr === undefined ? Addr.pending : addrFromJson(b.addr);
        return NameTree.leaf(new NameBound(id, addrFor(id, initial), residual));
      }
      case "delegate":
        return rec(o.delegate, depth + 1);
      case "alt":
        return NameTree.alt(
          ...(Array.isArray(o.alt) ? o.alt : []).map((t: unknown) => rec(t, depth + 1)),
        );
      case "union":
        return NameTree.union(
          ...(Array.isArray(o.union) ? o.union : []).map((w: unknown) => {
            const wo = obj(w, "union member");
            return {
              weight: typeof wo.weight === "number" ? wo.weight : 1,
              tree: rec(wo.tree, depth + 1),
            };
          }),
        );
      case "neg":
        return NameTree.neg;
      case "fail":
        return NameTree.fail;
      case "empty":
        return NameTree.empty;
      case "exception":
        throw new Error(
          typeof o.message === "string" ? o.message : "namerd could not bind the name",
        );
      default:
        throw new Error(`tree: unknown type ${String(o.type)}`);
    }
  };
  return rec(v, 0);
}
