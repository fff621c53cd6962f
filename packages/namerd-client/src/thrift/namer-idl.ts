/**
 * The structs of namerd's thrift IDL (linkerd/linkerd
 * `namerd/iface/interpreter-thrift-idl/src/main/thrift/namer.thrift`, service `Namer`:
 * `bind`, `addr`, `delegate`, `dtab`), hand-written over the binary protocol, and the call /
 * reply envelopes (`<method>_args {1: req}`, `<method>_result {0: success, 1: failure}`,
 * TApplicationException) that Scrooge generates for them. Field ids and types follow the IDL
 * exactly; unknown fields are skipped, missing non-optional fields read as their empty value
 * (as Scrooge does), and a missing struct that the answer cannot do without is an error.
 *
 * A thrift `Path` is `list<binary>`: each element is one of our Path's byte-string elements.
 */
import { Path } from "@l5d/dtab";
import {
  MAX_THRIFT_DEPTH,
  type MessageHeader,
  ThriftProtocolError,
  ThriftReader,
  ThriftWriter,
  TMessageType,
  TType,
} from "./thrift-binary.js";

// ---------------------------------------------------------------------------------------------
// the IDL's types

export interface NameRef {
  readonly stamp: Buffer;
  readonly name: Path;
  readonly ns: string;
}
export interface BindReq {
  readonly dtab: string;
  readonly name: NameRef;
  readonly clientId: Path;
}
export interface BoundName {
  readonly id: Path;
  readonly residual: Path;
}
export interface WeightedNodeId {
  readonly weight: number;
  readonly id: number;
}
export type BoundNode =
  | { readonly type: "neg" }
  | { readonly type: "empty" }
  | { readonly type: "fail" }
  | { readonly type: "leaf"; readonly name: BoundName }
  | { readonly type: "alt"; readonly ids: readonly number[] }
  | { readonly type: "weighted"; readonly members: readonly WeightedNodeId[] };
export interface BoundTree {
  readonly root: BoundNode;
  readonly nodes: ReadonlyMap<number, BoundNode>;
}
export interface Bound {
  readonly stamp: Buffer;
  readonly tree: BoundTree;
  readonly ns: string;
}
export interface BindFailure {
  readonly reason: string;
  /** Deprecated and ignored by Linkerd; we send 0. */
  readonly retryInSeconds: number;
  readonly name?: NameRef;
  readonly ns: string;
}
export interface AddrReq {
  readonly name: NameRef;
  readonly clientId: Path;
}
export interface AddrMeta {
  readonly authority?: string;
  readonly nodeName?: string;
  readonly endpointAddrWeight?: number;
}
export interface TransportAddress {
  /** 4 (IPv4) or 16 (IPv6) bytes. */
  readonly ip: Buffer;
  readonly port: number;
  readonly meta?: AddrMeta;
}
export interface BoundAddr {
  readonly addresses: readonly TransportAddress[];
  readonly meta?: AddrMeta;
}
export type AddrVal =
  | { readonly type: "bound"; readonly bound: BoundAddr }
  | { readonly type: "neg" };
/** The IDL's `Addr` struct. */
export interface ThriftAddr {
  readonly stamp: Buffer;
  readonly value: AddrVal;
}
export interface AddrFailure {
  readonly reason: string;
  readonly retryInSeconds: number;
  readonly name?: NameRef;
}
export type DelegateContents =
  | { readonly type: "error"; readonly message: string }
  | { readonly type: "empty" }
  | { readonly type: "fail" }
  | { readonly type: "neg" }
  | { readonly type: "delegate"; readonly id: number }
  | { readonly type: "boundLeaf"; readonly name: BoundName }
  | { readonly type: "pathLeaf"; readonly path: Path }
  | { readonly type: "alt"; readonly ids: readonly number[] }
  | { readonly type: "weighted"; readonly members: readonly WeightedNodeId[] }
  | { readonly type: "transformation"; readonly value: BoundName; readonly tree: number };
export interface DelegateNode {
  readonly path: Path;
  /** A dentry's text (`/svc=>/#/io.l5d.fs`). */
  readonly dentry: string;
  readonly contents: DelegateContents;
}
/** The IDL's `DelegateTree` struct. */
export interface ThriftDelegateTree {
  readonly root: DelegateNode;
  readonly nodes: ReadonlyMap<number, DelegateNode>;
}
export interface Delegation {
  /** Deprecated: clients send an empty stamp. */
  readonly stamp: Buffer;
  readonly tree: ThriftDelegateTree;
  readonly ns: string;
}
export interface DelegateReq {
  readonly dtab: string;
  readonly delegation: Delegation;
  readonly clientId: Path;
}
export interface DelegationFailure {
  readonly reason: string;
}
export interface DtabReq {
  readonly stamp: Buffer;
  readonly ns: string;
  readonly clientId: Path;
}
export interface DtabRef {
  readonly stamp: Buffer;
  readonly dtab: string;
}
export interface DtabFailure {
  readonly reason: string;
}

