/**
 * `io.l5d.k8s.localnode`: keeps only the destination addresses on this node — in the /24 of
 * env `POD_IP`, or (with `hostNetwork: true`) whose `nodeName` is env `NODE_NAME`. None → Neg.
 */
import { Addr, type Address, Path, Var } from "@l5d/dtab";
import { K8sConfigError } from "./k8s-errors.js";
import {
  addressTransformer,
  type NameTreeTransformer,
  sameSlash24,
} from "./k8s-transformer-support.js";

export interface LocalNodeTransformerOptions {
  /** Match by `nodeName` instead of /24 (Linkerd default false). */
  readonly hostNetwork?: boolean;
  /** Environment to read POD_IP / NODE_NAME from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Overrides the default id prefix `/io.l5d.k8s.localnode/<POD_IP or NODE_NAME>`. */
  readonly prefix?: Path;
}

export function filterLocal(dest: Addr, keep: (a: Address) => boolean): Addr {
  if (dest.type !== "bound") return dest;
  const kept = dest.addrs.filter(keep);
  return kept.length === 0 ? Addr.neg : Addr.bound(kept, { ...dest.meta });
}

/** Throws K8sConfigError when POD_IP (or NODE_NAME with hostNetwork) is not set. */
export function localNodeTransformer(opts: LocalNodeTransformerOptions): NameTreeTransformer {
  const hostNetwork = opts.hostNetwork ?? false;
  const envName = hostNetwork ? "NODE_NAME" : "POD_IP";
  const local = opts.env[envName];
  if (!local) {
    throw new K8sConfigError(
      hostNetwork
        ? "io.l5d.k8s.localnode with hostNetwork: true needs env NODE_NAME set to the node's name (downward API spec.nodeName)"
        : "io.l5d.k8s.localnode needs env POD_IP set to the pod's IP (downward API status.podIP)",
    );
  }
  const keep = hostNetwork
    ? (a: Address) => a.meta.nodeName === local
    : (a: Address) => sameSlash24(a.host, local);
  const prefix = opts.prefix ?? Path.utf8("io.l5d.k8s.localnode", local);
  return addressTransformer(prefix, (addr) => Var.map(addr, (d) => filterLocal(d, keep)));
}
