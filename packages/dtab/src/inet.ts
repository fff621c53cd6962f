/**
 * Address resolution for `/$/inet/<host>/<port>` (Finagle's `inet!host:port` resolver):
 * IP literals (including Java's short IPv4 forms such as `127.1`) resolve at once; host
 * names are resolved with node:dns asynchronously, and `inet` (not `fixedinet`) re-resolves
 * periodically while observed.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { Addr, address } from "./addr.js";
import { DerivedVar, Var as V, type Var } from "./var.js";

/** How often `inet` names are re-resolved while observed (Finagle's InetResolver polls every 5 s). */
export const INET_POLL_INTERVAL_MS = 5_000;

/**
 * Java `InetAddress` IPv4 literal parsing (`IPAddressUtil.textToNumericFormatV4`): 1 to 4
 * decimal parts, the last one filling the remaining bytes (`127.1` → `127.0.0.1`,
 * `10` → `0.0.0.10`). Returns the dotted quad or undefined.
 */
export function parseJavaIPv4(text: string): string | undefined {
  if (text.length === 0 || text.length > 15) return undefined;
  const parts = text.split(".");
  if (parts.length > 4 || parts.some((p) => !/^[0-9]+$/.test(p))) return undefined;
  const nums = parts.map((p) => Number(p));
  const bytes: number[] = [];
  for (let i = 0; i < nums.length - 1; i++) {
    if (nums[i]! > 0xff) return undefined;
    bytes.push(nums[i]!);
  }
  const restBytes = 4 - bytes.length;
  const last = nums[nums.length - 1]!;
  if (last >= 2 ** (8 * restBytes)) return undefined;
  for (let i = restBytes - 1; i >= 0; i--) bytes.push(Math.floor(last / 2 ** (8 * i)) % 256);
  return bytes.join(".");
}

/** The IP literal `host` denotes, if it is one (IPv6 optionally in brackets). */
export function ipLiteral(host: string): string | undefined {
  const v4 = parseJavaIPv4(host);
  if (v4 !== undefined) return v4;
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return isIP(h) === 6 ? h : undefined;
}

/** Resolves a host name to its addresses (all of them, IPv4 first). */
async function resolveHost(host: string): Promise<string[]> {
  const all = await dnsLookup(host, { all: true, verbatim: false });
  return [...new Set(all.map((a) => a.address))];
}

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "ENOTFOUND" || code === "ENODATA" || code === "EAI_NONAME";
}

function portError(port: number): Addr | undefined {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return Addr.failed(new RangeError(`port out of range:${port}`));
  }
  return undefined;
}

/**
 * The addresses of `host:port` as a Var. An empty host means the local host. Unknown hosts
 * are `Addr.neg`; other resolution errors `Addr.failed`.
 */
export function resolveInet(host: string, port: number, opts: { fixed?: boolean } = {}): Var<Addr> {
  const bad = portError(port);
  if (bad) return V.value(bad);
  const literal = host === "" ? "127.0.0.1" : ipLiteral(host);
  if (literal !== undefined) return V.value(Addr.bound([address(literal, port)]));
  return new DerivedVar<Addr>((emit) => {
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    let last = "";
    emit(Addr.pending);
    const run = (): void => {
      resolveHost(host).then(
        (ips) => {
          if (closed) return;
          const key = ips.join(",");
          if (key !== last) {
            last = key;
            emit(ips.length === 0 ? Addr.neg : Addr.bound(ips.map((ip) => address(ip, port))));
          }
          schedule();
        },
        (e: unknown) => {
          if (closed) return;
          const key = isNotFound(e) ? "!neg" : "!failed";
          if (key !== last) {
            last = key;
            emit(
              isNotFound(e) ? Addr.neg : Addr.failed(e instanceof Error ? e : new Error(String(e))),
            );
          }
          schedule();
        },
      );
    };
    const schedule = (): void => {
      if (opts.fixed || closed) return;
      timer = setTimeout(run, INET_POLL_INTERVAL_MS);
      timer.unref();
    };
    run();
    return {
      close: () => {
        closed = true;
        if (timer) clearTimeout(timer);
      },
    };
  });
}
