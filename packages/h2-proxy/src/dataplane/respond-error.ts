/** `grpc-message` encoding (the gRPC over HTTP/2 spec) for locally answered errors. */

/**
 * Percent-encodes a `grpc-message` per the gRPC over HTTP/2 spec: UTF-8 bytes outside
 * 0x20..0x7E, and `%` itself, become `%XX`.
 */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  const bytes = Buffer.from(message, "utf8");
  let out = "";
  for (const b of bytes) {
    if (b < 0x20 || b > 0x7e || b === 0x25)
      out += `%${b < 16 ? "0" : ""}${b.toString(16).toUpperCase()}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/** Decodes a percent-encoded `grpc-message` (lenient: malformed escapes are kept as is). */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes("%")) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && i + 2 < value.length && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Buffer.from(bytes).toString("utf8");
}
