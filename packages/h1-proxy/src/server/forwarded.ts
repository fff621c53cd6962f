/**
 * A server's `addForwardedHeader` (Linkerd's, RFC 7239): each request gains a `Forwarded`
 * element `by=<this server>;for=<the client>;host=<Host>;proto=<http|https>`, each endpoint
 * named by its labeler: `ip`, `ip:port` (IPv6 quoted in brackets), or an obfuscated label
 * (`_` and 6 characters): random per request, per connection, the router's label, or static.
 */
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import type { ForwardedLabeler } from "@l5d/config";

const OBF = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";

/** An obfuscated label (`_` + 6 characters of the RFC's obfnode alphabet). */
export function randomLabel(): string {
  const b = randomBytes(6);
  let s = "_";
  for (const x of b) s += OBF[x % OBF.length];
  return s;
}

function node(ip: string | undefined, port: number | undefined, withPort: boolean): string {
  if (ip === undefined) return "unknown";
  if (ip.startsWith("::ffff:") && ip.includes(".")) ip = ip.slice(7);
  const v6 = ip.includes(":");
  if (!withPort) return v6 ? `"[${ip}]"` : ip;
  return v6 ? `"[${ip}]:${port}"` : `${ip}:${port}`;
}

const connLabels = new WeakMap<Socket, string>();

function label(
  l: ForwardedLabeler,
  ip: string | undefined,
  port: number | undefined,
  sock: Socket,
  router: string,
): string {
  switch (l.kind) {
    case "ip":
      return node(ip, port, false);
    case "ip:port":
      return node(ip, port, true);
    case "requestRandom":
      return randomLabel();
    case "connectionRandom": {
      let s = connLabels.get(sock);
      if (s === undefined) {
        s = randomLabel();
        connLabels.set(sock, s);
      }
      return s;
    }
    case "router":
      return `_${router}`;
    default:
      return `_${(l as { label: string }).label}`;
  }
}

export interface ForwardedConfig {
  readonly by: ForwardedLabeler;
  readonly for: ForwardedLabeler;
}

/** The `Forwarded` element for one request on `sock`. */
export function forwardedElement(
  cfg: ForwardedConfig,
  sock: Socket,
  host: string | undefined,
  tls: boolean,
  router: string,
): string {
  const by = label(cfg.by, sock.localAddress, sock.localPort, sock, router);
  const fr = label(cfg.for, sock.remoteAddress, sock.remotePort, sock, router);
  let e = `by=${by};for=${fr}`;
  if (host !== undefined && host !== "")
    e += `;host=${/^[A-Za-z0-9.:[\]-]+$/.test(host) ? host : JSON.stringify(host)}`;
  return `${e};proto=${tls ? "https" : "http"}`;
}
