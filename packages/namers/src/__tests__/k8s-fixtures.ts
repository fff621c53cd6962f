/** Test helpers for the k8s namer and transformers: the tutorial's objects and Var waiting. */
import type { BuildContext } from "@l5d/config";
import {
  Activity,
  type ActivityState,
  type Name,
  NameBound,
  type NameTree,
  Path,
  Var,
} from "@l5d/dtab";
import type { K8sObject } from "@l5d/k8s-standin";
import { pod, type Standin, service, startStandin } from "@l5d/k8s-standin";
import { K8sNamer } from "../namer-k8s.js";

/** The tutorial's Services (hello, world-v1, l5d) in `default`. */
export function tutorialServices(): K8sObject[] {
  return [
    service({
      name: "hello",
      selector: { app: "hello" },
      clusterIP: "None",
      ports: [{ name: "grpc", port: 7777 }],
    }),
    service({
      name: "world-v1",
      selector: { app: "world-v1" },
      clusterIP: "None",
      ports: [{ name: "grpc", port: 7778 }],
    }),
    service({
      name: "l5d",
      selector: { app: "l5d" },
      ports: [
        { name: "outgoing", port: 4140 },
        { name: "incoming", port: 4141 },
        { name: "admin", port: 9990 },
      ],
    }),
  ];
}

/** Node A owns 10.1.1.0/24, node B 10.1.2.0/24, node C 10.1.3.0/24. */
export function tutorialPods(): K8sObject[] {
  return [
    pod({ name: "hello-a", labels: { app: "hello" }, ip: "10.1.1.5", nodeName: "node-a" }),
    pod({ name: "hello-b", labels: { app: "hello" }, ip: "10.1.2.5", nodeName: "node-b" }),
    pod({ name: "world-b", labels: { app: "world-v1" }, ip: "10.1.2.6", nodeName: "node-b" }),
    pod({ name: "l5d-a", labels: { app: "l5d" }, ip: "10.1.1.2", nodeName: "node-a" }),
    pod({ name: "l5d-b", labels: { app: "l5d" }, ip: "10.1.2.2", nodeName: "node-b" }),
  ];
}

export type Summary =
  | { readonly state: "pending" | "neg" | "failed" | "other" }
  | {
      readonly state: "bound";
      readonly id: string;
      readonly residual: string;
      readonly addrs: string;
      readonly nodes: string;
    };

/** A Var summarizing a namer or transformer answer: the single leaf's id, residual and addresses. */
export function summary(a: Activity<NameTree<Name>> | Activity<NameTree<NameBound>>): Var<Summary> {
  return Var.flatMap(
    a as Activity<NameTree<Name>>,
    (st: ActivityState<NameTree<Name>>): Var<Summary> => {
      if (st.kind === "pending") return Var.value({ state: "pending" });
      if (st.kind === "failed") return Var.value({ state: "failed" });
      const t = st.value;
      if (t.type === "neg") return Var.value({ state: "neg" });
      if (t.type !== "leaf" || !(t.value instanceof NameBound))
        return Var.value({ state: "other" });
      const b = t.value;
      return Var.map(b.addr, (addr): Summary => {
        const addrs =
          addr.type === "bound"
            ? addr.addrs
                .map((x) => `${x.host}:${x.port}`)
                .sort()
                .join(",")
            : `<${addr.type}>`;
        const nodes =
          addr.type === "bound"
            ? addr.addrs
                .map((x) => String(x.meta.nodeName))
                .sort()
                .join(",")
            : "";
        return { state: "bound", id: b.id.show, residual: b.residual.show, addrs, nodes };
      });
    },
  );
}

/** Observes `v` until `pred` holds (or rejects after `ms`), then releases the observation. */
export function waitFor<T>(v: Var<T>, pred: (t: T) => boolean, ms = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let last: T | undefined;
    let done = false;
    let sub: { close(): void } | undefined;
    const timer = setTimeout(
      () => finish(() => reject(new Error(`timed out; last value ${JSON.stringify(last)}`))),
      ms,
    );
    const finish = (k: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      queueMicrotask(() => sub?.close());
      k();
    };
    sub = v.observe((t) => {
      last = t;
      if (pred(t)) finish(() => resolve(t));
    });
    if (done) sub.close();
  });
}

export const bound = (addrs: string) => (s: Summary) => s.state === "bound" && s.addrs === addrs;
export const isNeg = (s: Summary) => s.state === "neg";
/** A bound leaf whose addresses are Addr.neg (what filtering transformers give when nothing is left). */
export const addrNeg = (s: Summary) => s.state === "bound" && s.addrs === "<neg>";
export { Activity };

/** A BuildContext for plugin factories in tests: silent log, `onClose` collected in `closers`. */
export function testBuildContext(
  env: Record<string, string | undefined>,
  closers: (() => void | Promise<void>)[] = [],
): BuildContext {
  const log = { info() {}, warn() {}, error() {}, debug() {} };
  return { env, log, onClose: (f) => void closers.push(f), services: {} };
}

/** A stand-in serving the tutorial's objects and a K8sNamer on it, both closed through `cleanup`. */
export async function startTutorialNamer(
  cleanup: (() => void | Promise<void>)[],
): Promise<{ s: Standin; namer: K8sNamer }> {
  const s = await startStandin({ objects: [...tutorialServices(), ...tutorialPods()] });
  cleanup.push(() => s.close());
  const namer = new K8sNamer({
    connection: { mode: "proxy", host: "127.0.0.1", port: s.port },
    backoff: { minMs: 5, maxMs: 40 },
  });
  cleanup.push(() => namer.close());
  return { s, namer };
}

/** The namer's answer for `p`, typed as a bound tree (what transformers take). */
export const boundTree = (namer: K8sNamer, p: string) =>
  Activity.map(namer.lookup(Path.read(p)), (t) => t as NameTree<NameBound>);
