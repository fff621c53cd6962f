/** A `-addr` value that is not `host:port` / `:port`. */
export class ListenAddressError extends Error {
  readonly code = "invalid_address";
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`listen tcp ${input}: ${reason}`);
    this.name = "ListenAddressError";
  }
}

/** A parsed Go listen address. */
export interface ListenAddress {
  /** Host to bind; `undefined` for `:port` (all interfaces, like Go's `net.Listen`). */
  host: string | undefined;
  /** Port to bind; 0 picks a free port. */
  port: number;
}

/**
 * Parses a Go listen address: `:7777` (all interfaces), `127.0.0.1:7777`, `localhost:0`,
 * `[::1]:7777`. Throws {@link ListenAddressError}.
 */
export function parseListenAddress(input: string): ListenAddress {
  const colon = input.lastIndexOf(":");
  if (colon < 0) throw new ListenAddressError(input, "missing port in address");
  let host = input.slice(0, colon);
  const portText = input.slice(colon + 1);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  else if (host.includes(":")) throw new ListenAddressError(input, "too many colons in address");
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new ListenAddressError(input, `invalid port ${JSON.stringify(portText)}`);
  }
  return { host: host === "" ? undefined : host, port: Number(portText) };
}

/** `host:port` with brackets around IPv6 literals. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
