/**
 * `l5d namerctl …`: namerd's command-line client, compatible with BuoyantIO's namerctl
 * commands and flags, speaking namerd's HTTP API (`io.l5d.httpController`).
 *
 *   dtab list                      the namespaces
 *   dtab get <ns>                  the dtab (with its version as a comment)
 *   dtab create <ns> <file|->      POST; fails if it exists
 *   dtab update <ns> <file|->      PUT with If-Match: the version read just before (or --version)
 *   dtab delete <ns>
 *
 * `--base-url` (default `http://localhost:4180`, or `$NAMERCTL_BASE_URL`), `--json`.
 */
import { readFileSync } from "node:fs";
import { Dtab, NameTree } from "@l5d/dtab";

export interface NamerctlIo {
  stdout(s: string): void;
  stderr(s: string): void;
  readStdin?(): string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export const NAMERCTL_DEFAULT_BASE_URL = "http://localhost:4180";

export const NAMERCTL_HELP = `Usage: l5d namerctl dtab <command> [flags]

Commands:
  dtab list                       list the dtab namespaces
  dtab get <namespace>            print a namespace's dtab (its version as a '# version' comment)
  dtab create <namespace> <file>  create a namespace from a dtab file ('-': standard input)
  dtab update <namespace> <file>  replace a namespace's dtab; refused if it changed since it was
                                  read (or since --version), so concurrent edits never overwrite
  dtab delete <namespace>         delete a namespace

Flags:
  --base-url <url>   namerd's HTTP API (default ${NAMERCTL_DEFAULT_BASE_URL}, or $NAMERCTL_BASE_URL)
  --json             JSON output (list, get) and JSON input (create, update)
  --version <v>      (update) the version the edit was based on, as 'dtab get' printed it
  -h, --help         show this help
`;

interface Parsed {
  readonly positional: string[];
  readonly baseUrl: string | undefined;
  readonly json: boolean;
  readonly version: string | undefined;
  readonly help: boolean;
}

class UsageError extends Error {}

function parse(args: readonly string[]): Parsed {
  const positional: string[] = [];
  let baseUrl: string | undefined;
  let json = false;
  let version: string | undefined;
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (name: string) => {
      const eq = a.indexOf("=");
      if (eq > 0) return a.slice(eq + 1);
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (a === "-h" || a === "--help" || a === "help") help = true;
    else if (a === "--json") json = true;
    else if (a === "--base-url" || a.startsWith("--base-url=")) baseUrl = value("--base-url");
    else if (a === "--version" || a.startsWith("--version=")) version = value("--version");
    else if (a.startsWith("-") && a !== "-") throw new UsageError(`unknown flag ${a}`);
    else positional.push(a);
  }
  return { positional, baseUrl, json, version, help };
}

/** Runs one namerctl command; resolves with the exit code. */
export async function runNamerctl(args: readonly string[], io: NamerctlIo): Promise<number> {
  let p: Parsed;
  try {
    p = parse(args);
  } catch (e) {
    io.stderr(`namerctl: ${(e as Error).message}\n${NAMERCTL_HELP}`);
    return 2;
  }
  if (p.help || p.positional.length === 0) {
    (p.help ? io.stdout : io.stderr)(NAMERCTL_HELP);
    return p.help ? 0 : 2;
  }
  const base = (p.baseUrl ?? io.env?.NAMERCTL_BASE_URL ?? NAMERCTL_DEFAULT_BASE_URL).replace(
    /\/+$/,
    "",
  );
  const [group, cmd, ns, file] = p.positional;
  if (group !== "dtab") {
    io.stderr(`namerctl: unknown command '${group}'\n${NAMERCTL_HELP}`);
    return 2;
  }
  const need = (n: number, usage: string) => {
    if (p.positional.length !== n) throw new UsageError(`usage: l5d namerctl ${usage}`);
  };
  const url = (name?: string) =>
    `${base}/api/1/dtabs${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;
  try {
    switch (cmd) {
      case "list": {
        need(2, "dtab list");
        const r = await call(url(), {});
        const names = (await expectOk(r, "list")) as string[];
        io.stdout(p.json ? `${JSON.stringify(names)}\n` : names.map((n) => `${n}\n`).join(""));
        return 0;
      }
      case "get": {
        need(3, "dtab get <namespace>");
        const r = await call(url(ns), { headers: { accept: "application/dtab" } });
        if (r.status === 404) throw new Error(`namespace '${ns}' does not exist`);
        const text = await expectText(r, "get");
        const dtab = Dtab.read(text);
        const version = r.headers.get("etag") ?? "";
        if (p.json) {
          const entries = dtab.dentries.map((d) => ({
            prefix: d.prefix.show,
            dst: NameTree.show(d.dst),
          }));
          io.stdout(`${JSON.stringify({ namespace: ns, version, dtab: entries })}\n`);
        } else {
          io.stdout(
            `# version ${version}\n${dtab.dentries.map((d) => `${d.prefix.show} => ${NameTree.show(d.dst)};\n`).join("")}`,
          );
        }
        return 0;
      }
      case "create":
      case "update": {
        need(4, `dtab ${cmd} <namespace> <file>`);
        const body =
          file === "-"
            ? (io.readStdin ?? (() => readFileSync(0, "utf8")))()
            : readFileSync(file!, "utf8");
        const contentType = p.json ? "application/json" : "application/dtab";
        if (cmd === "create") {
          const r = await call(url(ns), {
            method: "POST",
            body,
            headers: { "content-type": contentType },
          });
          if (r.status === 409)
            throw new Error(`namespace '${ns}' already exists (use 'dtab update')`);
          await expectNoContent(r, "create");
          io.stdout(`created ${ns}\n`);
          return 0;
        }
        let version = p.version;
        if (version === undefined) {
          const head = await call(url(ns), { method: "HEAD" });
          if (head.status === 404)
            throw new Error(`namespace '${ns}' does not exist (use 'dtab create')`);
          version = head.headers.get("etag") ?? undefined;
        }
        const headers: Record<string, string> = { "content-type": contentType };
        if (version !== undefined) headers["if-match"] = version;
        const r = await call(url(ns), { method: "PUT", body, headers });
        if (r.status === 412)
          throw new Error(
            `namespace '${ns}' changed since version ${version}; read it again and retry`,
          );
        if (r.status === 404)
          throw new Error(`namespace '${ns}' does not exist (use 'dtab create')`);
        await expectNoContent(r, "update");
        io.stdout(`updated ${ns}\n`);
        return 0;
      }
      case "delete": {
        need(3, "dtab delete <namespace>");
        const r = await call(url(ns), { method: "DELETE" });
        if (r.status === 404) throw new Error(`namespace '${ns}' does not exist`);
        await expectNoContent(r, "delete");
        io.stdout(`deleted ${ns}\n`);
        return 0;
      }
      default:
        throw new UsageError(`unknown dtab command '${cmd ?? ""}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`namerctl: ${e.message}\n`);
      return 2;
    }
    io.stderr(`namerctl: ${(e as Error).message}\n`);
    return 1;
  }
}

async function call(u: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(u, { ...init, signal: AbortSignal.timeout(15_000) });
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    throw new Error(
      `cannot reach namerd at ${new URL(u).origin}: ${cause ?? (e as Error).message}`,
    );
  }
}

async function expectText(r: Response, what: string): Promise<string> {
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${what} failed: ${r.status} ${text.trim()}`);
  return text;
}

async function expectOk(r: Response, what: string): Promise<unknown> {
  return JSON.parse(await expectText(r, what));
}

async function expectNoContent(r: Response, what: string): Promise<void> {
  if (r.status === 204 || r.status === 200) return;
  throw new Error(`${what} failed: ${r.status} ${(await r.text()).trim()}`);
}