/** Thrift's TApplicationException (the undeclared error of any call). */
export class TApplicationError extends Error {
  override readonly name = "TApplicationError";
  constructor(
    message: string,
    readonly type: number,
  ) {
    super(message);
  }
}
export const TApplicationExceptionType = {
  UNKNOWN: 0,
  UNKNOWN_METHOD: 1,
  INVALID_MESSAGE_TYPE: 2,
  WRONG_METHOD_NAME: 3,
  BAD_SEQUENCE_ID: 4,
  MISSING_RESULT: 5,
  INTERNAL_ERROR: 6,
  PROTOCOL_ERROR: 7,
} as const;

// ---------------------------------------------------------------------------------------------
// struct helpers

type FieldHandler = (type: number, id: number) => boolean;

/** Reads a struct's fields; `onField` returns false for fields it does not take (skipped). */
function readStruct(r: ThriftReader, depth: number, onField: FieldHandler): void {
  if (depth > MAX_THRIFT_DEPTH) throw new ThriftProtocolError("thrift value nested too deep");
  for (;;) {
    const f = r.fieldBegin();
    if (f.type === TType.STOP) return;
    if (!onField(f.type, f.id)) r.skip(f.type, depth + 1);
  }
}

function writePath(w: ThriftWriter, p: Path): void {
  w.listBegin(TType.STRING, p.size);
  for (const e of p.elems) w.binary(Buffer.from(e, "latin1"));
}

function readPath(r: ThriftReader): Path {
  const l = r.listBegin();
  if (l.elemType !== TType.STRING)
    throw new ThriftProtocolError(
      `path: expected a list of binary, got element type ${l.elemType}`,
    );
  const elems: string[] = [];
  for (let i = 0; i < l.size; i++) {
    const b = r.binary();
    if (b.length === 0) throw new ThriftProtocolError("path: empty element");
    elems.push(b.toString("latin1"));
  }
  return Path.of(...elems);
}

function writeVoid(w: ThriftWriter): void {
  w.fieldStop();
}

function readVoid(r: ThriftReader, depth: number): void {
  readStruct(r, depth, () => false);
}

function writeIds(w: ThriftWriter, ids: readonly number[]): void {
  w.listBegin(TType.I32, ids.length);
  for (const id of ids) w.i32(id);
}

function readIds(r: ThriftReader): number[] {
  const l = r.listBegin();
  if (l.elemType !== TType.I32) throw new ThriftProtocolError("expected a list of node ids");
  const out: number[] = [];
  for (let i = 0; i < l.size; i++) out.push(r.i32());
  return out;
}

function writeWeighted(w: ThriftWriter, members: readonly WeightedNodeId[]): void {
  w.listBegin(TType.STRUCT, members.length);
  for (const m of members) {
    w.fieldBegin(TType.DOUBLE, 1).double(m.weight);
    w.fieldBegin(TType.I32, 2).i32(m.id);
    w.fieldStop();
  }
}

function readWeighted(r: ThriftReader, depth: number): WeightedNodeId[] {
  const l = r.listBegin();
  if (l.elemType !== TType.STRUCT) throw new ThriftProtocolError("expected weighted node ids");
  const out: WeightedNodeId[] = [];
  for (let i = 0; i < l.size; i++) {
    let weight = 0;
    let id = 0;
    readStruct(r, depth + 1, (t, fid) => {
      if (fid === 1 && t === TType.DOUBLE) weight = r.double();
      else if (fid === 2 && t === TType.I32) id = r.i32();
      else return false;
      return true;
    });
    out.push({ weight, id });
  }
  return out;
}

function required<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new ThriftProtocolError(`missing ${what}`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// NameRef, BoundName

function writeNameRef(w: ThriftWriter, n: NameRef): void {
  w.fieldBegin(TType.STRING, 1).binary(n.stamp);
  w.fieldBegin(TType.LIST, 2);
  writePath(w, n.name);
  w.fieldBegin(TType.STRING, 3).string(n.ns);
  w.fieldStop();
}

function readNameRef(r: ThriftReader, depth: number): NameRef {
  let stamp: Buffer = Buffer.alloc(0);
  let name = Path.empty;
  let ns = "";
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRING) stamp = r.binary();
    else if (id === 2 && t === TType.LIST) name = readPath(r);
    else if (id === 3 && t === TType.STRING) ns = r.string();
    else return false;
    return true;
  });
  return { stamp, name, ns };
}

