/**
 * Finagle's `Namer.global`: the `/$` system namers. In order: `/$/inet|fixedinet/<host>/<port>`,
 * `/$/inet|fixedinet/<port>`, `/$/fail…` (Fail), `/$/nil…` (Empty), `/$/<class>/…` (a known
 * class, else a failed ClassNotFoundError), anything else Neg.
 */
import { Activity } from "./activity.js";
import { ClassNotFoundError } from "./errors.js";
import { resolveInet } from "./inet.js";
import { type Name, NameBound } from "./name.js";
import { NameTree } from "./name-tree.js";
import type { Namer } from "./namer.js";
import { Path } from "./path.js";
import { REWRITING_NAMERS } from "./rewriting-namers.js";

const FAIL_PREFIX = Path.of("$", "fail");
const NIL_PREFIX = Path.of("$", "nil");
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

/** Java `Integer.parseInt` (ASCII digits, optional sign, 32-bit range), or undefined. */
export function parseJavaInt(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= INT_MIN && n <= INT_MAX ? n : undefined;
}

function inetLookup(path: Path, elems: string[]): NameTree<Name> | undefined {
  if (elems[0] !== "$" || (elems[1] !== "inet" && elems[1] !== "fixedinet")) return undefined;
  const fixed = elems[1] === "fixedinet";
  if (elems.length >= 4) {
    const port = parseJavaInt(elems[3]!);
    if (port !== undefined) {
      const addr = resolveInet(elems[2]!, port, { fixed });
      return NameTree.leaf(new NameBound(path.take(4), addr, path.drop(4)));
    }
  }
  if (elems.length >= 3) {
    const port = parseJavaInt(elems[2]!);
    if (port !== undefined) {
      const addr = resolveInet("", port, { fixed });
      return NameTree.leaf(new NameBound(path.take(3), addr, path.drop(3)));
    }
  }
  return undefined;
}

const extraClasses = new Map<string, Namer>();

/**
 * Makes `/$/<className>/…` resolve through `namer` (the TS stand-in for putting a Namer class
 * on the JVM classpath). Returns a function that removes it again.
 */
export function registerSystemNamer(className: string, namer: Namer): () => void {
  extraClasses.set(className, namer);
  return () => {
    if (extraClasses.get(className) === namer) extraClasses.delete(className);
  };
}

function namerOfClass(className: string): Namer | undefined {
  if (className === "com.twitter.finagle.namer.global") return globalNamer;
  return REWRITING_NAMERS[className] ?? extraClasses.get(className);
}

/** Finagle's `Namer.global`; `lookup` takes the whole path (`/$/inet/127.1/8080/x`). */
export const globalNamer: Namer = {
  lookup(path: Path) {
    if (path.size === 0 || path.elems[0] !== "$")
      return Activity.value<NameTree<Name>>(NameTree.neg);
    const elems = path.elems.map((_, i) => path.elemUtf8(i));
    const inet = inetLookup(path, elems);
    if (inet) return Activity.value(inet);
    if (path.startsWith(FAIL_PREFIX)) return Activity.value<NameTree<Name>>(NameTree.fail);
    if (path.startsWith(NIL_PREFIX)) return Activity.value<NameTree<Name>>(NameTree.empty);
    if (path.size >= 2) {
      const className = elems[1]!;
      const namer = namerOfClass(className);
      if (!namer) return Activity.exception(new ClassNotFoundError(className));
      return namer.lookup(Path.utf8(...elems.slice(2)));
    }
    return Activity.value<NameTree<Name>>(NameTree.neg);
  },
};
