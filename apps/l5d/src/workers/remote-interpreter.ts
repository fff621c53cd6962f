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
  DerivedVar,
  type Dtab,
  type NameBound,
  type NameInterpreter,
  type NameTree,
  type Path,
  type Var,
  VarCell,
} from "@l5d/dtab";
import { activityFromWire, addrFromWire, addrKey, type FromWorker, type ToWorker } from "./wire.js";

export class RemoteBindings {
  readonly #subs = new Map<
    number,
    { router: string; emit: (s: ActivityState<NameTree<NameBound>>) => void }
  >();
  readonly #addrs = new Map<string, VarCell<Addr>>();
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

  receive(m: ToWorker): void {
    switch (m.l5d) {
      case "addr": {
        const cell = this.#addrs.get(m.key);
        const a = addrFromWire(m.addr);
        if (cell === undefined) this.#addrs.set(m.key, new VarCell(a));
        else cell.update(a);
        return;
      }
      case "addrGone":
        this.#addrs.delete(m.key);
        return;
      case "tree": {
        const s = this.#subs.get(m.sub);
        if (s === undefined) return;
        s.emit(activityFromWire(m.state, (id) => this.#addr(s.router, id)));
        return;
      }
      default:
        return;
    }
  }

  #addr(router: string, id: Path): Var<Addr> {
    const key = addrKey(router, id);
    const cell = this.#addrs.get(key);
    if (cell !== undefined) return cell;
    const fresh = new VarCell(Addr.pending);
    this.#addrs.set(key, fresh);
    return fresh;
  }

  #bind(router: string, dtab: Dtab, path: Path): Activity<NameTree<NameBound>> {
    return new DerivedVar<ActivityState<NameTree<NameBound>>>((emit) => {
      const sub = this.#next++;
      let open = true;
      emit({ kind: "pending" });
      this.#subs.set(sub, { router, emit: (s) => open && emit(s) });
      this.send({ l5d: "bind", sub, router, dtab: dtab.show, path: path.elems });
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