function writeBoundName(w: ThriftWriter, b: BoundName): void {
  w.fieldBegin(TType.LIST, 1);
  writePath(w, b.id);
  w.fieldBegin(TType.LIST, 2);
  writePath(w, b.residual);
  w.fieldStop();
}

function readBoundName(r: ThriftReader, depth: number): BoundName {
  let id = Path.empty;
  let residual = Path.empty;
  readStruct(r, depth, (t, fid) => {
    if (fid === 1 && t === TType.LIST) id = readPath(r);
    else if (fid === 2 && t === TType.LIST) residual = readPath(r);
    else return false;
    return true;
  });
  return { id, residual };
}

// ---------------------------------------------------------------------------------------------
// bind

export function writeBindReq(w: ThriftWriter, q: BindReq): void {
  w.fieldBegin(TType.STRING, 1).string(q.dtab);
  w.fieldBegin(TType.STRUCT, 2);
  writeNameRef(w, q.name);
  w.fieldBegin(TType.LIST, 3);
  writePath(w, q.clientId);
  w.fieldStop();
}

export function readBindReq(r: ThriftReader, depth = 0): BindReq {
  let dtab = "";
  let name: NameRef | undefined;
  let clientId = Path.empty;
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRING) dtab = r.string();
    else if (id === 2 && t === TType.STRUCT) name = readNameRef(r, depth + 1);
    else if (id === 3 && t === TType.LIST) clientId = readPath(r);
    else return false;
    return true;
  });
  return { dtab, name: required(name, "BindReq.name"), clientId };
}

function writeBoundNode(w: ThriftWriter, n: BoundNode): void {
  switch (n.type) {
    case "neg":
      w.fieldBegin(TType.STRUCT, 1);
      writeVoid(w);
      break;
    case "empty":
      w.fieldBegin(TType.STRUCT, 2);
      writeVoid(w);
      break;
    case "fail":
      w.fieldBegin(TType.STRUCT, 3);
      writeVoid(w);
      break;
    case "leaf":
      w.fieldBegin(TType.STRUCT, 4);
      writeBoundName(w, n.name);
      break;
    case "alt":
      w.fieldBegin(TType.LIST, 5);
      writeIds(w, n.ids);
      break;
    case "weighted":
      w.fieldBegin(TType.LIST, 6);
      writeWeighted(w, n.members);
      break;
  }
  w.fieldStop();
}

function readBoundNode(r: ThriftReader, depth: number): BoundNode {
  let node: BoundNode | undefined;
  readStruct(r, depth, (t, id) => {
    if (id >= 1 && id <= 3 && t === TType.STRUCT) {
      readVoid(r, depth + 1);
      node = { type: id === 1 ? "neg" : id === 2 ? "empty" : "fail" };
    } else if (id === 4 && t === TType.STRUCT)
      node = { type: "leaf", name: readBoundName(r, depth + 1) };
    else if (id === 5 && t === TType.LIST) node = { type: "alt", ids: readIds(r) };
    else if (id === 6 && t === TType.LIST)
      node = { type: "weighted", members: readWeighted(r, depth + 1) };
    else return false;
    return true;
  });
  return required(node, "BoundNode: no known member set");
}

function writeBoundTree(w: ThriftWriter, t: BoundTree): void {
  w.fieldBegin(TType.STRUCT, 1);
  writeBoundNode(w, t.root);
  w.fieldBegin(TType.MAP, 2).mapBegin(TType.I32, TType.STRUCT, t.nodes.size);
  for (const [id, n] of t.nodes) {
    w.i32(id);
    writeBoundNode(w, n);
  }
  w.fieldStop();
}

function readBoundTree(r: ThriftReader, depth: number): BoundTree {
  let root: BoundNode | undefined;
  const nodes = new Map<number, BoundNode>();
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRUCT) root = readBoundNode(r, depth + 1);
    else if (id === 2 && t === TType.MAP) {
      const m = r.mapBegin();
      if (m.keyType !== TType.I32 || m.valueType !== TType.STRUCT)
        throw new ThriftProtocolError("BoundTree.nodes: expected map<i32, BoundNode>");
      for (let i = 0; i < m.size; i++) {
        const k = r.i32();
        nodes.set(k, readBoundNode(r, depth + 1));
      }
    } else return false;
    return true;
  });
  return { root: required(root, "BoundTree.root"), nodes };
}

export function writeBound(w: ThriftWriter, b: Bound): void {
  w.fieldBegin(TType.STRING, 1).binary(b.stamp);
  w.fieldBegin(TType.STRUCT, 2);
  writeBoundTree(w, b.tree);
  w.fieldBegin(TType.STRING, 3).string(b.ns);
  w.fieldStop();
}

