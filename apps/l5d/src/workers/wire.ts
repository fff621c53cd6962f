/**
 * What the daemon's first process (the primary) and its workers say to each other over the
 * cluster IPC channel (JSON), and how bound trees and addresses travel in it. A bound tree goes
 * as its shape with each leaf's id and residual; a leaf's addresses go separately, once per
 * (router, id), so a worker's clients observe one address Var per bound id as they would with
 * local namers.
 */
import {
  Activity,
  type ActivityState,
  Addr,
  type Address,
  BindBudgetExceededError,
  Dentry,
  Dtab,
  NameBound,
  NamerExceededMaxDepthError,
  NameTree,
  Path,
  Prefix,
  type Var,
} from "@l5d/dtab";
import type { MetricData, RequestRecord } from "@l5d/h2-proxy";

/**
 * A bound tree on the wire: a NameTree (plain data already) whose leaves are a bound id's and
 * residual's path elements.
 */
export type WireTree = NameTree<{
  readonly id: readonly string[];
  readonly residual: readonly string[];
}>;

export type WireAddr =
  | { readonly type: "bound"; readonly addrs: readonly Address[]; readonly meta: object }
  | { readonly type: "neg" | "pending" }
  | { readonly type: "failed"; readonly cause: string };

/**
 * A dtab as its structure (a dentry's prefix elements, `null` for `*`, and its tree of paths):
 * lossless, unlike its text, whose union weights are printed with two decimals.
 */
export type WireDtab = ReadonlyArray<
  readonly [prefix: ReadonlyArray<string | null>, dst: WirePathTree]
>;

/** A dentry's tree on the wire: its leaves' path elements. */
export type WirePathTree = NameTree<readonly string[]>;

/** A binding's failure: its message, and which typed error it was (the router answers by type). */
export interface WireError {
  readonly message: string;
  readonly name?: string;
  readonly limit?: number;
}

export type WireActivity =
  | { readonly kind: "pending" }
  | { readonly kind: "ok"; readonly tree: WireTree }
  | { readonly kind: "failed"; readonly error: WireError };

/** One router's part of a worker's report. */
export interface RouterReport {
  readonly label: string;
  readonly servers: ReadonlyArray<{ ip: string; port: number; connections: number }>;
  readonly clients: ReadonlyArray<ClientReport>;
}

export interface ClientReport {
  readonly id: string;
  readonly addr: string;
  readonly endpoints: ReadonlyArray<Record<string, unknown> & { key: string }>;
}

/** Worker → primary. */
export type FromWorker =
  | { readonly l5d: "config?" }
  | { readonly l5d: "ready"; readonly servers: readonly ServerPort[] }
  | { readonly l5d: "startFailed"; readonly message: string }
  | {
      readonly l5d: "bind";
      readonly sub: number;
      readonly router: string;
      readonly dtab: WireDtab;
      readonly path: readonly string[];
    }
  | { readonly l5d: "unbind"; readonly sub: number }
  | {
      readonly l5d: "report";
      readonly req: number;
      readonly metrics: readonly MetricData[];
      readonly routers: readonly RouterReport[];
      /** What its `io.l5d.recentRequests` telemeters sampled, most recent first. */
      readonly recent: readonly RequestRecord[];
    };

/** Primary → worker. */
export type ToWorker =
  | { readonly l5d: "config"; readonly text: string }
  | { readonly l5d: "tree"; readonly sub: number; readonly state: WireActivity }
  | { readonly l5d: "addr"; readonly key: string; readonly addr: WireAddr }
  | { readonly l5d: "addrGone"; readonly key: string }
  | { readonly l5d: "report?"; readonly req: number }
  | { readonly l5d: "shutdown"; readonly graceMs: number };

export interface ServerPort {
  readonly router: string;
  readonly ip: string;
  readonly port: number;
}

/** Whether an IPC message is one of ours (node's cluster sends its own too). */
export function isWireMessage(m: unknown): m is { l5d: string } {
  return typeof m === "object" && m !== null && typeof (m as { l5d?: unknown }).l5d === "string";
}

