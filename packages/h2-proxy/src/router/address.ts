import type { ConnectionOptions } from "node:tls";

/**
 * TLS to an upstream (`client.tls`): node's connection options (servername, CA, client
 * certificate) and an id naming them, which keeps a TLS connection apart from a plaintext one
 * (or one with another identity) to the same `host:port`.
 */
export interface UpstreamTls {
  readonly id: string;
  /** Replaced when the files are rotated: each new connection reads it. */
  options: ConnectionOptions;
}

/** Where the data plane sends an attempt: an upstream `host:port` (the router's `Endpoint`s are addresses). */
export interface Address {
  readonly host: string;
  readonly port: number;
  /**
   * The connect timeout of the client this address belongs to (`client.connectTimeoutMs`), for
   * a new connection to it; unset: the data plane's default.
   */
  readonly connectTimeoutMs?: number | undefined;
  /** TLS to it (its client's `client.tls`); unset: plaintext h2c. */
  readonly tls?: UpstreamTls | undefined;
}

/** `host:port` of an address, and its TLS identity if any (the key of its upstream connection). */
export function addressKey(a: Address): string {
  return a.tls === undefined ? `${a.host}:${a.port}` : `${a.host}:${a.port} (tls ${a.tls.id})`;
}
