/**
 * Linkerd's `/delegator.json` rendering of a DelegateTree (DelegateApiHandler's
 * JsonDelegateTree, serialised by Jackson).
 */
import type { Addr } from "./addr.js";
import type { DelegateTree } from "./delegate-tree.js";
import { isNopDentry } from "./delegate-tree.js";
import type { Dentry } from "./dtab.js";
import type { NameBound } from "./name.js";
import { NameTree } from "./name-tree.js";
import { Path } from "./path.js";

export interface DelegateJsonOptions {
  /** Add `"selected": true` to the nodes routing uses (not part of Linkerd's format). */
  readonly includeSelected?: boolean;
}

/** A JSON weight: serialised as Java's Double.toString (`1.0`, `0.5`, `1.0E7`). */
export class JsonDouble {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

const FAIL_PREFIX = Path.of("$", "fail");

function dentryJson(d: Dentry): Record<string, string> | undefined {
  return isNopDentry(d) ? undefined : { prefix: d.prefix.show, dst: NameTree.show(d.dst) };
}

/** An Addr as Linkerd's JSON (`/api/1/addr`, the `addr` of a bound leaf). */
export function addrToJson(a: Addr): Record<string, unknown> {
  switch (a.type) {
    case "bound":
      return {
        type: "bound",
        // a weight travels in the metadata, under Finagle's key, as Linkerd's namerd sends it
        addrs: a.addrs.map((x) => ({
          ip: x.host,
          port: x.port,
          meta:
            x.weight === undefined ? { ...x.meta } : { ...x.meta, endpoint_addr_weight: x.weight },
        })),
        meta: { ...a.meta },
      };
    case "failed":
      return { type: "failed", cause: a.cause.message };
    case "neg":
      return { type: "neg" };
    case "pending":
      return { type: "pending" };
  }
}

function boundJson(b: NameBound, addr: Addr | undefined): Record<string, unknown> {
  return { addr: addrToJson(addr ?? b.addr.sample()), id: b.id.show, path: b.residual.show };
}

function node(
  type: string,
  path: string,
  dentry: Dentry | undefined,
  rest: Record<string, unknown>,
  selected: boolean | undefined,
  opts: DelegateJsonOptions,
): Record<string, unknown> {
  const out: Record<string, unknown> = { type, path };
  const d = dentry && dentryJson(dentry);
  if (d) out.dentry = d;
  Object.assign(out, rest);
  if (opts.includeSelected && selected) out.selected = true;
  return out;
}

/** The tree as Linkerd's `/delegator.json` object (weights as JsonDouble). */
export function delegateTreeToJson(
  tree: DelegateTree<NameBound>,
  opts: DelegateJsonOptions = {},
): Record<string, unknown> {
  const rec = (t: DelegateTree<NameBound>): Record<string, unknown> => {
    switch (t.type) {
      case "exception":
        return node(
          "exception",
          t.path.show,
          t.dentry,
          { message: t.error.message },
          t.selected,
          opts,
        );
      case "empty":
        return node("empty", t.path.show, t.dentry, {}, t.selected, opts);
      case "fail":
        return node(
          "fail",
          t.path.startsWith(FAIL_PREFIX) ? t.path.show : "!",
          t.dentry,
          {},
          t.selected,
          opts,
        );
      case "neg":
        return node("neg", t.path.isEmpty ? "~" : t.path.show, t.dentry, {}, t.selected, opts);
      case "delegate":
        return node("delegate", t.path.show, t.dentry, { delegate: rec(t.tree) }, t.selected, opts);
      case "alt":
        return node("alt", t.path.show, t.dentry, { alt: t.trees.map(rec) }, t.selected, opts);
      case "union":
        return node(
          "union",
          t.path.show,
          t.dentry,
          {
            union: t.weighted.map((w) => ({ weight: new JsonDouble(w.weight), tree: rec(w.tree) })),
          },
          t.selected,
          opts,
        );
      case "leaf":
        return node(
          "leaf",
          t.path.show,
          t.dentry,
          { bound: boundJson(t.value, t.addr) },
          t.selected,
          opts,
        );
      case "transformation": {
        const out: Record<string, unknown> = {
          type: "transformation",
          path: t.path.show,
          name: t.name,
          bound: boundJson(t.value, t.addr),
          tree: rec(t.tree),
        };
        if (opts.includeSelected && t.selected) out.selected = true;
        return out;
      }
    }
  };
  return rec(tree);
}

/** Java's `Double.toString` (what Jackson writes for a double). */
export function javaDoubleToString(d: number): string {
  if (Number.isNaN(d)) return "NaN";
  if (d === Number.POSITIVE_INFINITY) return "Infinity";
  if (d === Number.NEGATIVE_INFINITY) return "-Infinity";
  if (d === 0) return Object.is(d, -0) ? "-0.0" : "0.0";
  const abs = Math.abs(d);
  const sign = d < 0 ? "-" : "";
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(abs);
    return sign + (s.includes(".") ? s : s + ".0");
  }
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(abs.toExponential());
  if (!m) return String(d);
  return `${sign}${m[1]}.${m[2] ?? "0"}E${Number(m[3])}`;
}

function stringify(v: unknown): string {
  if (v instanceof JsonDouble) return javaDoubleToString(v.value);
  if (Array.isArray(v)) return "[" + v.map(stringify).join(",") + "]";
  if (v !== null && typeof v === "object") {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue;
      parts.push(JSON.stringify(k) + ":" + stringify(x));
    }
    return "{" + parts.join(",") + "}";
  }
  return JSON.stringify(v) ?? "null";
}

/** The exact `/delegator.json` response body text (Jackson formatting of weights included). */
export function delegateTreeToJsonString(
  tree: DelegateTree<NameBound>,
  opts: DelegateJsonOptions = {},
): string {
  return stringify(delegateTreeToJson(tree, opts));
}
