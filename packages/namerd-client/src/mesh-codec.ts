/**
 * Our naming types ↔ the messages of Linkerd's mesh API (`io.linkerd.mesh`): paths, dtabs,
 * name trees, bound trees, replica sets and delegate trees. Shared by namerd's `io.l5d.mesh`
 * interface (encoding answers, decoding requests) and l5d's `io.l5d.mesh` interpreter (the
 * reverse). Path elements are bytes on the wire and latin1 strings here, one char per byte, so
 * any path survives the round trip. A malformed message throws MeshCodecError naming what is
 * wrong; the interface answers it as INVALID_ARGUMENT.
 */
import {
  ADDR_WEIGHT_KEY,
  Addr,
  type Address,
  address,
  type DelegateTree,
  Dentry,
  Dtab,
  NameBound,
  NameTree,
  Path,
  Prefix,
  type PrefixElem,
  type Var,
} from "@l5d/dtab";
import { mesh } from "@l5d/proto";
import { MeshCodecError } from "./codec-error.js";
import { bytesToIp, ipToBytes } from "./ip-bytes.js";

export { bytesToIp, ipToBytes, MeshCodecError };

/** Linkerd's metadata key for an endpoint's load-balancer weight (Finagle's `endpoint_addr_weight`). */
export const ENDPOINT_WEIGHT_KEY = "endpoint_addr_weight";

/** Deeper trees are refused: a hostile peer cannot blow our stack. */
const MAX_TREE_DEPTH = 100;

function depthCheck(depth: number, what: string): void {
  if (depth > MAX_TREE_DEPTH)
    throw new MeshCodecError(`${what} nested deeper than ${MAX_TREE_DEPTH}`);
}

// ---------------------------------------------------------------------------------------------
// paths and namespaces

export function pathToProto(path: Path): mesh.Path {
  return { elems: path.elems.map((e) => Buffer.from(e, "latin1")) };
}

/** A path message as a Path; `what` names the field in errors (`name`, `root`, `id`). */
export function pathFromProto(p: mesh.Path | undefined, what = "path"): Path {
  if (p === undefined) return Path.empty;
  const elems = p.elems.map((b, i) => {
    if (b.length === 0) throw new MeshCodecError(`${what}: element ${i} is empty`);
    return Buffer.from(b).toString("latin1");
  });
  return Path.of(...elems);
}

/**
 * The namespace a request's `root` names: Linkerd scopes every lookup to a one-element root
 * path, `/default` ↔ namespace `default` (its element read as UTF-8).
 */
export function namespaceFromRoot(root: Path): string {
  if (root.size !== 1) {
    throw new MeshCodecError(`invalid root ${root.show}: it must have exactly one element`);
  }
  return root.elemUtf8(0);
}

/** The root path for a namespace (`default` → `/default`). */
export function rootForNamespace(ns: string): Path {
  return Path.utf8(ns);
}

// ---------------------------------------------------------------------------------------------
// path name trees and dtabs

export function pathTreeToProto(tree: NameTree<Path>): mesh.PathNameTree {
  switch (tree.type) {
    case "neg":
      return { neg: {} };
    case "fail":
      return { fail: {} };
    case "empty":
      return { empty: {} };
    case "leaf":
      return { leaf: { id: pathToProto(tree.value) } };
    case "alt":
      return { alt: { trees: tree.trees.map(pathTreeToProto) } };
    case "union":
      return {
        union: {
          trees: tree.weighted.map((w) => ({ weight: w.weight, tree: pathTreeToProto(w.tree) })),
        },
      };
  }
}

export function pathTreeFromProto(t: mesh.PathNameTree | undefined, depth = 0): NameTree<Path> {
  depthCheck(depth, "name tree");
  if (t === undefined) throw new MeshCodecError("name tree: missing");
  if (t.neg) return NameTree.neg;
  if (t.fail) return NameTree.fail;
  if (t.empty) return NameTree.empty;
  if (t.leaf) {
    if (t.leaf.id === undefined) throw new MeshCodecError("name tree leaf: missing path");
    return NameTree.leaf(pathFromProto(t.leaf.id, "name tree leaf"));
  }
  if (t.alt) return NameTree.alt(...t.alt.trees.map((x) => pathTreeFromProto(x, depth + 1)));
  if (t.union) {
    return NameTree.union(
      ...t.union.trees.map((w) =>
        NameTree.weighted(weightOf(w.weight), pathTreeFromProto(w.tree, depth + 1)),
      ),
    );
  }
  throw new MeshCodecError("name tree: no node set");
}

function weightOf(w: number): number {
  if (!Number.isFinite(w) || w < 0) throw new MeshCodecError(`invalid union weight ${w}`);
  return w;
}

