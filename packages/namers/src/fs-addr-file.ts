/**
 * io.l5d.fs address files: one `host port`, `host port * weight` or `host port weight` per
 * line, `#` comments, blank lines ignored. Unlike Linkerd (which fails the whole address on
 * one bad line), malformed lines are reported and the good ones kept.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { type Address, address } from "@l5d/dtab";

export interface FsLineError {
  /** The file, relative to rootDir. */
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  readonly text: string;
  readonly message: string;
}

export interface FsAddrLine {
  readonly host: string;
  readonly port: number;
  readonly weight?: number;
  readonly line: number;
}

/** `file:line: message ('text')`. */
export function showFsLineError(e: FsLineError): string {
  return `${e.file}:${e.line}: ${e.message} ('${e.text}')`;
}

function parsePort(s: string): number | undefined {
  if (!/^\d{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n > 0 && n <= 65535 ? n : undefined;
}

function parseWeight(s: string): number | undefined {
  if (!/^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

type LineResult = { host: string; port: number; weight?: number } | { error: string };

function parseLine(body: string): LineResult {
  const t = body.split(/\s+/);
  let host = t[0] ?? "";
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (t.length < 2 || t.length > 4)
    return { error: "malformed address: expected 'host port [* weight]'" };
  const port = parsePort(t[1] ?? "");
  if (port === undefined) return { error: `malformed address: bad port '${t[1]}'` };
  if (t.length === 2) return { host, port };
  if (t.length === 4 && t[2] !== "*")
    return { error: "malformed address: expected 'host port * weight'" };
  const w = t[t.length - 1] ?? "";
  const weight = parseWeight(w);
  if (weight === undefined) return { error: `malformed address: bad weight '${w}'` };
  return { host, port, weight };
}

/** Parses an address file's text; never throws. */
export function parseAddrFile(
  text: string,
  file: string,
): { lines: FsAddrLine[]; errors: FsLineError[] } {
  const lines: FsAddrLine[] = [];
  const errors: FsLineError[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const hash = raw.indexOf("#");
    const body = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (body === "") return;
    const line = i + 1;
    const r = parseLine(body);
    if ("error" in r) errors.push({ file, line, text: body, message: r.error });
    else lines.push({ ...r, line });
  });
  return { lines, errors };
}

/** Resolves a host name to one IP (IPv4 preferred); IP literals are returned as they are. */
export async function resolveHost(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  const all = await lookup(host, { all: true });
  const v4 = all.find((a) => a.family === 4);
  const first = v4 ?? all[0];
  if (!first) throw new Error(`no address for '${host}'`);
  return first.address;
}

/** Resolves every line's host; lines that do not resolve become errors. */
export async function resolveAddrLines(
  lines: readonly FsAddrLine[],
  file: string,
): Promise<{ addrs: Address[]; errors: FsLineError[] }> {
  const addrs: Address[] = [];
  const errors: FsLineError[] = [];
  const results = await Promise.all(
    lines.map(async (l) => {
      try {
        return { l, ip: await resolveHost(l.host) };
      } catch (e) {
        return { l, error: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
  for (const r of results) {
    if (r.ip !== undefined) addrs.push(address(r.ip, r.l.port, {}, r.l.weight));
    else
      errors.push({
        file,
        line: r.l.line,
        text: `${r.l.host} ${r.l.port}`,
        message: `cannot resolve '${r.l.host}': ${r.error}`,
      });
  }
  return { addrs, errors };
}
