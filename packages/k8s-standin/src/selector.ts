/** Label and field selectors (the equality- and set-based subset the stand-in supports). */
import type { K8sObject } from "./types.js";

type Requirement = (labels: Readonly<Record<string, string>>) => boolean;

/** Thrown for a selector the stand-in cannot parse (answered as 400). */
export class SelectorParseError extends Error {
  override readonly name = "SelectorParseError";
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t.length > 0);
}

function parseTerm(term: string): Requirement {
  let m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term);
  if (m) {
    const [, key = "", op, value = ""] = m;
    return op === "!=" ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  m = /^([\w./-]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (m) {
    const [, key = "", op, list = ""] = m;
    const values = new Set(list.split(",").map((v) => v.trim()));
    return op === "in"
      ? (l) => l[key] !== undefined && values.has(l[key])
      : (l) => l[key] === undefined || !values.has(l[key]);
  }
  m = /^(!?)([\w./-]+)$/.exec(term);
  if (m) {
    const [, neg, key = ""] = m;
    return neg ? (l) => l[key] === undefined : (l) => l[key] !== undefined;
  }
  throw new SelectorParseError(`unable to parse requirement: ${term}`);
}

/** Parses a `labelSelector` query value into a predicate over objects. */
export function parseLabelSelector(text: string | null | undefined): (o: K8sObject) => boolean {
  if (!text) return () => true;
  const reqs = splitTerms(text).map(parseTerm);
  return (o) => {
    const labels = o.metadata.labels ?? {};
    return reqs.every((r) => r(labels));
  };
}

/** Parses a `fieldSelector` (only `metadata.name` and `metadata.namespace`, `=`/`==`/`!=`). */
export function parseFieldSelector(text: string | null | undefined): (o: K8sObject) => boolean {
  if (!text) return () => true;
  const reqs = splitTerms(text).map((term) => {
    const m = /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new SelectorParseError(`field label not supported: ${term}`);
    const [, field, op, value] = m;
    const get = (o: K8sObject) =>
      field === "metadata.name" ? o.metadata.name : o.metadata.namespace;
    return op === "!=" ? (o: K8sObject) => get(o) !== value : (o: K8sObject) => get(o) === value;
  });
  return (o) => reqs.every((r) => r(o));
}