export function readBound(r: ThriftReader, depth = 0): Bound {
  let stamp: Buffer = Buffer.alloc(0);
  let tree: BoundTree | undefined;
  let ns = "";
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRING) stamp = r.binary();
    else if (id === 2 && t === TType.STRUCT) tree = readBoundTree(r, depth + 1);
    else if (id === 3 && t === TType.STRING) ns = r.string();
    else return false;
    return true;
  });
  return { stamp, tree: required(tree, "Bound.tree"), ns };
}

export function writeBindFailure(w: ThriftWriter, f: BindFailure): void {
  w.fieldBegin(TType.STRING, 1).string(f.reason);
  w.fieldBegin(TType.I32, 2).i32(f.retryInSeconds);
  if (f.name) {
    w.fieldBegin(TType.STRUCT, 3);
    writeNameRef(w, f.name);
  }
  w.fieldBegin(TType.STRING, 4).string(f.ns);
  w.fieldStop();
}

export function readBindFailure(r: ThriftReader, depth = 0): BindFailure {
  let reason = "";
  let retryInSeconds = 0;
  let name: NameRef | undefined;
  let ns = "";
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRING) reason = r.string();
    else if (id === 2 && t === TType.I32) retryInSeconds = r.i32();
    else if (id === 3 && t === TType.STRUCT) name = readNameRef(r, depth + 1);
    else if (id === 4 && t === TType.STRING) ns = r.string();
    else return false;
    return true;
  });
  return name ? { reason, retryInSeconds, name, ns } : { reason, retryInSeconds, ns };
}

// ---------------------------------------------------------------------------------------------
// addr

export function writeAddrReq(w: ThriftWriter, q: AddrReq): void {
  w.fieldBegin(TType.STRUCT, 1);
  writeNameRef(w, q.name);
  w.fieldBegin(TType.LIST, 2);
  writePath(w, q.clientId);
  w.fieldStop();
}

export function readAddrReq(r: ThriftReader, depth = 0): AddrReq {
  let name: NameRef | undefined;
  let clientId = Path.empty;
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRUCT) name = readNameRef(r, depth + 1);
    else if (id === 2 && t === TType.LIST) clientId = readPath(r);
    else return false;
    return true;
  });
  return { name: required(name, "AddrReq.name"), clientId };
}

function writeAddrMeta(w: ThriftWriter, m: AddrMeta): void {
  if (m.authority !== undefined) w.fieldBegin(TType.STRING, 1).string(m.authority);
  if (m.nodeName !== undefined) w.fieldBegin(TType.STRING, 2).string(m.nodeName);
  if (m.endpointAddrWeight !== undefined)
    w.fieldBegin(TType.DOUBLE, 3).double(m.endpointAddrWeight);
  w.fieldStop();
}

function readAddrMeta(r: ThriftReader, depth: number): AddrMeta {
  const m: { authority?: string; nodeName?: string; endpointAddrWeight?: number } = {};
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRING) m.authority = r.string();
    else if (id === 2 && t === TType.STRING) m.nodeName = r.string();
    else if (id === 3 && t === TType.DOUBLE) m.endpointAddrWeight = r.double();
    else return false;
    return true;
  });
  return m;
}

function writeTransportAddress(w: ThriftWriter, a: TransportAddress): void {
  w.fieldBegin(TType.STRING, 1).binary(a.ip);
  w.fieldBegin(TType.I32, 2).i32(a.port);
  if (a.meta) {
    w.fieldBegin(TType.STRUCT, 3);
    writeAddrMeta(w, a.meta);
  }
  w.fieldStop();
}

function readTransportAddress(r: ThriftReader, depth: number): TransportAddress {
  let ip: Buffer = Buffer.alloc(0);
  let port = 0;
  let meta: AddrMeta | undefined;
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRING) ip = r.binary();
    else if (id === 2 && t === TType.I32) port = r.i32();
    else if (id === 3 && t === TType.STRUCT) meta = readAddrMeta(r, depth + 1);
    else return false;
    return true;
  });
  return meta ? { ip, port, meta } : { ip, port };
}

function writeBoundAddr(w: ThriftWriter, b: BoundAddr): void {
  w.fieldBegin(TType.SET, 1).setBegin(TType.STRUCT, b.addresses.length);
  for (const a of b.addresses) writeTransportAddress(w, a);
  if (b.meta) {
    w.fieldBegin(TType.STRUCT, 2);
    writeAddrMeta(w, b.meta);
  }
  w.fieldStop();
}

