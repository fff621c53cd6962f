/**
 * Our name trees, addresses and delegation explanations to and from the namer IDL's flat
 * forms. The IDL carries a tree as a root node plus a `map<i32, node>` that Alt / Weighted /
 * Delegate members point into; ids are given depth-first as Linkerd's ThriftNamerInterface
 * does (each member takes the next id, its own members the ids after it; a Delegate's child
 * is numbered before its parent's pointer). Reading follows the ids with a depth bound, so a
 * cyclic or dangling id is an error, never a hang.
 */
import {
  Addr,
  type Address,
  address,
  type DelegateTree,
  Dentry,
  type NameBound,
  NameBound as NameBoundClass,
  NameTree,
  Path,
  type Var,
} from "@l5d/dtab";
import { bytesToIp, ipToBytes } from "../ip-bytes.js";
import type {
  AddrMeta,
  AddrVal,
  BoundName,
  BoundNode,
  BoundTree,
  DelegateContents,
  DelegateNode,
  ThriftDelegateTree,
  TransportAddress,
  WeightedNodeId,
} from "./namer-idl.js";

/** Trees nested deeper than this (through node ids) are refused. */
export const MAX_THRIFT_TREE_DEPTH = 100;

/** A namerd answer that is well-formed thrift but not a meaningful tree or address set. */
export class NamerTreeError extends Error {
  override readonly name = "NamerTreeError";
}

/** Supplies the addresses of a bound id (the interpreter long-polls them). */
export type ThriftAddrFor = (id: Path) => Var<Addr>;

// ---------------------------------------------------------------------------------------------
// bound trees

export function boundTreeToThrift(tree: NameTree<NameBound>): BoundTree {
  const nodes = new Map<number, BoundNode>();
  let nextId = 0;
  const mk = (t: NameTree<NameBound>): BoundNode => {
    switch (t.type) {
      case "neg":
        return { type: "neg" };
      case "empty":
        return { type: "empty" };
      case "fail":
        return { type: "fail" };
      case "leaf":
        return { type: "leaf", name: { id: t.value.id, residual: t.value.residual } };
      case "alt": {
        const ids: number[] = [];
        for (const sub of t.trees) {
          const id = nextId++;
          ids.push(id);
          nodes.set(id, mk(sub));
        }
        return { type: "alt", ids };
      }
      case "union": {
        const members: WeightedNodeId[] = [];
        for (const w of t.weighted) {
          const id = nextId++;
          members.push({ weight: w.weight, id });
          nodes.set(id, mk(w.tree));
        }
        return { type: "weighted", members };
      }
    }
  };
  const root = mk(tree);
  return { root, nodes };
}

function nodeAt<N>(nodes: ReadonlyMap<number, N>, id: number): N {
  const n = nodes.get(id);
  if (n === undefined) throw new NamerTreeError(`unknown node id: ${id}`);
  return n;
}

function depthCheck(depth: number): void {
  if (depth > MAX_THRIFT_TREE_DEPTH)
    throw new NamerTreeError(`tree nested deeper than ${MAX_THRIFT_TREE_DEPTH} (a cycle?)`);
}

function weightOf(w: number): number {
  if (!Number.isFinite(w) || w < 0) throw new NamerTreeError(`invalid union weight ${w}`);
  return w;
}

function boundOf(b: BoundName, addrFor: ThriftAddrFor): NameBound {
  if (b.id.isEmpty) throw new NamerTreeError("bound leaf without an id");
  return new NameBoundClass(b.id, addrFor(b.id), b.residual);
}

export function boundTreeFromThrift(t: BoundTree, addrFor: ThriftAddrFor): NameTree<NameBound> {
  const mk = (n: BoundNode, depth: number): NameTree<NameBound> => {
    depthCheck(depth);
    switch (n.type) {
      case "neg":
        return NameTree.neg;
      case "empty":
        return NameTree.empty;
      case "fail":
        return NameTree.fail;
      case "leaf":
        return NameTree.leaf(boundOf(n.name, addrFor));
      case "alt":
        return NameTree.alt(...n.ids.map((id) => mk(nodeAt(t.nodes, id), depth + 1)));
      case "weighted":
        return NameTree.union(
          ...n.members.map((m) =>
            NameTree.weighted(weightOf(m.weight), mk(nodeAt(t.nodes, m.id), depth + 1)),
          ),
        );
    }
  };
  return mk(t.root, 0);
}

// ---------------------------------------------------------------------------------------------
// addresses

const AUTHORITY = "authority";
const NODE_NAME = "nodeName";

function metaToThrift(
  meta: Readonly<Record<string, unknown>>,
  weight?: number,
): AddrMeta | undefined {
  const a = meta[AUTHORITY];
  const n = meta[NODE_NAME];
  const out: { authority?: string; nodeName?: string; endpointAddrWeight?: number } = {};
  if (typeof a === "string") out.authority = a;
  if (typeof n === "string") out.nodeName = n;
  if (weight !== undefined && Number.isFinite(weight)) out.endpointAddrWeight = weight;
  return Object.keys(out).length > 0 ? out : undefined;
}

function metaFromThrift(m: AddrMeta | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (m?.authority !== undefined) out[AUTHORITY] = m.authority;
  if (m?.nodeName !== undefined) out[NODE_NAME] = m.nodeName;
  return out;
}

/**
 * The IDL's AddrVal for an Addr that has settled: bound or neg. Addresses that are host names
 * rather than IP literals cannot be carried (the IDL has only IP bytes) and are left out.
 */
