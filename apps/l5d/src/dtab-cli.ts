/**
 * `l5d dtab …`: inspect dtabs from the command line (parse/print, one lookup step, and the
 * full delegation explanation with system and rewriting namers).
 */
import {
  type Addr,
  createDefaultInterpreter,
  type DelegateTree,
  type Dentry,
  Dtab,
  DtabParseError,
  delegateRouting,
  delegateTreeToJsonString,
  isNopDentry,
  type NameBound,
  NameTree,
  Path,
} from "@l5d/dtab";

export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
}

export const DTAB_HELP = `Usage: l5d dtab <command> [options]

Commands:
  show '<dtab>'                          print the dtab in canonical (Finagle) form
  lookup --dtab '<dtab>' <path>          one lookup step: the tree the dtab rewrites <path> to
  delegate --dtab '<dtab>' [--json] <path>
                                         explain the full delegation of <path>: every dentry
                                         tried, ending in the bound addresses or the reason it
                                         is negative. System namers (/$/inet, /$/nil, /$/fail)
                                         and /$/io.buoyant.* rewriting namers are available.
                                         --json prints Linkerd's /delegator.json format.

Options:
  -d, --dtab <dtab>   the delegation table (default: empty)
  --json              (delegate) JSON output
  -h, --help          show this help

Examples:
  l5d dtab show '/svc=>/#/io.l5d.k8s/default/grpc; /grpc/World=>/srv/world-v1'
  l5d dtab lookup --dtab '/foo=>/a | /b;/foo=>/c' /foo/x
  l5d dtab delegate --dtab '/svc=>/$/inet/127.1/8080' /svc/hello
`;

/** A command-line usage error (exit code 2). */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliUsageError";
  }
}

interface Parsed {
  positional: string[];
  dtab: string | undefined;
  json: boolean;
  help: boolean;
}

function parseArgs(args: readonly string[], allowed: ReadonlySet<string>): Parsed {
  const out: Parsed = { positional: [], dtab: undefined, json: false, help: false };
  let onlyPositional = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (onlyPositional || !a.startsWith("-") || a === "-") {
      out.positional.push(a);
      continue;
    }
    if (a === "--") {
      onlyPositional = true;
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq > 0 && a.startsWith("--") ? a.slice(0, eq) : a;
    const inline = eq > 0 && a.startsWith("--") ? a.slice(eq + 1) : undefined;
    if (name === "-h" || name === "--help") {
      out.help = true;
    } else if ((name === "-d" || name === "--dtab") && allowed.has("dtab")) {
      const v = inline ?? args[++i];
      if (v === undefined) throw new CliUsageError(`option ${name} needs a value`);
      out.dtab = out.dtab === undefined ? v : `${out.dtab};${v}`;
    } else if (name === "--json" && allowed.has("json")) {
      if (inline !== undefined) throw new CliUsageError("option --json takes no value");
      out.json = true;
    } else {
      throw new CliUsageError(`unknown option: ${a}`);
    }
  }
  return out;
}

/** The parse error message followed by the offending line and a caret under the character. */
export function formatParseError(what: string, e: DtabParseError): string {
  const text = e.input;
  const lineStart = text.lastIndexOf("\n", e.index - 1) + 1;
  let lineEnd = text.indexOf("\n", e.index);
  if (lineEnd < 0) lineEnd = text.length;
  const line = text.slice(lineStart, lineEnd);
  const col = e.index - lineStart;
  const lineNo = text.slice(0, lineStart).split("\n").length;
  const where = text.includes("\n")
    ? ` (line ${lineNo}, column ${col + 1})`
    : ` (column ${col + 1})`;
  return `invalid ${what}${where}: ${e.message}\n  ${line}\n  ${" ".repeat(col)}^\n`;
}

function parseOr<T>(what: string, f: () => T, io: CliIo): T | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof DtabParseError) {
      io.stderr(formatParseError(what, e));
      return undefined;
    }
    throw e;
  }
}

function showAddr(a: Addr | undefined): string {
  if (!a) return "addresses unknown";
  switch (a.type) {
    case "bound":
      return a.addrs.length === 0
        ? "no addresses (empty set: routing fails with no hosts, there is no dtab fallback)"
        : `addresses ${a.addrs.map((x) => `${x.host.includes(":") ? `[${x.host}]` : x.host}:${x.port}`).join(", ")}`;
    case "neg":
      return "addresses negative (host unknown)";
    case "failed":
      return `address resolution failed: ${a.cause.message}`;
    case "pending":
      return "addresses pending";
  }
}

function via(d: Dentry): string {
  return isNopDentry(d) ? "" : `  via ${d.show}`;
}

function describe(t: DelegateTree<NameBound>): string {
  switch (t.type) {
    case "exception":
      return `${t.path.show}${via(t.dentry)}  ! error: ${t.error.message}`;
    case "empty":
      return `${t.path.show}${via(t.dentry)}  $ empty (exists, no endpoints; stops fallback)`;
    case "fail":
      return `${t.path.show}${via(t.dentry)}  ! fail (stops fallback)`;
    case "neg":
      return `${t.path.isEmpty ? "~" : t.path.show}${via(t.dentry)}  ~ negative (nothing matches; falls back)`;
    case "delegate":
      return `${t.path.show}${via(t.dentry)}`;
    case "alt":
      return `${t.path.show}${via(t.dentry)}  | alternatives, first non-negative wins`;
    case "union":
      return `${t.path.show}${via(t.dentry)}  & union, load-balanced by weight`;
    case "leaf":
      return `${t.path.show}${via(t.dentry)}  => bound ${t.value.id.show}${t.value.residual.isEmpty ? "" : ` residual ${t.value.residual.show}`}, ${showAddr(t.addr)}`;
    case "transformation":
      return `${t.path.show}  transformed by ${t.name}`;
  }
}