function readBoundAddr(r: ThriftReader, depth: number): BoundAddr {
  const addresses: TransportAddress[] = [];
  let meta: AddrMeta | undefined;
  readStruct(r, depth, (t, id) => {
    if (id === 1 && (t === TType.SET || t === TType.LIST)) {
      const s = r.setBegin();
      if (s.elemType !== TType.STRUCT)
        throw new ThriftProtocolError("BoundAddr.addresses: expected a set of structs");
      for (let i = 0; i < s.size; i++) addresses.push(readTransportAddress(r, depth + 1));
    } else if (id === 2 && t === TType.STRUCT) meta = readAddrMeta(r, depth + 1);
    else return false;
    return true;
  });
  return meta ? { addresses, meta } : { addresses };
}

export function writeAddr(w: ThriftWriter, a: ThriftAddr): void {
  w.fieldBegin(TType.STRING, 1).binary(a.stamp);
  w.fieldBegin(TType.STRUCT, 2);
  writeAddrVal(w, a.value);
  w.fieldStop();
}

/** The AddrVal union alone (namerd compares these bytes to suppress repeated answers). */
export function writeAddrVal(w: ThriftWriter, v: AddrVal): void {
  if (v.type === "bound") {
    w.fieldBegin(TType.STRUCT, 1);
    writeBoundAddr(w, v.bound);
  } else {
    w.fieldBegin(TType.STRUCT, 2);
    writeVoid(w);
  }
  w.fieldStop();
}

function readAddrVal(r: ThriftReader, depth: number): AddrVal {
  let v: AddrVal | undefined;
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRUCT) v = { type: "bound", bound: readBoundAddr(r, depth + 1) };
    else if (id === 2 && t === TType.STRUCT) {
      readVoid(r, depth + 1);
      v = { type: "neg" };
    } else return false;
    return true;
  });
  return required(v, "AddrVal: no known member set");
}

export function readAddr(r: ThriftReader, depth = 0): ThriftAddr {
  let stamp: Buffer = Buffer.alloc(0);
  let value: AddrVal | undefined;
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRING) stamp = r.binary();
    else if (id === 2 && t === TType.STRUCT) value = readAddrVal(r, depth + 1);
    else return false;
    return true;
  });
  return { stamp, value: required(value, "Addr.value") };
}

export function writeAddrFailure(w: ThriftWriter, f: AddrFailure): void {
  w.fieldBegin(TType.STRING, 1).string(f.reason);
  w.fieldBegin(TType.I32, 2).i32(f.retryInSeconds);
  if (f.name) {
    w.fieldBegin(TType.STRUCT, 3);
    writeNameRef(w, f.name);
  }
  w.fieldStop();
}

export function readAddrFailure(r: ThriftReader, depth = 0): AddrFailure {
  let reason = "";
  let retryInSeconds = 0;
  let name: NameRef | undefined;
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRING) reason = r.string();
    else if (id === 2 && t === TType.I32) retryInSeconds = r.i32();
    else if (id === 3 && t === TType.STRUCT) name = readNameRef(r, depth + 1);
    else return false;
    return true;
  });
  return name ? { reason, retryInSeconds, name } : { reason, retryInSeconds };
}

// ---------------------------------------------------------------------------------------------
// delegate

function writeDelegateContents(w: ThriftWriter, c: DelegateContents): void {
  switch (c.type) {
    case "error":
      w.fieldBegin(TType.STRING, 1).string(c.message);
      break;
    case "empty":
      w.fieldBegin(TType.STRUCT, 2);
      writeVoid(w);
      break;
    case "fail":
      w.fieldBegin(TType.STRUCT, 3);
      writeVoid(w);
      break;
    case "neg":
      w.fieldBegin(TType.STRUCT, 4);
      writeVoid(w);
      break;
    case "delegate":
      w.fieldBegin(TType.I32, 5).i32(c.id);
      break;
    case "boundLeaf":
      w.fieldBegin(TType.STRUCT, 6);
      writeBoundName(w, c.name);
      break;
    case "pathLeaf":
      w.fieldBegin(TType.LIST, 7);
      writePath(w, c.path);
      break;
    case "alt":
      w.fieldBegin(TType.LIST, 8);
      writeIds(w, c.ids);
      break;
    case "weighted":
      w.fieldBegin(TType.LIST, 9);
      writeWeighted(w, c.members);
      break;
    case "transformation":
      w.fieldBegin(TType.STRUCT, 10);
      w.fieldBegin(TType.STRUCT, 1);
      writeBoundName(w, c.value);
      w.fieldBegin(TType.I32, 2).i32(c.tree);
      w.fieldStop();
      break;
  }
  w.fieldStop();
}