export function addrToThrift(a: Addr & { type: "bound" | "neg" }): AddrVal {
  if (a.type === "neg") return { type: "neg" };
  const addresses: TransportAddress[] = [];
  for (const x of a.addrs) {
    const ip = ipToBytes(x.host);
    if (ip === undefined) continue;
    const meta = metaToThrift(x.meta, x.weight);
    addresses.push(meta ? { ip, port: x.port, meta } : { ip, port: x.port });
  }
  const meta = metaToThrift(a.meta);
  return { type: "bound", bound: meta ? { addresses, meta } : { addresses } };
}

export function addrFromThrift(v: AddrVal): Addr {
  if (v.type === "neg") return Addr.neg;
  const addrs: Address[] = v.bound.addresses.map((t) => {
    if (t.port <= 0 || t.port > 65535) throw new NamerTreeError(`port ${t.port} is out of range`);
    if (t.ip.length !== 4 && t.ip.length !== 16)
      throw new NamerTreeError(`address has ${t.ip.length} bytes (expected 4 or 16)`);
    const w = t.meta?.endpointAddrWeight;
    return address(bytesToIp(t.ip), t.port, metaFromThrift(t.meta), w);
  });
  return Addr.bound(addrs, metaFromThrift(v.bound.meta));
}

// ---------------------------------------------------------------------------------------------
// delegation explanations

/** The request tree Linkerd's client sends: one path leaf under the nop dentry. */
export function delegateRequestTree(path: Path): ThriftDelegateTree {
  return {
    root: { path, dentry: Dentry.nop.show, contents: { type: "pathLeaf", path } },
    nodes: new Map(),
  };
}

/** The path a delegate request asks about (namerd explains one path at a time). */
export function delegateRequestPath(t: ThriftDelegateTree): Path {
  const c = t.root.contents;
  if (c.type === "pathLeaf") return c.path;
  throw new NamerTreeError("Delegation too complex: expected one path leaf");
}

export function delegateTreeToThrift(tree: DelegateTree<NameBound>): ThriftDelegateTree {
  const nodes = new Map<number, DelegateNode>();
  let nextId = 0;
  const bn = (b: NameBound): BoundName => ({ id: b.id, residual: b.residual });
  const mk = (t: DelegateTree<NameBound>): DelegateNode => {
    if (t.type === "transformation") {
      const child = mk(t.tree);
      const id = nextId++;
      nodes.set(id, child);
      // Linkerd sends the transformer's name in the dentry field and the id before it alone
      return {
        path: t.path,
        dentry: t.name,
        contents: {
          type: "transformation",
          value: { id: t.value.id, residual: Path.empty },
          tree: id,
        },
      };
    }
    const base = { path: t.path, dentry: t.dentry.show };
    let contents: DelegateContents;
    switch (t.type) {
      case "exception":
        contents = { type: "error", message: t.error.message };
        break;
      case "empty":
        contents = { type: "empty" };
        break;
      case "fail":
        contents = { type: "fail" };
        break;
      case "neg":
        contents = { type: "neg" };
        break;
      case "leaf":
        contents = { type: "boundLeaf", name: bn(t.value) };
        break;
      case "delegate": {
        const child = mk(t.tree);
        const id = nextId++;
        nodes.set(id, child);
        contents = { type: "delegate", id };
        break;
      }
      case "alt": {
        const ids: number[] = [];
        for (const sub of t.trees) {
          const id = nextId++;
          ids.push(id);
          nodes.set(id, mk(sub));
        }
        contents = { type: "alt", ids };
        break;
      }
      case "union": {
        const members: WeightedNodeId[] = [];
        for (const w of t.weighted) {
          const id = nextId++;
          members.push({ weight: w.weight, id });
          nodes.set(id, mk(w.tree));
        }
        contents = { type: "weighted", members };
        break;
      }
    }
    return { ...base, contents };
  };
  const root = mk(tree);
  return { root, nodes };
}

function readDentry(text: string): Dentry {
  try {
    return Dentry.read(text);
  } catch (e) {
    throw new NamerTreeError(`invalid dentry '${text}': ${(e as Error).message}`);
  }
}

export function delegateTreeFromThrift(
  t: ThriftDelegateTree,
  addrFor: ThriftAddrFor,
): DelegateTree<NameBound> {
  const mk = (n: DelegateNode, depth: number): DelegateTree<NameBound> => {
    depthCheck(depth);
    const c = n.contents;
    const sub = (id: number) => mk(nodeAt(t.nodes, id), depth + 1);
    if (c.type === "transformation")
      return {
        type: "transformation",
        path: n.path,
        name: n.dentry,
        value: boundOf(c.value, addrFor),
        tree: sub(c.tree),
      };
    const base = { path: n.path, dentry: readDentry(n.dentry) };
    switch (c.type) {
      case "error":
        return { ...base, type: "exception", error: new Error(c.message) };
      case "empty":
        return { ...base, type: "empty" };
      case "fail":
        return { ...base, type: "fail" };
      case "neg":
        return { ...base, type: "neg" };
      case "delegate":
        return { ...base, type: "delegate", tree: sub(c.id) };
      case "boundLeaf":
        return { ...base, type: "leaf", value: boundOf(c.name, addrFor) };
      case "pathLeaf":
        throw new NamerTreeError("delegation answers cannot hold unbound path leaves");
      case "alt":
        return { ...base, type: "alt", trees: c.ids.map(sub) };
      case "weighted":
        return {
          ...base,
          type: "union",
          weighted: c.members.map((m) => ({ weight: weightOf(m.weight), tree: sub(m.id) })),
        };
    }
  };
  return mk(t.root, 0);
}