export function dtabToProto(dtab: Dtab): mesh.Dtab {
  return {
    dentries: dtab.dentries.map((d) => ({
      prefix: {
        elems: d.prefix.elems.map((e) =>
          e.type === "any" ? { wildcard: {} } : { label: Buffer.from(e.value, "latin1") },
        ),
      },
      dst: pathTreeToProto(d.dst),
    })),
  };
}

export function dentryFromProto(d: mesh.Dtab_Dentry, i = 0): Dentry {
  if (d.prefix === undefined) throw new MeshCodecError(`dentry ${i}: missing prefix`);
  if (d.dst === undefined) throw new MeshCodecError(`dentry ${i}: missing destination`);
  const elems: PrefixElem[] = d.prefix.elems.map((e, j) => {
    if (e.wildcard) return Prefix.any;
    if (e.label === undefined || e.label.length === 0)
      throw new MeshCodecError(`dentry ${i}: prefix element ${j} is empty`);
    return { type: "label", value: Buffer.from(e.label).toString("latin1") };
  });
  return new Dentry(Prefix.of(...elems), pathTreeFromProto(d.dst));
}

export function dtabFromProto(d: mesh.Dtab | undefined): Dtab {
  if (d === undefined) return Dtab.empty;
  return new Dtab(d.dentries.map((x, i) => dentryFromProto(x, i)));
}

// ---------------------------------------------------------------------------------------------
// bound trees

export function boundTreeToProto(tree: NameTree<NameBound>): mesh.BoundNameTree {
  switch (tree.type) {
    case "neg":
      return { neg: {} };
    case "fail":
      return { fail: {} };
    case "empty":
      return { empty: {} };
    case "leaf":
      return {
        leaf: { id: pathToProto(tree.value.id), residual: pathToProto(tree.value.residual) },
      };
    case "alt":
      return { alt: { trees: tree.trees.map(boundTreeToProto) } };
    case "union":
      return {
        union: {
          trees: tree.weighted.map((w) => ({ weight: w.weight, tree: boundTreeToProto(w.tree) })),
        },
      };
  }
}

/** Supplies the addresses of a bound id (the interpreter streams them from the Resolver). */
export type AddrFor = (id: Path) => Var<Addr>;

export function boundTreeFromProto(
  t: mesh.BoundNameTree | undefined,
  addrFor: AddrFor,
  depth = 0,
): NameTree<NameBound> {
  depthCheck(depth, "bound tree");
  if (t === undefined) throw new MeshCodecError("bound tree: missing");
  if (t.neg) return NameTree.neg;
  if (t.fail) return NameTree.fail;
  if (t.empty) return NameTree.empty;
  if (t.leaf) {
    if (t.leaf.id === undefined || t.leaf.id.elems.length === 0)
      throw new MeshCodecError("bound tree leaf: missing id");
    const id = pathFromProto(t.leaf.id, "bound id");
    return NameTree.leaf(
      new NameBound(id, addrFor(id), pathFromProto(t.leaf.residual, "residual")),
    );
  }
  if (t.alt)
    return NameTree.alt(...t.alt.trees.map((x) => boundTreeFromProto(x, addrFor, depth + 1)));
  if (t.union) {
    return NameTree.union(
      ...t.union.trees.map((w) =>
        NameTree.weighted(weightOf(w.weight), boundTreeFromProto(w.tree, addrFor, depth + 1)),
      ),
    );
  }
  throw new MeshCodecError("bound tree: no node set");
}

// ---------------------------------------------------------------------------------------------
// replica sets

function metaText(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  return JSON.stringify(v) ?? String(v);
}

function metaToProto(meta: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta))
    if (v !== undefined && v !== null) out[k] = metaText(v);
  return out;
}

/** Metadata values arrive as text; the weights our balancers read are numbers again. */
function metaFromProto(m: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) {
    const n = k === ADDR_WEIGHT_KEY || k === ENDPOINT_WEIGHT_KEY ? Number(v) : Number.NaN;
    out[k] = Number.isFinite(n) ? n : v;
  }
  return out;
}

function endpointToProto(a: Address): mesh.Endpoint | undefined {
  const ip = ipToBytes(a.host);
  // Linkerd only carries resolved IPs; an unresolved host name cannot be sent
  if (ip === undefined) return undefined;
  const metadata = metaToProto(a.meta);
  if (a.weight !== undefined) metadata[ENDPOINT_WEIGHT_KEY] = String(a.weight);
  const nodeName = a.meta.nodeName;
  return {
    inetAf: ip.length === 4 ? mesh.Endpoint_AddressFamily.INET4 : mesh.Endpoint_AddressFamily.INET6,
    address: ip,
    port: a.port,
    meta: { nodeName: typeof nodeName === "string" ? nodeName : "" },
    metadata,
  };
}

export function addrToReplicas(addr: Addr): mesh.Replicas {
  switch (addr.type) {
    case "pending":
      return { pending: {} };
    case "neg":
      return { neg: {} };
    case "failed":
      return { failed: { message: addr.cause.message } };
    case "bound":
      return {
        bound: {
          endpoints: addr.addrs.flatMap((a) => endpointToProto(a) ?? []),
          metadata: metaToProto(addr.meta),
        },
      };
  }
}