function readDelegateContents(r: ThriftReader, depth: number): DelegateContents {
  let c: DelegateContents | undefined;
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRING) c = { type: "error", message: r.string() };
    else if (id >= 2 && id <= 4 && t === TType.STRUCT) {
      readVoid(r, depth + 1);
      c = { type: id === 2 ? "empty" : id === 3 ? "fail" : "neg" };
    } else if (id === 5 && t === TType.I32) c = { type: "delegate", id: r.i32() };
    else if (id === 6 && t === TType.STRUCT)
      c = { type: "boundLeaf", name: readBoundName(r, depth + 1) };
    else if (id === 7 && t === TType.LIST) c = { type: "pathLeaf", path: readPath(r) };
    else if (id === 8 && t === TType.LIST) c = { type: "alt", ids: readIds(r) };
    else if (id === 9 && t === TType.LIST)
      c = { type: "weighted", members: readWeighted(r, depth + 1) };
    else if (id === 10 && t === TType.STRUCT) {
      let value: BoundName = { id: Path.empty, residual: Path.empty };
      let tree = 0;
      readStruct(r, depth + 1, (t2, id2) => {
        if (id2 === 1 && t2 === TType.STRUCT) value = readBoundName(r, depth + 2);
        else if (id2 === 2 && t2 === TType.I32) tree = r.i32();
        else return false;
        return true;
      });
      c = { type: "transformation", value, tree };
    } else return false;
    return true;
  });
  return required(c, "DelegateContents: no known member set");
}

function writeDelegateNode(w: ThriftWriter, n: DelegateNode): void {
  w.fieldBegin(TType.LIST, 1);
  writePath(w, n.path);
  w.fieldBegin(TType.STRING, 2).string(n.dentry);
  w.fieldBegin(TType.STRUCT, 3);
  writeDelegateContents(w, n.contents);
  w.fieldStop();
}

function readDelegateNode(r: ThriftReader, depth: number): DelegateNode {
  let path = Path.empty;
  let dentry = "";
  let contents: DelegateContents | undefined;
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.LIST) path = readPath(r);
    else if (id === 2 && t === TType.STRING) dentry = r.string();
    else if (id === 3 && t === TType.STRUCT) contents = readDelegateContents(r, depth + 1);
    else return false;
    return true;
  });
  return { path, dentry, contents: required(contents, "DelegateNode.contents") };
}

function writeDelegateTree(w: ThriftWriter, t: ThriftDelegateTree): void {
  w.fieldBegin(TType.STRUCT, 1);
  writeDelegateNode(w, t.root);
  w.fieldBegin(TType.MAP, 2).mapBegin(TType.I32, TType.STRUCT, t.nodes.size);
  for (const [id, n] of t.nodes) {
    w.i32(id);
    writeDelegateNode(w, n);
  }
  w.fieldStop();
}

function readDelegateTree(r: ThriftReader, depth: number): ThriftDelegateTree {
  let root: DelegateNode | undefined;
  const nodes = new Map<number, DelegateNode>();
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRUCT) root = readDelegateNode(r, depth + 1);
    else if (id === 2 && t === TType.MAP) {
      const m = r.mapBegin();
      if (m.keyType !== TType.I32 || m.valueType !== TType.STRUCT)
        throw new ThriftProtocolError("DelegateTree.nodes: expected map<i32, DelegateNode>");
      for (let i = 0; i < m.size; i++) {
        const k = r.i32();
        nodes.set(k, readDelegateNode(r, depth + 1));
      }
    } else return false;
    return true;
  });
  return { root: required(root, "DelegateTree.root"), nodes };
}

export function writeDelegation(w: ThriftWriter, d: Delegation): void {
  w.fieldBegin(TType.STRING, 1).binary(d.stamp);
  w.fieldBegin(TType.STRUCT, 2);
  writeDelegateTree(w, d.tree);
  w.fieldBegin(TType.STRING, 3).string(d.ns);
  w.fieldStop();
}

export function readDelegation(r: ThriftReader, depth = 0): Delegation {
  let stamp: Buffer = Buffer.alloc(0);
  let tree: ThriftDelegateTree | undefined;
  let ns = "";
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRING) stamp = r.binary();
    else if (id === 2 && t === TType.STRUCT) tree = readDelegateTree(r, depth + 1);
    else if (id === 3 && t === TType.STRING) ns = r.string();
    else return false;
    return true;
  });
  return { stamp, tree: required(tree, "Delegation.tree"), ns };
}

export function writeDelegateReq(w: ThriftWriter, q: DelegateReq): void {
  w.fieldBegin(TType.STRING, 1).string(q.dtab);
  w.fieldBegin(TType.STRUCT, 2);
  writeDelegation(w, q.delegation);
  w.fieldBegin(TType.LIST, 3);
  writePath(w, q.clientId);
  w.fieldStop();
}