/** The key of a bound id's addresses: the router (its interpreter) and the id. */
export function addrKey(router: string, id: Path): string {
  return `${router}\n${id.show}`;
}

/** How deep a tree from the other process may nest (what binding itself allows: 100 lookups). */
const MAX_NESTING = 100;

function nestedWithin(t: NameTree<unknown>, depth: number): boolean {
  if (depth > MAX_NESTING) return false;
  if (t.type === "alt") return t.trees.every((x) => nestedWithin(x, depth + 1));
  if (t.type === "union") return t.weighted.every((w) => nestedWithin(w.tree, depth + 1));
  return true;
}

export function treeToWire(tree: NameTree<NameBound>, leaf: (b: NameBound) => void): WireTree {
  return NameTree.map(tree, (b) => {
    leaf(b);
    return { id: b.id.elems, residual: b.residual.elems };
  });
}

export function treeFromWire(w: WireTree, addrOf: (id: Path) => Var<Addr>): NameTree<NameBound> {
  if (!nestedWithin(w, 0)) throw new Error("bound tree nested too deeply");
  return NameTree.map(w, (l) => {
    const id = Path.unsafeOf(l.id);
    return new NameBound(id, addrOf(id), Path.unsafeOf(l.residual));
  });
}

export function dtabToWire(d: Dtab): WireDtab {
  return d.dentries.map(
    (e) =>
      [
        e.prefix.elems.map((x) => (x.type === "any" ? null : x.value)),
        NameTree.map(e.dst, (p) => p.elems),
      ] as const,
  );
}

export function dtabFromWire(w: WireDtab): Dtab {
  return Dtab.of(
    ...w.map(([prefix, dst]) => {
      if (!nestedWithin(dst, 0)) throw new Error("dtab tree nested too deeply");
      return new Dentry(
        Prefix.of(...prefix.map((x) => (x === null ? Prefix.any : x))),
        NameTree.map(dst, (elems) => Path.of(...elems)),
      );
    }),
  );
}

export function errorToWire(e: Error): WireError {
  if (e instanceof NamerExceededMaxDepthError)
    return { message: e.message, name: e.name, limit: e.maxDepth };
  if (e instanceof BindBudgetExceededError)
    return { message: e.message, name: e.name, limit: e.maxLookups };
  return { message: e.message };
}

export function errorFromWire(w: WireError): Error {
  if (w.name === "NamerExceededMaxDepthError" && w.limit !== undefined)
    return new NamerExceededMaxDepthError(w.limit);
  if (w.name === "BindBudgetExceededError" && w.limit !== undefined)
    return new BindBudgetExceededError(w.limit);
  return new Error(w.message);
}

export function activityToWire(
  s: ActivityState<NameTree<NameBound>>,
  leaf: (b: NameBound) => void,
): WireActivity {
  if (s.kind === "ok") return { kind: "ok", tree: treeToWire(s.value, leaf) };
  if (s.kind === "failed") return { kind: "failed", error: errorToWire(s.error) };
  return { kind: "pending" };
}

export function activityFromWire(
  w: WireActivity,
  addrOf: (id: Path) => Var<Addr>,
): ActivityState<NameTree<NameBound>> {
  if (w.kind === "ok") return Activity.ok(treeFromWire(w.tree, addrOf));
  if (w.kind === "failed") return Activity.failed(errorFromWire(w.error));
  return Activity.pending;
}

export function addrToWire(a: Addr): WireAddr {
  if (a.type === "failed") return { type: "failed", cause: a.cause.message };
  return a;
}

export function addrFromWire(w: WireAddr): Addr {
  switch (w.type) {
    case "bound":
      return Addr.bound(w.addrs, w.meta as Record<string, unknown>);
    case "failed":
      return Addr.failed(new Error(w.cause));
    case "neg":
      return Addr.neg;
    default:
      return Addr.pending;
  }
}
