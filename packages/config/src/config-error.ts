/** Config errors, listed by key path (`routers[0].identifier.segments: expected a positive integer`). */

export interface ConfigError {
  /** Key path in the config, e.g. `routers[0].servers[1].port`; empty for whole-file errors. */
  readonly path: string;
  readonly message: string;
  /** 1-based line of the offending node in the YAML text, when known. */
  readonly line?: number;
  /** 1-based column, when known. */
  readonly column?: number;
}

/** A key path as a list of keys and indexes. */
export type KeyPath = readonly (string | number | symbol)[];

/** `["routers", 0, "identifier"]` → `routers[0].identifier`. */
export function showKeyPath(path: KeyPath): string {
  let out = "";
  for (const k of path) {
    if (typeof k === "number") out += `[${k}]`;
    else out += out === "" ? String(k) : `.${String(k)}`;
  }
  return out;
}

/** Joins a base path and a relative one: `joinPath("namers[0]", "kind")` → `namers[0].kind`. */
export function joinPath(base: string, rel: string): string {
  if (base === "") return rel;
  if (rel === "") return base;
  return rel.startsWith("[") ? base + rel : `${base}.${rel}`;
}

export interface FormatOptions {
  /** Append ` (line N)` when the error knows its line. Default false. */
  readonly lines?: boolean;
}

/** One error per line: `path: message` (or just the message for whole-file errors). */
export function formatConfigErrors(
  errors: readonly ConfigError[],
  opts: FormatOptions = {},
): string {
  return errors
    .map((e) => {
      const where = opts.lines && e.line !== undefined && e.path !== "" ? ` (line ${e.line})` : "";
      return (e.path === "" ? e.message : `${e.path}: ${e.message}`) + where;
    })
    .join("\n");
}

/** Thrown by `loadLinkerdConfig`-style helpers that prefer exceptions; carries every error. */
export class ConfigValidationError extends Error {
  constructor(readonly errors: readonly ConfigError[]) {
    super(formatConfigErrors(errors));
    this.name = "ConfigValidationError";
  }
}