export function readDelegateReq(r: ThriftReader, depth = 0): DelegateReq {
  let dtab = "";
  let delegation: Delegation | undefined;
  let clientId = Path.empty;
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRING) dtab = r.string();
    else if (id === 2 && t === TType.STRUCT) delegation = readDelegation(r, depth + 1);
    else if (id === 3 && t === TType.LIST) clientId = readPath(r);
    else return false;
    return true;
  });
  return { dtab, delegation: required(delegation, "DelegateReq.delegation"), clientId };
}

function writeReason(w: ThriftWriter, f: { readonly reason: string }): void {
  w.fieldBegin(TType.STRING, 1).string(f.reason);
  w.fieldStop();
}

function readReason(r: ThriftReader, depth = 0): { reason: string } {
  let reason = "";
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRING) reason = r.string();
    else return false;
    return true;
  });
  return { reason };
}

// ---------------------------------------------------------------------------------------------
// dtab

export function writeDtabReq(w: ThriftWriter, q: DtabReq): void {
  w.fieldBegin(TType.STRING, 1).binary(q.stamp);
  w.fieldBegin(TType.STRING, 2).string(q.ns);
  w.fieldBegin(TType.LIST, 3);
  writePath(w, q.clientId);
  w.fieldStop();
}

export function readDtabReq(r: ThriftReader, depth = 0): DtabReq {
  let stamp: Buffer = Buffer.alloc(0);
  let ns = "";
  let clientId = Path.empty;
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRING) stamp = r.binary();
    else if (id === 2 && t === TType.STRING) ns = r.string();
    else if (id === 3 && t === TType.LIST) clientId = readPath(r);
    else return false;
    return true;
  });
  return { stamp, ns, clientId };
}

export function writeDtabRef(w: ThriftWriter, d: DtabRef): void {
  w.fieldBegin(TType.STRING, 1).binary(d.stamp);
  w.fieldBegin(TType.STRING, 2).string(d.dtab);
  w.fieldStop();
}

export function readDtabRef(r: ThriftReader, depth = 0): DtabRef {
  let stamp: Buffer = Buffer.alloc(0);
  let dtab = "";
  readStruct(r, depth, (t, id) => {
    if (id === 1 && t === TType.STRING) stamp = r.binary();
    else if (id === 2 && t === TType.STRING) dtab = r.string();
    else return false;
    return true;
  });
  return { stamp, dtab };
}

// ---------------------------------------------------------------------------------------------
// the Namer service: calls and replies

interface StructCodec<T> {
  write(w: ThriftWriter, v: T): void;
  read(r: ThriftReader, depth?: number): T;
}

export interface NamerMethod<Req, Rep, Fail> {
  readonly name: string;
  readonly req: StructCodec<Req>;
  readonly rep: StructCodec<Rep>;
  readonly failure: StructCodec<Fail>;
}

export const bindMethod: NamerMethod<BindReq, Bound, BindFailure> = {
  name: "bind",
  req: { write: writeBindReq, read: readBindReq },
  rep: { write: writeBound, read: readBound },
  failure: { write: writeBindFailure, read: readBindFailure },
};
export const addrMethod: NamerMethod<AddrReq, ThriftAddr, AddrFailure> = {
  name: "addr",
  req: { write: writeAddrReq, read: readAddrReq },
  rep: { write: writeAddr, read: readAddr },
  failure: { write: writeAddrFailure, read: readAddrFailure },
};
export const delegateMethod: NamerMethod<DelegateReq, Delegation, DelegationFailure> = {
  name: "delegate",
  req: { write: writeDelegateReq, read: readDelegateReq },
  rep: { write: writeDelegation, read: readDelegation },
  failure: { write: writeReason, read: readReason },
};
export const dtabMethod: NamerMethod<DtabReq, DtabRef, DtabFailure> = {
  name: "dtab",
  req: { write: writeDtabReq, read: readDtabReq },
  rep: { write: writeDtabRef, read: readDtabRef },
  failure: { write: writeReason, read: readReason },
};

/** A call message: `<method>_args { 1: req }`. */
export function encodeCall<Req>(
  m: NamerMethod<Req, unknown, unknown>,
  seqid: number,
  req: Req,
): Buffer {
  const w = new ThriftWriter();
  w.messageBegin(m.name, TMessageType.CALL, seqid);
  w.fieldBegin(TType.STRUCT, 1);
  m.req.write(w, req);
  w.fieldStop();
  return w.bytes();
}

export type DecodedCall =
  | { readonly method: "bind"; readonly seqid: number; readonly req: BindReq }
  | { readonly method: "addr"; readonly seqid: number; readonly req: AddrReq }
  | { readonly method: "delegate"; readonly seqid: number; readonly req: DelegateReq }
  | { readonly method: "dtab"; readonly seqid: number; readonly req: DtabReq };