function endpointFromProto(e: mesh.Endpoint): Address {
  if (e.port <= 0 || e.port > 65535)
    throw new MeshCodecError(`endpoint port ${e.port} is out of range`);
  const meta = metaFromProto(e.metadata);
  if (e.meta?.nodeName && meta.nodeName === undefined) meta.nodeName = e.meta.nodeName;
  const w = meta[ENDPOINT_WEIGHT_KEY];
  delete meta[ENDPOINT_WEIGHT_KEY];
  return address(bytesToIp(e.address), e.port, meta, typeof w === "number" ? w : undefined);
}

/** Linkerd's client reads an unset result as Neg. */
export function replicasToAddr(r: mesh.Replicas): Addr {
  if (r.pending) return Addr.pending;
  if (r.failed) return Addr.failed(new Error(r.failed.message || "unknown"));
  if (r.bound)
    return Addr.bound(r.bound.endpoints.map(endpointFromProto), metaFromProto(r.bound.metadata));
  return Addr.neg;
}

// ---------------------------------------------------------------------------------------------
// delegate trees

function dentryToProto(d: Dentry): mesh.Dtab_Dentry {
  return dtabToProto(Dtab.of(d)).dentries[0]!;
}

export function delegateTreeToProto(t: DelegateTree<NameBound>): mesh.BoundDelegateTree {
  const leaf = (b: NameBound): mesh.BoundDelegateTree_Leaf => ({
    id: pathToProto(b.id),
    residual: pathToProto(b.residual),
  });
  if (t.type === "transformation") {
    // Linkerd sends a transformation without a dentry
    return {
      path: pathToProto(t.path),
      dentry: undefined,
      transformation: { name: t.name, leaf: leaf(t.value), tree: delegateTreeToProto(t.tree) },
    };
  }
  const base = { path: pathToProto(t.path), dentry: dentryToProto(t.dentry) };
  switch (t.type) {
    case "neg":
      return { ...base, neg: {} };
    case "fail":
      return { ...base, fail: {} };
    case "empty":
      return { ...base, empty: {} };
    case "exception":
      return { ...base, exception: t.error.message || "no message" };
    case "leaf":
      return { ...base, leaf: leaf(t.value) };
    case "delegate":
      return { ...base, delegate: delegateTreeToProto(t.tree) };
    case "alt":
      return { ...base, alt: { trees: t.trees.map(delegateTreeToProto) } };
    case "union":
      return {
        ...base,
        union: {
          trees: t.weighted.map((w) => ({ weight: w.weight, tree: delegateTreeToProto(w.tree) })),
        },
      };
  }
}

export function delegateTreeFromProto(
  t: mesh.BoundDelegateTree | undefined,
  addrFor: AddrFor,
  depth = 0,
): DelegateTree<NameBound> {
  depthCheck(depth, "delegate tree");
  if (t === undefined) throw new MeshCodecError("delegate tree: missing");
  const path = pathFromProto(t.path, "delegate tree path");
  const bound = (l: mesh.BoundDelegateTree_Leaf | undefined): NameBound => {
    if (l?.id === undefined || l.id.elems.length === 0)
      throw new MeshCodecError("delegate tree leaf: missing id");
    const id = pathFromProto(l.id, "bound id");
    return new NameBound(id, addrFor(id), pathFromProto(l.residual, "residual"));
  };
  const sub = (x: mesh.BoundDelegateTree | undefined) =>
    delegateTreeFromProto(x, addrFor, depth + 1);
  if (t.transformation) {
    const tr = t.transformation;
    return {
      type: "transformation",
      path,
      name: tr.name,
      value: bound(tr.leaf),
      tree: sub(tr.tree),
    };
  }
  // a node without a dentry (sent by no known server for these kinds) reads as the root's nop
  const dentry = t.dentry === undefined ? Dentry.nop : dentryFromProto(t.dentry);
  const base = { path, dentry };
  if (t.neg) return { ...base, type: "neg" };
  if (t.fail) return { ...base, type: "fail" };
  if (t.empty) return { ...base, type: "empty" };
  if (t.exception !== undefined)
    return { ...base, type: "exception", error: new Error(t.exception) };
  if (t.leaf) return { ...base, type: "leaf", value: bound(t.leaf) };
  if (t.delegate) return { ...base, type: "delegate", tree: sub(t.delegate) };
  if (t.alt) return { ...base, type: "alt", trees: t.alt.trees.map(sub) };
  if (t.union) {
    return {
      ...base,
      type: "union",
      weighted: t.union.trees.map((w) => ({ weight: weightOf(w.weight), tree: sub(w.tree) })),
    };
  }
  throw new MeshCodecError("delegate tree: no node set");
}
