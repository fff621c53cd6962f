/**
 * IP addresses as the bytes namerd's APIs carry them (the mesh API's Endpoint and the thrift
 * interface's TransportAddress): network order, 4 or 16 bytes. Shared by both codecs, apart
 * from the mesh one so that the thrift interpreter does not load the gRPC stack.
 */
import { isIP } from "node:net";
import { MeshCodecError } from "./codec-error.js";

/** An IP literal as network-order bytes, or undefined for a host name. */
export function ipToBytes(host: string): Buffer | undefined {
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const kind = isIP(h);
  if (kind === 4) return Buffer.from(h.split(".").map(Number));
  if (kind !== 6) return undefined;
  const noZone = h.split("%")[0]!;
  let text = noZone;
  const dotted = text.lastIndexOf(".") >= 0 ? text.slice(text.lastIndexOf(":") + 1) : undefined;
  if (dotted !== undefined) {
    const b = dotted.split(".").map(Number);
    text = `${text.slice(0, text.length - dotted.length)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const hs = parse(head);
  const ts = tail === undefined ? [] : parse(tail);
  const groups = [...hs, ...new Array<number>(8 - hs.length - ts.length).fill(0), ...ts];
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(g, i * 2);
  return out;
}

/** Network-order bytes as an IP literal (4 bytes: dotted quad; 16: compressed IPv6). */
export function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join(".");
  if (b.length === 16) {
    const buf = Buffer.from(b);
    const groups = Array.from({ length: 8 }, (_, i) => buf.readUInt16BE(i * 2).toString(16));
    // the WHATWG URL serializer gives the canonical (RFC 5952) compressed form
    return new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
  }
  throw new MeshCodecError(`endpoint address has ${b.length} bytes (expected 4 or 16)`);
}
