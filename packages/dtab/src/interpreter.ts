/**
 * Name interpreters: how a router turns `(dtab, path)` into a bound tree. The default one is
 * Linkerd's `default` interpreter (ConfiguredNamersInterpreter): the dtab first, then the
 * configured namers in order, then the `/$` system namers.
 */
import { Activity } from "./activity.js";
import { bind, DEFAULT_MAX_DEPTH, dedupActivity, type LookupFn, safeLookup } from "./bind.js";
import { delegate } from "./delegate.js";
import type { DelegateTree } from "./delegate-tree.js";
import type { Dtab } from "./dtab.js";
import { ClassNotFoundError, UnknownNamerError } from "./errors.js";
import { globalNamer } from "./global-namer.js";
import type { Name, NameBound } from "./name.js";
import { NameTree } from "./name-tree.js";
import type { MountedNamer } from "./namer.js";
import type { Path } from "./path.js";
import { Var } from "./var.js";

export interface NameInterpreter {
  /** Binds `path` through `dtab` (base ++ local). The result updates when any namer's answer changes. */
  bind(dtab: Dtab, path: Path): Activity<NameTree<NameBound>>;
  /** The delegation explanation (Linkerd's DelegateTree), when the interpreter can explain. */
  delegate?(dtab: Dtab, path: Path): Promise<DelegateTree>;
}

export interface DefaultInterpreterOptions {
  /** Maximum lookup depth while binding; Finagle's `namerMaxDepth`, default 100. */
  readonly maxDepth?: number;
  /** Lookups per second one binding may make (`bind.ts` `DEFAULT_MAX_LOOKUPS`: 250). */
  readonly maxLookups?: number;
  /**
   * How long `delegate` waits for a namer's first answer or a bound name's first non-pending
   * addresses, in ms. Default 10000 (Linkerd's admin handler gives up after 2 s overall).
   */
  readonly delegateTimeoutMs?: number;
}

/** The configured-namers-then-global lookup used when the dtab answers Neg. */
export function namersLookup(
  namers: readonly MountedNamer[],
): (path: Path) => Activity<NameTree<Name>> {
  const fromGlobal = (path: Path): Activity<NameTree<Name>> =>
    Var.map(safeLookup(globalNamer.lookup, path), (s) =>
      s.kind === "failed" && s.error instanceof ClassNotFoundError
        ? Activity.failed(new UnknownNamerError(path, s.error))
        : s,
    );
  const from = (i: number, path: Path): Activity<NameTree<Name>> => {
    for (let j = i; j < namers.length; j++) {
      const m = namers[j]!;
      if (path.startsWith(m.prefix)) {
        const rest = path.drop(m.prefix.size);
        return Activity.flatMap(
          safeLookup((p) => m.namer.lookup(p), rest),
          (t): Activity<NameTree<Name>> =>
            t.type === "neg" ? from(j + 1, path) : Activity.value(t),
        );
      }
    }
    return fromGlobal(path);
  };
  return (path) => from(0, path);
}

/** One lookup step through `dtab`, falling back to `namers` when the dtab answers Neg. */
export function dtabLookup(dtab: Dtab, namers: (path: Path) => Activity<NameTree<Name>>): LookupFn {
  return (path) => {
    const t = dtab.lookup(path);
    return t.type === "neg" ? namers(path) : Activity.value<NameTree<Name>>(t);
  };
}

/** Linkerd's `default` interpreter: dtab first, then configured namers in order, then `/$` namers. */
export function createDefaultInterpreter(
  namers: readonly MountedNamer[],
  opts: DefaultInterpreterOptions = {},
): NameInterpreter & { delegate(dtab: Dtab, path: Path): Promise<DelegateTree> } {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const fallback = namersLookup(namers);
  return {
    bind(dtab, path) {
      return dedupActivity(
        bind(dtabLookup(dtab, fallback), NameTree.leaf<Name>(path), {
          maxDepth,
          maxLookups: opts.maxLookups,
        }),
      );
    },
    delegate(dtab, path) {
      return delegate(dtab, path, fallback, {
        maxDepth,
        timeoutMs: opts.delegateTimeoutMs ?? 10_000,
      });
    },
  };
}