/** A call's header alone (so a server can answer an undecodable call with its name and seqid). */
export function readCallHeader(buf: Buffer): { header: MessageHeader; reader: ThriftReader } {
  const reader = new ThriftReader(buf);
  const header = reader.messageBegin();
  return { header, reader };
}

const METHODS = new Map<string, NamerMethod<unknown, unknown, unknown>>(
  [bindMethod, addrMethod, delegateMethod, dtabMethod].map((m) => [
    m.name,
    m as NamerMethod<unknown, unknown, unknown>,
  ]),
);

/** The Namer method called `name`, if there is one. */
export function namerMethod(name: string): NamerMethod<unknown, unknown, unknown> | undefined {
  return METHODS.get(name);
}

/** Reads the args struct of a call whose header `readCallHeader` read. */
export function readCallArgs(header: MessageHeader, reader: ThriftReader): DecodedCall {
  if (header.type !== TMessageType.CALL && header.type !== TMessageType.ONEWAY)
    throw new ThriftProtocolError(`expected a CALL message, got type ${header.type}`);
  const m = namerMethod(header.name);
  if (!m) throw new ThriftProtocolError(`unknown method ${header.name}`);
  let req: unknown;
  readStruct(reader, 0, (t, id) => {
    if (id === 1 && t === TType.STRUCT) req = m.req.read(reader, 1);
    else return false;
    return true;
  });
  if (req === undefined) throw new ThriftProtocolError(`${header.name}: missing req`);
  return { method: header.name, seqid: header.seqid, req } as DecodedCall;
}

/** A REPLY carrying `<method>_result { 0: success }` or `{ 1: failure }`. */
export function encodeReply<Rep, Fail>(
  m: NamerMethod<unknown, Rep, Fail>,
  seqid: number,
  result: { readonly ok: Rep } | { readonly failure: Fail },
): Buffer {
  const w = new ThriftWriter();
  w.messageBegin(m.name, TMessageType.REPLY, seqid);
  if ("ok" in result) {
    w.fieldBegin(TType.STRUCT, 0);
    m.rep.write(w, result.ok);
  } else {
    w.fieldBegin(TType.STRUCT, 1);
    m.failure.write(w, result.failure);
  }
  w.fieldStop();
  return w.bytes();
}

/** An EXCEPTION message carrying a TApplicationException `{1: message, 2: type}`. */
export function encodeApplicationException(
  name: string,
  seqid: number,
  type: number,
  message: string,
): Buffer {
  const w = new ThriftWriter();
  w.messageBegin(name, TMessageType.EXCEPTION, seqid);
  w.fieldBegin(TType.STRING, 1).string(message);
  w.fieldBegin(TType.I32, 2).i32(type);
  w.fieldStop();
  return w.bytes();
}

export type Reply<Rep, Fail> =
  | { readonly kind: "ok"; readonly value: Rep }
  | { readonly kind: "failure"; readonly failure: Fail }
  | { readonly kind: "exception"; readonly error: TApplicationError };

/** Reads the answer to a call of `m`. Throws ThriftProtocolError when it is not one. */
export function decodeReply<Rep, Fail>(
  m: NamerMethod<unknown, Rep, Fail>,
  buf: Buffer,
): Reply<Rep, Fail> {
  const r = new ThriftReader(buf);
  const h = r.messageBegin();
  if (h.type === TMessageType.EXCEPTION) {
    let message = "";
    let type: number = TApplicationExceptionType.UNKNOWN;
    readStruct(r, 0, (t, id) => {
      if (id === 1 && t === TType.STRING) message = r.string();
      else if (id === 2 && t === TType.I32) type = r.i32();
      else return false;
      return true;
    });
    return { kind: "exception", error: new TApplicationError(message, type) };
  }
  if (h.type !== TMessageType.REPLY)
    throw new ThriftProtocolError(`expected a REPLY message, got type ${h.type}`);
  if (h.name !== m.name)
    throw new ThriftProtocolError(`expected a reply to ${m.name}, got one to ${h.name}`);
  let out: Reply<Rep, Fail> | undefined;
  readStruct(r, 0, (t, id) => {
    if (id === 0 && t === TType.STRUCT) out = { kind: "ok", value: m.rep.read(r, 1) };
    else if (id === 1 && t === TType.STRUCT)
      out = { kind: "failure", failure: m.failure.read(r, 1) };
    else return false;
    return true;
  });
  return (
    out ?? {
      kind: "exception",
      error: new TApplicationError(
        `${m.name} failed: unknown result`,
        TApplicationExceptionType.MISSING_RESULT,
      ),
    }
  );
}
