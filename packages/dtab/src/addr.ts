/** Endpoint addresses, as Finagle's `Addr`: bound to a set, negative, failed, or not yet known. */

export interface Address {
  /** IP address or host name. */
  readonly host: string;
  readonly port: number;
  /** Load-balancer weight (default 1), e.g. from an io.l5d.fs `host port * weight` line. */
  readonly weight?: number;
  /** Metadata such as `nodeName` (k8s) used by transformers. */
  readonly meta: Readonly<Record<string, unknown>>;
}

export type Addr =
  | {
      readonly type: "bound";
      readonly addrs: readonly Address[];
      readonly meta: Readonly<Record<string, unknown>>;
    }
  | { readonly type: "neg" }
  | { readonly type: "failed"; readonly cause: Error }
  | { readonly type: "pending" };

export const Addr = {
  bound(addrs: readonly Address[], meta: Record<string, unknown> = {}): Addr {
    return { type: "bound", addrs, meta };
  },
  neg: { type: "neg" } as Addr,
  pending: { type: "pending" } as Addr,
  failed(cause: Error): Addr {
    return { type: "failed", cause };
  },
};

export function address(
  host: string,
  port: number,
  meta: Record<string, unknown> = {},
  weight?: number,
): Address {
  return weight === undefined ? { host, port, meta } : { host, port, meta, weight };
}
