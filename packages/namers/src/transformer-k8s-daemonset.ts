/**
 * `io.l5d.k8s.daemonset`: every destination address is replaced by the address(es) of the
 * daemonset's pods (e.g. the `l5d` Service's `incoming` port) on the same node — same /24, or
 * same `nodeName` with `hostNetwork: true`. The gateway set is deduplicated; no gateway → Neg.
 */

import type { Namer } from "@l5d/dtab";
import { Addr, type Address, Path, type Var } from "@l5d/dtab";
import {
  addressTransformer,
  combineAddr,
  dedupe,
  lookupAddr,
  type NameTreeTransformer,
  sameSlash24,
} from "./k8s-transformer-support.js";

export interface DaemonSetTransformerOptions {
  /** The daemonset Service's namespace (required). */
  readonly namespace: string;
  /** The daemonset Service's port name or number (required), e.g. `incoming`. */
  readonly port: string;
  /** The daemonset Service (required), e.g. `l5d`. */
  readonly service: string;
  /** Match by `nodeName` instead of /24 (Linkerd default false). */
  readonly hostNetwork?: boolean;
  /** The k8s namer the gateways are looked up on (`/<ns>/<port>/<service>`). */
  readonly namer: Namer;
  /** Overrides the default id prefix `/io.l5d.k8s.daemonset/<ns>/<port>/<service>`. */
  readonly prefix?: Path;
}

/** The gateways on the same node as each destination (union, deduplicated); none → Neg. */
export function selectGateways(dest: Addr, gateways: Addr, hostNetwork: boolean): Addr {
  if (dest.type !== "bound") return dest;
  if (gateways.type !== "bound") return gateways;
  const same = (d: Address, g: Address) =>
    hostNetwork
      ? d.meta.nodeName !== undefined && d.meta.nodeName === g.meta.nodeName
      : sameSlash24(d.host, g.host);
  const selected = dedupe(dest.addrs.flatMap((d) => gateways.addrs.filter((g) => same(d, g))));
  return selected.length === 0 ? Addr.neg : Addr.bound(selected, { ...dest.meta });
}

export function daemonSetTransformer(opts: DaemonSetTransformerOptions): NameTreeTransformer {
  const hostNetwork = opts.hostNetwork ?? false;
  const gateways: Var<Addr> = lookupAddr(
    opts.namer.lookup(Path.utf8(opts.namespace, opts.port, opts.service)),
  );
  const prefix =
    opts.prefix ?? Path.utf8("io.l5d.k8s.daemonset", opts.namespace, opts.port, opts.service);
  return addressTransformer(prefix, (addr) =>
    combineAddr(addr, gateways, (d, g) => selectGateways(d, g, hostNetwork)),
  );
}
