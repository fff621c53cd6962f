/**
 * The primary's side of one worker's name binding: each `bind` the worker sends is observed on
 * the router's own interpreter (the primary's namers, one set of watches for every worker), its
 * trees sent back as they change, and the addresses of every bound id in them sent once per
 * (router, id) and again when they change. An id no tree of the worker holds any more is
 * released (`addrGone`); `unbind` and `close` release the observations.
 */
import { type Addr, type NameInterpreter, Path, toError, type Var } from "@l5d/dtab";
import type { Logger } from "pino";
import {
  activityToWire,
  addrKey,
  addrToWire,
  dtabFromWire,
  errorToWire,
  type FromWorker,
  type ToWorker,
  type WireActivity,
  type WireDtab,
} from "./wire.js";

interface Subscription {
  close(): void;
  keys: Set<string>;
}

interface AddrWatch {
  refs: number;
  close(): void;
}

export class BindingHost {
  readonly #subs = new Map<number, Subscription>();
  readonly #addrs = new Map<string, AddrWatch>();
  #closed = false;

  constructor(
    private readonly interpreters: ReadonlyMap<string, NameInterpreter>,
    private readonly send: (m: ToWorker) => void,
    private readonly log: Logger,
  ) {}

  /** Bindings the worker holds open now. */
  get bindings(): number {
    return this.#subs.size;
  }

  /** Address watches the worker holds open now. */
  get addrWatches(): number {
    return this.#addrs.size;
  }

  handle(m: FromWorker): void {
    if (this.#closed) return;
    if (m.l5d === "bind") this.#bind(m.sub, m.router, m.dtab, m.path);
    else if (m.l5d === "unbind") this.#unbind(m.sub);
  }

  #bind(sub: number, router: string, wireDtab: WireDtab, pathElems: readonly string[]): void {
    this.#unbind(sub);
    const interpreter = this.interpreters.get(router);
    const fail = (e: Error) =>
      this.send({ l5d: "tree", sub, state: { kind: "failed", error: errorToWire(e) } });
    if (interpreter === undefined) {
      fail(new Error(`no router ${router}`));
      return;
    }
    let activity: ReturnType<NameInterpreter["bind"]>;
    try {
      activity = interpreter.bind(dtabFromWire(wireDtab), Path.of(...pathElems));
    } catch (e) {
      fail(toError(e));
      return;
    }
    const s: Subscription = { close: () => {}, keys: new Set() };
    this.#subs.set(sub, s);
    const observation = activity.observe((state) => {
      if (this.#subs.get(sub) !== s) return;
      const keys = new Set<string>();
      let wire: WireActivity;
      try {
        // each new id's addresses go out before the tree that names it
        wire = activityToWire(state, (b) => {
          const key = addrKey(router, b.id);
          if (keys.has(key)) return;
          keys.add(key);
          if (!s.keys.has(key)) this.#retainAddr(key, b.addr);
        });
      } catch (e) {
        wire = { kind: "failed", error: errorToWire(toError(e)) };
      }
      for (const k of s.keys) if (!keys.has(k)) this.#releaseAddr(k);
      s.keys = keys;
      this.send({ l5d: "tree", sub, state: wire });
    });
    s.close = () => observation.close();
  }

  #unbind(sub: number): void {
    const s = this.#subs.get(sub);
    if (s === undefined) return;
    this.#subs.delete(sub);
    s.close();
    for (const k of s.keys) this.#releaseAddr(k);
  }

  #retainAddr(key: string, addr: Var<Addr>): void {
    const w = this.#addrs.get(key);
    if (w !== undefined) {
      w.refs++;
      return;
    }
    const watch: AddrWatch = { refs: 1, close: () => {} };
    this.#addrs.set(key, watch);
    const o = addr.observe((a) => {
      if (this.#addrs.get(key) === watch) this.send({ l5d: "addr", key, addr: addrToWire(a) });
    });
    watch.close = () => o.close();
  }

  #releaseAddr(key: string): void {
    const w = this.#addrs.get(key);
    if (w === undefined || --w.refs > 0) return;
    this.#addrs.delete(key);
    w.close();
    if (!this.#closed) this.send({ l5d: "addrGone", key });
  }

  /** Releases every observation (the worker is gone). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const sub of [...this.#subs.keys()]) this.#unbind(sub);
    this.log.debug("worker bindings released");
  }
}
