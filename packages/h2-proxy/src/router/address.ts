/** Where the data plane sends an attempt: an upstream `host:port` (the router's `Endpoint`s are addresses). */
export interface Address {
  readonly host: string;
  readonly port: number;
  /**
   * The connect timeout of the client this address belongs to (`client.connectTimeoutMs`), for
   * a new connection to it; unset: the data plane's default.
   */
  readonly connectTimeoutMs?: number | undefined;
}

/** `host:port` of an address (the key of its upstream connection). */
export function addressKey(a: Address): string {
  return `${a.host}:${a.port}`;
}
