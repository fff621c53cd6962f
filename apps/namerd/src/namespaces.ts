/**
 * Namerd's core: one name interpreter per dtab namespace (Linkerd's ConfiguredDtabNamer). A
 * namespace's interpreter binds through the namespace's stored dtab (empty while the namespace
 * does not exist), then the configured namers, then the `/$` system namers; a change to the
 * stored dtab re-binds every watched name. The interfaces (HTTP controller, mesh API) answer
 * from here and never see the store's own types beyond `VersionedDtab`.
 */
import {
  Activity,
  type ActivityState,
  Addr,
  bind,
  createDefaultInterpreter,
  type DelegateTree,
  Dtab,
  type MountedNamer,
  type NameBound,
  NameTree,
  namersLookup,
  type Path,
  Var,
  VarCell,
} from "@l5d/dtab";
import { ObservedCache } from "./observed-cache.js";
import type { DtabStore, VersionedDtab } from "./storage/dtab-store.js";

/** At most this many distinct bound ids are remembered for `/api/1/bound-names`. */
export const MAX_BOUND_NAMES = 10_000;
/** Bindings and address lookups kept running for the next ask (Linkerd's cache sizes). */
export const BINDING_CACHE_SIZE = 1000;

export class Namespaces {
  readonly #interpreter: ReturnType<typeof createDefaultInterpreter>;
  readonly #boundNames = new Set<string>();
  readonly #boundNamesVar = new VarCell<readonly string[]>([]);
  readonly #namersLookup: ReturnType<typeof namersLookup>;
  readonly #binds = new ObservedCache<ActivityState<NameTree<NameBound>>>(BINDING_CACHE_SIZE);
  readonly #addrs = new ObservedCache<ActivityState<Addr>>(BINDING_CACHE_SIZE);

  readonly #maxBoundNames: number;

  constructor(
    readonly store: DtabStore,
    readonly namers: readonly MountedNamer[],
    opts: { readonly maxBoundNames?: number } = {},
  ) {
    this.#maxBoundNames = opts.maxBoundNames ?? MAX_BOUND_NAMES;
    this.#interpreter = createDefaultInterpreter(namers);
    this.#namersLookup = namersLookup(namers);
  }

  /** The namespace's stored dtab, empty while it does not exist. */
  dtab(ns: string): Activity<Dtab> {
    return Activity.map(this.store.observe(ns), (v) => v?.dtab ?? Dtab.empty);
  }

  /** The namespace's stored dtab with its version, null while it does not exist. */
  versioned(ns: string): Activity<VersionedDtab | null> {
    return this.store.observe(ns);
  }

  /**
   * Binds `path` through the namespace's dtab followed by `local` (a request's extra dentries).
   * The binding runs while observed (a watch holds it; its end releases every namer watch).
   */
  bind(ns: string, path: Path, local: Dtab = Dtab.empty): Activity<NameTree<NameBound>> {
    return Activity.flatMap(this.dtab(ns), (d) =>
      Activity.map(this.#interpreter.bind(d.concat(local), path), (tree) => {
        this.#remember(tree);
        return tree;
      }),
    );
  }

  /**
   * The addresses of a bound id (`/#/io.l5d.fs/world`, `/$/inet/127.1/8080`), as Linkerd's
   * `/api/1/addr`: the id is bound through the namer mounted at its prefix (or the `/$` system
   * namers), never through the namespace's dtab; a transformer's `/%/...` prefix is dropped
   * first. Pending while the namer has not answered; Neg when it does not know the id.
   */
  addr(id: Path): Activity<Addr> {
    const tree = bind(this.#namersLookup, NameTree.leaf(stripTransformerPrefix(id)));
    return Var.flatMap(tree, (s): Activity<Addr> => {
      if (s.kind !== "ok") return Var.value(s);
      const t = s.value;
      switch (t.type) {
        case "leaf":
          return Var.map(
            t.value.addr,
            (a): ActivityState<Addr> => (a.type === "pending" ? Activity.pending : Activity.ok(a)),
          );
        case "empty":
          return Activity.value(Addr.bound([]));
        case "neg":
          return Activity.value(Addr.neg);
        case "fail":
          return Activity.exception(new Error("name tree failed"));
        default:
          return Activity.exception(new Error(`${id.show} is not a concrete bound id`));
      }
    });
  }

  /**
   * `bind` for one-shot reads: without `local`, the binding stays running in a bounded LRU
   * (Linkerd's NameInterpreterCache, 1000 entries), so asking again answers at once.
   */
  bindCached(ns: string, path: Path, local: Dtab = Dtab.empty): Activity<NameTree<NameBound>> {
    if (local.size > 0) return this.bind(ns, path, local);
    return this.#binds.get(`${ns}\n${path.show}`, () => this.bind(ns, path));
  }

  /** `addr` for one-shot reads, from the same kind of bounded LRU. */
  addrCached(id: Path): Activity<Addr> {
    return this.#addrs.get(id.show, () => this.addr(id));
  }

  /** The delegation of `path` through the namespace's current dtab and `local`. */
  async delegate(ns: string, path: Path, local: Dtab = Dtab.empty): Promise<DelegateTree> {
    const d = await Activity.toPromise(this.dtab(ns));
    return this.#interpreter.delegate(d.concat(local), path);
  }

  /** Releases the cached bindings (namerd's shutdown). */
  close(): void {
    this.#binds.clear();
    this.#addrs.clear();
  }

  /** Ids of the names bound so far (Linkerd's `/api/1/bound-names`), sorted, as they grow. */
  boundNames(): Var<readonly string[]> {
    return this.#boundNamesVar;
  }

  #remember(tree: NameTree<NameBound>): void {
    if (this.#boundNames.size >= this.#maxBoundNames) return;
    const before = this.#boundNames.size;
    const walk = (t: NameTree<NameBound>): void => {
      if (t.type === "leaf" && this.#boundNames.size < this.#maxBoundNames)
        this.#boundNames.add(t.value.id.show);
      else if (t.type === "alt") t.trees.forEach(walk);
      else if (t.type === "union") for (const w of t.weighted) walk(w.tree);
    };
    walk(tree);
    if (this.#boundNames.size !== before) this.#boundNamesVar.update([...this.#boundNames].sort());
  }
}

const TRANSFORMER_MARK = "%";

/** Linkerd's `Paths.stripTransformerPrefix`: `/%/io.l5d.port/4141/#/io.l5d.fs/x` → `/#/io.l5d.fs/x`. */
export function stripTransformerPrefix(id: Path): Path {
  if (id.size === 0 || id.elems[0] !== TRANSFORMER_MARK) return id;
  for (let i = 1; i < id.size; i++) {
    const e = id.elems[i];
    if (e === "#" || e === "$") return id.drop(i);
  }
  return id;
}
