/**
 * Linkerd's `/$/io.buoyant.*` namers (L:namer/core/src/main/scala/io/buoyant/*.scala).
 * Rewriting namers answer Neg for an empty or non-matching input, else a Leaf of the
 * rewritten (unbound) path, which binding looks up again.
 */
import { Activity } from "./activity.js";
import { RequirementFailedError } from "./errors.js";
import { resolveInet } from "./inet.js";
import { type Name, NameBound } from "./name.js";
import { NameTree } from "./name-tree.js";
import type { Namer } from "./namer.js";
import { Path } from "./path.js";

const HOST = /^[A-Za-z0-9.:_-]+$/;
const METHOD = /^[A-Z]+$/;
const DNS_LABEL = /^[a-z0-9][-a-z0-9]*[a-z0-9]?$/;

/** Path elements decoded as UTF-8 (Finagle's `Path.Utf8` extractor). */
function utf8Elems(path: Path): string[] {
  return path.elems.map((_, i) => path.elemUtf8(i));
}

/** `Path.Utf8(...)`: Finagle's constructor `require`s non-empty elements. */
function utf8Path(...elems: string[]): Path {
  if (elems.some((e) => e.length === 0)) throw new RequirementFailedError();
  return Path.utf8(...elems);
}

/** Java `String.split(regex)` for a literal one-char separator: trailing empty strings removed. */
export function javaSplit(s: string, sep: string): string[] {
  const parts = s.split(sep);
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

function rewriting(rewrite: (path: Path) => Path | undefined): Namer {
  return {
    lookup(path: Path) {
      if (path.size === 0) return Activity.value<NameTree<Name>>(NameTree.neg);
      const out = rewrite(path);
      return Activity.value<NameTree<Name>>(out ? NameTree.leaf(out) : NameTree.neg);
    },
  };
}

/** Exactly `n` leading elements as UTF-8 strings, or undefined if the path is shorter. */
function head(path: Path, n: number): string[] | undefined {
  if (path.size < n) return undefined;
  return utf8Elems(path.take(n));
}

function dropPort(hostname: string): string {
  const idx = hostname.indexOf(":");
  return idx > 0 ? hostname.slice(0, idx) : hostname;
}

function subdomain(domain: string, hostname: string): string | undefined {
  const sfx = "." + domain;
  const host = dropPort(hostname);
  return host.endsWith(sfx) ? host.slice(0, host.length - sfx.length) : undefined;
}

function hostColonPort(s: string): [string, string] | undefined {
  const parts = javaSplit(s, ":");
  if (parts.length !== 2) return undefined;
  const [host, port] = parts as [string, string];
  if (!DNS_LABEL.test(port) || port.length > 63) return undefined;
  return [host, port];
}

export const anyMethod: Namer = rewriting((path) => {
  const h = head(path, 1);
  return h && METHOD.test(h[0]!) ? path.drop(1) : undefined;
});

export const anyMethodPfx: Namer = rewriting((path) => {
  const h = head(path, 2);
  return h && METHOD.test(h[1]!) ? utf8Path(h[0]!).concat(path.drop(2)) : undefined;
});

export const anyHost: Namer = rewriting((path) => {
  const h = head(path, 1);
  return h && HOST.test(h[0]!) ? path.drop(1) : undefined;
});

export const anyHostPfx: Namer = rewriting((path) => {
  const h = head(path, 2);
  return h && HOST.test(h[1]!) ? utf8Path(h[0]!).concat(path.drop(2)) : undefined;
});

export const subdomainOf: Namer = rewriting((path) => {
  const h = head(path, 2);
  if (!h || !HOST.test(h[0]!) || !HOST.test(h[1]!)) return undefined;
  const sub = subdomain(h[0]!, h[1]!);
  return sub ? utf8Path(sub).concat(path.drop(2)) : undefined;
});

export const subdomainOfPfx: Namer = rewriting((path) => {
  const h = head(path, 3);
  if (!h || !HOST.test(h[0]!) || !HOST.test(h[2]!)) return undefined;
  const sub = subdomain(h[0]!, h[2]!);
  return sub ? utf8Path(h[1]!, sub).concat(path.drop(3)) : undefined;
});

export const domainToPath: Namer = rewriting((path) => {
  const h = head(path, 1);
  if (!h || !HOST.test(h[0]!)) return undefined;
  return utf8Path(...javaSplit(h[0]!, ".").reverse()).concat(path.drop(1));
});

export const domainToPathPfx: Namer = rewriting((path) => {
  const h = head(path, 2);
  if (!h || !HOST.test(h[1]!)) return undefined;
  return utf8Path(h[0]!, ...javaSplit(h[1]!, ".").reverse()).concat(path.drop(2));
});

export const hostportPfx: Namer = rewriting((path) => {
  const h = head(path, 2);
  const hp = h && hostColonPort(h[1]!);
  return hp ? utf8Path(h[0]!, hp[0], hp[1]).concat(path.drop(2)) : undefined;
});

export const porthostPfx: Namer = rewriting((path) => {
  const h = head(path, 2);
  const hp = h && hostColonPort(h[1]!);
  return hp ? utf8Path(h[0]!, hp[1], hp[0]).concat(path.drop(2)) : undefined;
});

const RINET_PREFIX = Path.of("$", "io.buoyant.rinet");

/** `/$/io.buoyant.rinet/<port>/<host>/rest…`: bound like `/$/inet/<host>/<port>`. */
export const rinet: Namer = {
  lookup(path: Path) {
    const h = head(path, 2);
    if (!h) return Activity.value<NameTree<Name>>(NameTree.neg);
    const [port, host] = h as [string, string];
    const id = RINET_PREFIX.concat(Path.read(`/${port}/${host}`));
    const portNum = /^[+-]?[0-9]+$/.test(port) ? Number(port) : Number.NaN;
    const addr = Number.isNaN(portNum) ? resolveInet(host, -1) : resolveInet(host, portNum);
    return Activity.value<NameTree<Name>>(NameTree.leaf(new NameBound(id, addr, path.drop(2))));
  },
};

/** The `/$/<class>` namers Linkerd ships, by class name. */
export const REWRITING_NAMERS: Readonly<Record<string, Namer>> = Object.freeze({
  "io.buoyant.http.anyMethod": anyMethod,
  "io.buoyant.http.anyMethodPfx": anyMethodPfx,
  "io.buoyant.http.anyHost": anyHost,
  "io.buoyant.http.anyHostPfx": anyHostPfx,
  "io.buoyant.http.subdomainOf": subdomainOf,
  "io.buoyant.http.subdomainOfPfx": subdomainOfPfx,
  "io.buoyant.http.domainToPath": domainToPath,
  "io.buoyant.http.domainToPathPfx": domainToPathPfx,
  "io.buoyant.hostportPfx": hostportPfx,
  "io.buoyant.porthostPfx": porthostPfx,
  "io.buoyant.rinet": rinet,
});
