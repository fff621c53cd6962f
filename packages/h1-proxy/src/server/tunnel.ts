/**
 * `Upgrade` (WebSocket and any other protocol switch, RFC 9110 §7.8): once the endpoint answers
 * 101, l5d writes that response to the client as it came and the two connections are joined
 * byte for byte until either side closes. What a request upgrades to is the endpoint's
 * business; l5d routes the upgrade request like any other.
 */
import type { Socket } from "node:net";
import type { ParsedHead } from "../wire/llhttp.js";

/** What a server hands over with an upgrade request: the client's socket and any bytes after the head. */
export interface UpgradeParts {
  readonly socket: Socket;
  readonly head: Buffer;
  /** Takes the socket from the server's connection (which stops watching it). */
  detach(): void;
}

/** The response head as the endpoint sent it (status line and fields, raw names). */
export function rawResponseHead(res: ParsedHead): string {
  let head = `HTTP/1.1 ${res.status} ${res.reason}\r\n`;
  const raw = res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${head}\r\n`;
}

/**
 * Writes the endpoint's 101 to the client, passes the bytes each side sent early, then joins
 * the sockets; `done` once both are closed.
 */
export function joinTunnel(
  client: UpgradeParts,
  res: ParsedHead,
  upstream: Socket,
  upstreamHead: Buffer,
  done: () => void,
): void {
  client.detach();
  const c = client.socket;
  c.write(rawResponseHead(res), "latin1");
  if (upstreamHead.length > 0) c.write(upstreamHead);
  if (client.head.length > 0) upstream.write(client.head);
  let open = 2;
  const closed = () => {
    open--;
    if (open === 0) done();
  };
  c.once("close", () => {
    upstream.destroy();
    closed();
  });
  upstream.once("close", () => {
    c.destroy();
    closed();
  });
  c.on("error", () => upstream.destroy());
  upstream.on("error", () => c.destroy());
  c.pipe(upstream);
  upstream.pipe(c);
  c.resume();
  upstream.resume();
}
