import { formatGoDuration, parseGoDuration } from "./go-duration.js";

/** The value kinds of Go's `flag` package that the demo uses, plus a repeatable string list. */
export type GoFlagType = "string" | "bool" | "duration" | "float" | "int" | "list";

/** Value type of each flag kind: durations are milliseconds, lists collect every occurrence. */
export interface GoFlagValueOf {
  string: string;
  bool: boolean;
  duration: number;
  float: number;
  int: number;
  list: string[];
}

/** One flag definition, like `flag.String(name, default, usage)`. */
export interface GoFlagDef<T extends GoFlagType = GoFlagType> {
  type: T;
  /** Value when the flag is absent (Go's default). */
  default: GoFlagValueOf[T];
  /** Help text printed by {@link formatGoFlagUsage}. */
  usage: string;
}

/** A set of flag definitions keyed by name (without dashes). */
export type GoFlagSpec = Record<string, GoFlagDef>;

/** Parsed values for a spec. */
export type GoFlagValues<S extends GoFlagSpec> = {
  [K in keyof S]: GoFlagValueOf[S[K]["type"]];
};

/** The outcome of {@link parseGoFlags}. */
export interface GoFlagResult<S extends GoFlagSpec> {
  values: GoFlagValues<S>;
  /** Arguments that are not flags (Go's `flag.Args()`). */
  positionals: string[];
  /** Names of the flags that were given on the command line (Go's `flag.Visit`). */
  given: ReadonlySet<string>;
}

/** Options of {@link parseGoFlags}. */
export interface ParseGoFlagsOptions {
  /**
   * Keep parsing flags after a positional argument. Go's `flag` package stops at the first
   * non-flag argument; default false (Go's behaviour).
   */
  interspersed?: boolean;
}

/** Why {@link parseGoFlags} rejected the command line. `help` means `-h`/`-help` was asked for. */
export type GoFlagErrorCode =
  | "help"
  | "undefined_flag"
  | "missing_argument"
  | "invalid_value"
  | "bad_syntax";

/** A command line rejected by {@link parseGoFlags}; the message is Go's wording. */
export class GoFlagError extends Error {
  constructor(
    readonly code: GoFlagErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "GoFlagError";
  }
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);
const GO_FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;
const GO_INT = /^[+-]?\d+$/;

function parseValue(type: GoFlagType, raw: string): GoFlagValueOf[GoFlagType] | undefined {
  switch (type) {
    case "string":
    case "list":
      return raw;
    case "bool":
      return GO_TRUE.has(raw) ? true : GO_FALSE.has(raw) ? false : undefined;
    case "duration":
      try {
        return parseGoDuration(raw);
      } catch {
        return undefined;
      }
    case "float":
      return GO_FLOAT.test(raw)
        ? Number(raw.replace(/^([+-]?)inf(inity)?$/i, "$1Infinity"))
        : undefined;
    case "int":
      return GO_INT.test(raw) ? Number.parseInt(raw, 10) : undefined;
  }
}

/**
 * Parses `argv` the way Go's `flag` package does: `-name=value`, `-name value`, `--name value`,
 * `--name=value`; bool flags take no separate argument (`-json`, `-json=false`); parsing stops at
 * `--` or at the first non-flag argument (unless `interspersed`). The last occurrence of a flag
 * wins, except `list` flags which collect every occurrence.
 *
 * Throws {@link GoFlagError} with Go's messages (`flag provided but not defined: -x`,
 * `flag needs an argument: -addr`, `invalid value "x" for flag -latency: parse error`).
 */
export function parseGoFlags<S extends GoFlagSpec>(
  argv: readonly string[],
  spec: S,
  opts: ParseGoFlagsOptions = {},
): GoFlagResult<S> {
  const values: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(spec)) {
    values[name] = Array.isArray(def.default) ? [...def.default] : def.default;
  }
  const given = new Set<string>();
  const positionals: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] as string;
    i++;
    if (arg.length < 2 || !arg.startsWith("-")) {
      positionals.push(arg);
      if (opts.interspersed) continue;
      positionals.push(...argv.slice(i));
      break;
    }
    let name = arg.slice(1);
    if (name.startsWith("-")) {
      name = name.slice(1);
      if (name === "") {
        positionals.push(...argv.slice(i));
        break;
      }
    }
    if (name.startsWith("-") || name.startsWith("=")) {
      throw new GoFlagError("bad_syntax", `bad flag syntax: ${arg}`);
    }
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const def = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (def === undefined) {
      if (name === "h" || name === "help") throw new GoFlagError("help", "flag: help requested");
      throw new GoFlagError("undefined_flag", `flag provided but not defined: -${name}`);
    }
    if (def.type === "bool") {
      if (value === undefined) {
        values[name] = true;
      } else {
        const b = parseValue("bool", value);
        if (b === undefined) {
          throw new GoFlagError(
            "invalid_value",
            `invalid boolean value ${JSON.stringify(value)} for -${name}: parse error`,
          );
        }
        values[name] = b;
      }
      given.add(name);
      continue;
    }
    if (value === undefined) {
      if (i >= argv.length)
        throw new GoFlagError("missing_argument", `flag needs an argument: -${name}`);
      value = argv[i] as string;
      i++;
    }
    const parsed = parseValue(def.type, value);
    if (parsed === undefined) {
      throw new GoFlagError(
        "invalid_value",
        `invalid value ${JSON.stringify(value)} for flag -${name}: parse error`,
      );
    }
    if (def.type === "list") {
      const list = given.has(name) ? (values[name] as string[]) : [];
      list.push(parsed as string);
      values[name] = list;
    } else {
      values[name] = parsed;
    }
    given.add(name);
  }
  return { values: values as GoFlagValues<S>, positionals, given };
}

const TYPE_NAMES: Readonly<Record<GoFlagType, string>> = {
  string: "string",
  bool: "",
  duration: "duration",
  float: "float",
  int: "int",
  list: "value",
};

function isZero(def: GoFlagDef): boolean {
  const d = def.default;
  return d === "" || d === 0 || d === false || (Array.isArray(d) && d.length === 0);
}

function showDefault(def: GoFlagDef): string {
  if (def.type === "string") return JSON.stringify(def.default);
  if (def.type === "duration") return formatGoDuration(def.default as number);
  return String(def.default);
}

/** Formats the flag list like Go's `flag.PrintDefaults()` (sorted by name). */
export function formatGoFlagUsage(spec: GoFlagSpec): string {
  return Object.keys(spec)
    .sort()
    .map((name) => {
      const def = spec[name] as GoFlagDef;
      const type = TYPE_NAMES[def.type];
      const head = `  -${name}${type === "" ? "" : ` ${type}`}`;
      const dflt = isZero(def) ? "" : ` (default ${showDefault(def)})`;
      return `${head}\n    \t${def.usage}${dflt}\n`;
    })
    .join("");
}
