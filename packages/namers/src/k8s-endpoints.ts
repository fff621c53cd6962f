/**
 * Pure functions from Kubernetes objects to address sets: Endpoints or EndpointSlices give
 * (address, port-by-name) subsets; a Service maps port numbers to names; a name's port segment
 * resolves to the ready addresses, or to "neg" when the port is unknown.
 */
import { type Address, address } from "@l5d/dtab";
import type { K8sObj } from "./k8s-api.js";

/** One group of ready addresses that share the same ports. */
export interface EndpointSubset {
  readonly addresses: readonly { readonly ip: string; readonly nodeName?: string }[];
  readonly ports: readonly {
    readonly name: string;
    readonly port: number;
    readonly protocol: string;
  }[];
}

/** A Service's ports (only what the namer needs). */
export interface ServicePorts {
  readonly ports: readonly {
    readonly name: string;
    readonly port: number;
    readonly targetPort: number | string | undefined;
    readonly protocol: string;
  }[];
}

const rec = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function portsOf(list: unknown): EndpointSubset["ports"] {
  return arr(list).flatMap((p) => {
    const r = rec(p);
    const port = typeof r.port === "number" ? r.port : Number(r.port);
    if (!Number.isInteger(port)) return [];
    return [{ name: str(r.name) ?? "", port, protocol: (str(r.protocol) ?? "TCP").toUpperCase() }];
  });
}

/** The ready subsets of a v1 Endpoints object (notReadyAddresses are not routable). */
export function subsetsFromEndpoints(ep: K8sObj): EndpointSubset[] {
  return arr(ep.subsets).map((s) => {
    const r = rec(s);
    const addresses = arr(r.addresses).flatMap((a) => {
      const ar = rec(a);
      const ip = str(ar.ip);
      if (!ip) return [];
      const nodeName = str(ar.nodeName);
      return [nodeName === undefined ? { ip } : { ip, nodeName }];
    });
    return { addresses, ports: portsOf(r.ports) };
  });
}

/** The ready subsets of a Service's EndpointSlices (each slice is one port mapping). */
export function subsetsFromSlices(slices: readonly K8sObj[]): EndpointSubset[] {
  return slices.map((slice) => {
    const addresses = arr(slice.endpoints).flatMap((e) => {
      const er = rec(e);
      // discovery.k8s.io/v1: a missing `ready` condition means ready.
      if (rec(er.conditions).ready === false) return [];
      const nodeName = str(er.nodeName);
      return arr(er.addresses).flatMap((ip) =>
        typeof ip === "string" ? [nodeName === undefined ? { ip } : { ip, nodeName }] : [],
      );
    });
    return { addresses, ports: portsOf(slice.ports) };
  });
}

export function servicePorts(svc: K8sObj): ServicePorts {
  const ports = arr(rec(svc.spec).ports).flatMap((p) => {
    const r = rec(p);
    if (typeof r.port !== "number") return [];
    const t = r.targetPort;
    const targetPort =
      typeof t === "number"
        ? t
        : typeof t === "string"
          ? /^\d+$/.test(t)
            ? Number(t)
            : t
          : undefined;
    return [
      {
        name: str(r.name) ?? "",
        port: r.port,
        targetPort,
        protocol: (str(r.protocol) ?? "TCP").toUpperCase(),
      },
    ];
  });
  return { ports };
}

export type PortResolution =
  | { readonly type: "neg" }
  | { readonly type: "bound"; readonly addrs: Address[] };

const NEG: PortResolution = { type: "neg" };

function collect(
  subsets: readonly EndpointSubset[],
  pick: (s: EndpointSubset) => number | undefined,
): Address[] {
  const seen = new Map<string, Address>();
  for (const s of subsets) {
    const port = pick(s);
    if (port === undefined) continue;
    for (const a of s.addresses) {
      const key = `${a.ip}:${port}`;
      if (!seen.has(key))
        seen.set(
          key,
          address(a.ip, port, a.nodeName === undefined ? {} : { nodeName: a.nodeName }),
        );
    }
  }
  return [...seen.values()].sort((x, y) =>
    x.host === y.host ? x.port - y.port : x.host < y.host ? -1 : 1,
  );
}

/**
 * Resolves a name's port segment for one service.
 * - neither Service nor endpoints known → neg;
 * - a number: the Service port with that number (TCP), then the endpoint port of the same name
 *   (what the endpoints controller wrote, i.e. the resolved targetPort), or the numeric target;
 *   an unknown service port → neg;
 * - a name: the endpoint ports of that name (TCP); if none, but the Service declares the port,
 *   the name is bound with no addresses (e.g. scaled to zero); otherwise neg.
 */
export function resolvePort(
  portSeg: string,
  svc: ServicePorts | undefined,
  subsets: readonly EndpointSubset[] | undefined,
): PortResolution {
  if (svc === undefined && subsets === undefined) return NEG;
  const subs = subsets ?? [];
  const tcp = (p: { protocol: string }) => p.protocol === "TCP";
  if (/^\d+$/.test(portSeg)) {
    const number = Number(portSeg);
    const sp = svc?.ports.find((p) => p.port === number && tcp(p));
    if (!sp) return NEG;
    const named = subs.some((s) => s.ports.some((p) => p.name === sp.name && tcp(p)));
    const addrs = named
      ? collect(subs, (s) => s.ports.find((p) => p.name === sp.name && tcp(p))?.port)
      : typeof sp.targetPort === "number" || sp.targetPort === undefined
        ? collect(
            subs,
            (s) => s.ports.find((p) => p.port === (sp.targetPort ?? sp.port) && tcp(p))?.port,
          )
        : [];
    return { type: "bound", addrs };
  }
  const has = subs.some((s) => s.ports.some((p) => p.name === portSeg && tcp(p)));
  if (has)
    return {
      type: "bound",
      addrs: collect(subs, (s) => s.ports.find((p) => p.name === portSeg && tcp(p))?.port),
    };
  if (svc?.ports.some((p) => p.name === portSeg && tcp(p))) return { type: "bound", addrs: [] };
  return NEG;
}

/** A stable text key of an address list (to update Vars only on real changes). */
export function addressesKey(addrs: readonly Address[]): string {
  return addrs.map((a) => `${a.host}:${a.port}@${String(a.meta.nodeName ?? "")}`).join(",");
}
