/**
 * YAML loading with Linkerd's strictness: duplicate keys are errors (Linkerd ≥1.0.1), syntax
 * errors carry line:column, and every error is collected rather than the first one thrown.
 */
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import { type ConfigError, type KeyPath, showKeyPath } from "./config-error.js";

export interface LoadedYaml {
  /** The plain JS value of the document (maps → objects, sequences → arrays). */
  readonly value: unknown;
  /** Errors found while reading (duplicate keys, syntax). A non-empty list means invalid. */
  readonly errors: readonly ConfigError[];
  /** Whether `value` is usable for further validation (false after syntax errors). */
  readonly usable: boolean;
  /** The 1-based line and column of the node at a key path (or of its nearest ancestor). */
  locate(path: KeyPath): { line: number; column: number } | undefined;
}

function firstLine(message: string): string {
  const cut = message.search(/ at line \d+, column \d+/);
  const head = cut >= 0 ? message.slice(0, cut) : (message.split("\n")[0] ?? message);
  return head.trim();
}

/** Finds the key path of the map key starting at `offset`. */
function keyPathAt(doc: Document, offset: number): KeyPath | undefined {
  const walk = (node: unknown, path: (string | number)[]): KeyPath | undefined => {
    if (isMap(node)) {
      for (const item of node.items) {
        if (!isPair(item)) continue;
        const key = item.key;
        const keyText = isScalar(key) ? String(key.value) : String(key);
        if (isScalar(key) && key.range?.[0] === offset) return [...path, keyText];
        const found = walk(item.value, [...path, keyText]);
        if (found) return found;
      }
    } else if (isSeq(node)) {
      for (let i = 0; i < node.items.length; i++) {
        const found = walk(node.items[i], [...path, i]);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk(doc.contents, []);
}

/** Parses YAML text into a plain value, collecting duplicate-key and syntax errors. */
export function loadYaml(text: string): LoadedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, lineCounter, prettyErrors: true });
  const errors: ConfigError[] = [];
  let syntax = false;
  for (const e of doc.errors) {
    const pos = lineCounter.linePos(e.pos[0]);
    if (e.code === "DUPLICATE_KEY") {
      const keyPath = keyPathAt(doc, e.pos[0]);
      const keyText = text.slice(e.pos[0], e.pos[1]).trim() || "?";
      const name = keyPath && keyPath.length > 0 ? String(keyPath[keyPath.length - 1]) : keyText;
      errors.push({
        path: keyPath ? showKeyPath(keyPath) : "",
        message: `duplicate key '${name}' (line ${pos.line}, column ${pos.col})`,
        line: pos.line,
        column: pos.col,
      });
    } else {
      syntax = true;
      errors.push({
        path: "",
        message: `YAML syntax error at line ${pos.line}:${pos.col}: ${firstLine(e.message)}`,
        line: pos.line,
        column: pos.col,
      });
    }
  }
  let value: unknown;
  if (!syntax) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      syntax = true;
      errors.push({
        path: "",
        message: `YAML error: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  }
  const locate = (path: KeyPath): { line: number; column: number } | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const keys = path.slice(0, n).filter((k): k is string | number => typeof k !== "symbol");
      const node = n === 0 ? doc.contents : doc.getIn(keys, true);
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      if (range) {
        const p = lineCounter.linePos(range[0]);
        return { line: p.line, column: p.col };
      }
    }
    return undefined;
  };
  return { value, errors, usable: !syntax, locate };
}
