/**
 * A worker's name interpreters: every router's `bind(dtab, path)` is asked of the primary,
 * which binds it on its own namers and streams the trees and each bound id's addresses back
 * (`binding-host.ts`). A binding is asked for while something observes it and released when
 * nothing does, so the worker's binding cache decides what the primary keeps watched, as local
 * namers would. Before the primary's first answer a binding is pending.
 */
import {
  type Activity,
  type ActivityState,
  Addr,
  type Closable,
  DerivedVar,
  type Dtab,
  type NameBound,
  type NameInterpreter,
  type NameTree,
  type Observer,
  type Path,
  VarCell,
} from "@l5d/dtab";
import {
  activityFromWire,
  addrFromWire,
  addrKey,
  dtabToWire,
  type FromWorker,
  type ToWorker,
} from "./wire.js";

/**
 * A bound id's addresses in the worker, fed by the primary's `addr` messages. After `addrGone`
 * (no binding of this worker names the id any more) it is forgotten once nothing observes it;
 * while a router's client still holds it, it stays, and a later binding of the same id updates
 * this very Var, so that client follows the id again as it would follow a local namer's.
 */
class RemoteAddr extends VarCell<Addr> {
  /** The primary no longer watches the id for this worker. */
  gone = false;

  constructor(
    initial: Addr,
    private readonly onIdle: () => void,
  ) {
    super(initial);
  }

  get observed(): boolean {
    return this.observerCount > 0;
  }

  override observe(f: Observer<Addr>): Closable {
    const c = super.observe(f);
    return {
      close: () => {
        const before = this.observerCount;
        c.close();
        // the last observer left (this close removed it) after the primary let go of the id
        if (this.observerCount < before && this.observerCount === 0 && this.gone) this.onIdle();
      },
    };
  }
}

export class RemoteBindings {
  readonly #subs = new Map<
    number,
    { router: string; emit: (s: ActivityState<NameTree<NameBound>>) => void }
  >();
  readonly #addrs = new Map<string, RemoteAddr>();
  #next = 1;

  constructor(private readonly send: (m: FromWorker) => void) {}

  /** The interpreter of one router (by label). */
  interpreter(router: string): NameInterpreter {
    return { bind: (dtab, path) => this.#bind(router, dtab, path) };
  }

  /** Bindings open now (tests, reports). */
  get bindings(): number {
    return this.#subs.size;
  }

  /** Address Vars kept now (tests). */
  get addrs(): number {
    return this.#addrs.size;
  }

  receive(m: ToWorker): void {
    switch (m.l5d) {
      case "addr": {
        const cell = this.#cell(m.key);
        cell.gone = false;
        cell.update(addrFromWire(m.addr));
        return;
      }
      case "addrGone": {
        const cell = this.#addrs.get(m.key);
        if (cell === undefined) return;
        cell.gone = true;
        if (!cell.observed) this.#addrs.delete(m.key);
        return;
      }
      case "tree": {
        const s = this.#subs.get(m.sub);
        if (s === undefined) return;
        s.emit(activityFromWire(m.state, (id) => this.#cell(addrKey(s.router, id))));
        return;
      }
      default:
        return;
    }
  }

  #cell(key: string): RemoteAddr {
    const have = this.#addrs.get(key);
    if (have !== undefined) return have;
    const cell: RemoteAddr = new RemoteAddr(Addr.pending, () => {
      if (this.#addrs.get(key) === cell) this.#addrs.delete(key);
    });
    this.#addrs.set(key, cell);
    return cell;
  }

  #bind(router: string, dtab: Dtab, path: Path): Activity<NameTree<NameBound>> {
    return new DerivedVar<ActivityState<NameTree<NameBound>>>((emit) => {
      const sub = this.#next++;
      let open = true;
      emit({ kind: "pending" });
      this.#subs.set(sub, { router, emit: (s) => open && emit(s) });
      this.send({ l5d: "bind", sub, router, dtab: dtabToWire(dtab), path: path.elems });
      return {
        close: () => {
          open = false;
          this.#subs.delete(sub);
          this.send({ l5d: "unbind", sub });
        },
      };
    });
  }
}
