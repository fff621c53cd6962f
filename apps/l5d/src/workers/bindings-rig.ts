/**
 * Test support: a worker's RemoteBindings joined to a primary's BindingHost the way the cluster
 * joins them (every message through a JSON round trip, delivered asynchronously), over the
 * given interpreter as router `r`. Every message is also recorded.
 */
import {
  Activity,
  type ActivityState,
  Addr,
  address,
  createDefaultInterpreter,
  type Name,
  NameBound,
  type NameInterpreter,
  NameTree,
  Path,
  VarCell,
} from "@l5d/dtab";
import { pino } from "pino";
import { BindingHost } from "./binding-host.js";
import { RemoteBindings } from "./remote-interpreter.js";
import type { FromWorker, ToWorker } from "./wire.js";

export interface JoinedBindings {
  readonly host: BindingHost;
  readonly worker: RemoteBindings;
  readonly toHost: FromWorker[];
  readonly toWorker: ToWorker[];
}

export /** A namer of two services whose endpoints the test sets; it counts who observes them. */
function testNamer() {
  const addrs = {
    a: new VarCell<Addr>(Addr.bound([address("127.0.0.1", 1001)])),
    b: new VarCell<Addr>(Addr.bound([address("127.0.0.1", 2001)])),
  };
  const trees = new Map<string, VarCell<ActivityState<NameTree<Name>>>>();
  const namer = {
    lookup(path: Path): Activity<NameTree<Name>> {
      const svc = path.elems[0] as "a" | "b" | "ab";
      let cell = trees.get(svc);
      if (cell === undefined) {
        const leaf = (s: "a" | "b") =>
          NameTree.leaf<Name>(new NameBound(Path.read(`/#/t/${s}`), addrs[s], path.drop(1)));
        const tree =
          svc === "ab"
            ? NameTree.union({ weight: 3, tree: leaf("a") }, { weight: 1, tree: leaf("b") })
            : svc === "a" || svc === "b"
              ? leaf(svc)
              : NameTree.neg;
        cell = Activity.cell(Activity.ok(tree));
        trees.set(svc, cell);
      }
      return cell;
    },
  };
  const interpreter = createDefaultInterpreter([{ prefix: Path.read("/#/t"), namer }]);
  return { addrs, trees, interpreter };
}

export function joinBindings(interpreter: NameInterpreter): JoinedBindings {
  const toHost: FromWorker[] = [];
  const toWorker: ToWorker[] = [];
  const host: BindingHost = new BindingHost(
    new Map([["r", interpreter]]),
    (m) => {
      toWorker.push(m);
      deliver(() => worker.receive(JSON.parse(JSON.stringify(m)) as ToWorker));
    },
    pino({ level: "silent" }),
  );
  const worker: RemoteBindings = new RemoteBindings((m) => {
    toHost.push(m);
    deliver(() => host.handle(JSON.parse(JSON.stringify(m)) as FromWorker));
  });
  return { host, worker, toHost, toWorker };
}

/** Messages sent by any joined pair and not yet delivered. */
let inFlight = 0;

function deliver(f: () => void): void {
  inFlight++;
  setImmediate(() => {
    inFlight--;
    f();
  });
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Lets the joined pairs exchange what is in flight: returns once no message is left undelivered
 * (a reply sent while delivering is waited for too), after at least one turn of the event loop.
 * Waiting on the messages themselves, not on a timer, keeps the tests exact on a loaded machine.
 */
export async function tick(): Promise<void> {
  const deadline = Date.now() + 5_000;
  do {
    await turn();
    if (Date.now() > deadline) throw new Error(`${inFlight} messages still in flight after 5 s`);
  } while (inFlight > 0);
}
