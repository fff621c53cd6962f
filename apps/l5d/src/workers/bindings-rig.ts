/**
 * Test support: a worker's RemoteBindings joined to a primary's BindingHost the way the cluster
 * joins them (every message through a JSON round trip, delivered asynchronously), over the
 * given interpreter as router `r`. Every message is also recorded.
 */
import type { NameInterpreter } from "@l5d/dtab";
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

export function joinBindings(interpreter: NameInterpreter): JoinedBindings {
  const toHost: FromWorker[] = [];
  const toWorker: ToWorker[] = [];
  const host: BindingHost = new BindingHost(
    new Map([["r", interpreter]]),
    (m) => {
      toWorker.push(m);
      setImmediate(() => worker.receive(JSON.parse(JSON.stringify(m)) as ToWorker));
    },
    pino({ level: "silent" }),
  );
  const worker: RemoteBindings = new RemoteBindings((m) => {
    toHost.push(m);
    setImmediate(() => host.handle(JSON.parse(JSON.stringify(m)) as FromWorker));
  });
  return { host, worker, toHost, toWorker };
}

/** Lets the joined pair exchange what is in flight. */
export const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));