function children(t: DelegateTree<NameBound>): { label: string; tree: DelegateTree<NameBound> }[] {
  switch (t.type) {
    case "delegate":
    case "transformation":
      return [{ label: "", tree: t.tree }];
    case "alt":
      return t.trees.map((tree) => ({ label: "", tree }));
    case "union":
      return t.weighted.map((w) => ({ label: `${w.weight}× `, tree: w.tree }));
    default:
      return [];
  }
}

/** The explanation as an indented tree; `*` marks the branches routing uses. */
export function renderDelegateTree(root: DelegateTree<NameBound>): string {
  const lines: string[] = [];
  const rec = (
    t: DelegateTree<NameBound>,
    prefix: string,
    connector: string,
    label: string,
  ): void => {
    lines.push(`${prefix}${connector}${t.selected ? "* " : ""}${label}${describe(t)}`);
    const kids = children(t);
    const childPrefix = prefix + (connector === "" ? "" : connector === "└─ " ? "   " : "│  ");
    kids.forEach((k, i) => {
      rec(k.tree, childPrefix, i === kids.length - 1 ? "└─ " : "├─ ", k.label);
    });
  };
  rec(root, "", "", "");
  return lines.join("\n") + "\n";
}

function collectLeaves(
  t: DelegateTree<NameBound>,
  out: Map<string, DelegateTree<NameBound>>,
): void {
  if (!t.selected) return;
  if (t.type === "leaf") out.set(t.value.id.show, t);
  for (const c of children(t)) collectLeaves(c.tree, out);
}

function renderResult(path: Path, root: DelegateTree<NameBound>): string {
  const r = delegateRouting(root);
  if (r.kind === "failed") return `result: binding ${path.show} fails: ${r.error.message}\n`;
  if (r.kind === "pending") return `result: pending\n`;
  const tree = r.value;
  switch (tree.type) {
    case "neg":
      return `result: ${path.show} is negative: no dentry rewrites it to a name a namer binds (every branch above is ~)\n`;
    case "fail":
      return `result: ${path.show} fails: a ! (or /$/fail) was reached before any bound name\n`;
    case "empty":
      return `result: ${path.show} is empty ($ or /$/nil): it exists but has no endpoints\n`;
    default: {
      const leaves = new Map<string, DelegateTree<NameBound>>();
      collectLeaves(root, leaves);
      const out = [`result: ${NameTree.show(tree)}`];
      for (const [id, leaf] of leaves) {
        if (leaf.type === "leaf") out.push(`  ${id}: ${showAddr(leaf.addr)}`);
      }
      return out.join("\n") + "\n";
    }
  }
}

async function cmdDelegate(p: Parsed, io: CliIo): Promise<number> {
  if (p.positional.length !== 1) throw new CliUsageError("delegate needs exactly one <path>");
  const dtab = parseOr("dtab", () => Dtab.read(p.dtab ?? ""), io);
  if (!dtab) return 1;
  const path = parseOr("path", () => Path.read(p.positional[0]!), io);
  if (!path) return 1;
  const interpreter = createDefaultInterpreter([], { delegateTimeoutMs: 5_000 });
  let tree: DelegateTree<NameBound>;
  try {
    tree = await interpreter.delegate(dtab, path);
  } catch (e) {
    io.stderr(`delegation of ${path.show} failed: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  if (p.json) {
    io.stdout(delegateTreeToJsonString(tree) + "\n");
    return 0;
  }
  io.stdout(renderDelegateTree(tree));
  io.stdout(renderResult(path, tree));
  return 0;
}

/** Runs `l5d dtab <args…>`; returns the exit code (0 ok, 1 invalid input, 2 usage error). */
export async function runDtabCli(args: string[], io: CliIo): Promise<number> {
  const [cmd, ...rest] = args;
  try {
    switch (cmd) {
      case undefined:
      case "-h":
      case "--help":
      case "help":
        if (cmd === undefined) {
          io.stderr(DTAB_HELP);
          return 2;
        }
        io.stdout(DTAB_HELP);
        return 0;
      case "show": {
        const p = parseArgs(rest, new Set());
        if (p.help) return help(io);
        if (p.positional.length !== 1)
          throw new CliUsageError("show needs exactly one '<dtab>' argument");
        const dtab = parseOr("dtab", () => Dtab.read(p.positional[0]!), io);
        if (!dtab) return 1;
        io.stdout(dtab.show + "\n");
        return 0;
      }
      case "lookup": {
        const p = parseArgs(rest, new Set(["dtab"]));
        if (p.help) return help(io);
        if (p.positional.length !== 1) throw new CliUsageError("lookup needs exactly one <path>");
        const dtab = parseOr("dtab", () => Dtab.read(p.dtab ?? ""), io);
        if (!dtab) return 1;
        const path = parseOr("path", () => Path.read(p.positional[0]!), io);
        if (!path) return 1;
        io.stdout(NameTree.show(dtab.lookup(path)) + "\n");
        return 0;
      }
      case "delegate": {
        const p = parseArgs(rest, new Set(["dtab", "json"]));
        if (p.help) return help(io);
        return await cmdDelegate(p, io);
      }
      default:
        throw new CliUsageError(`unknown dtab command: ${cmd}`);
    }
  } catch (e) {
    if (e instanceof CliUsageError) {
      io.stderr(`l5d dtab: ${e.message}\nRun 'l5d dtab --help' for usage.\n`);
      return 2;
    }
    throw e;
  }
}

function help(io: CliIo): number {
  io.stdout(DTAB_HELP);
  return 0;
}
