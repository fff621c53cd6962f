import http2 from "node:http2";

/** Wraps a protobuf payload in the 5-byte gRPC message prefix (uncompressed). */
export function grpcFrame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

/** A protobuf message whose field 1 (length-delimited) holds `size` bytes of 'x'. */
export function protoBytesField(size: number): Buffer {
  const varint: number[] = [];
  let n = size;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n > 0) b |= 0x80;
    varint.push(b);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x0a, ...varint]), Buffer.alloc(size, 0x78)]);
}

/** Splits a gRPC body into its messages' payloads; a trailing partial message is an error. */
export function splitGrpcMessages(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < body.length) {
    if (body.length - off < 5) throw new GrpcProbeError("truncated gRPC prefix");
    const len = body.readUInt32BE(off + 1);
    if (off + 5 + len > body.length) throw new GrpcProbeError("truncated gRPC message");
    out.push(body.subarray(off + 5, off + 5 + len));
    off += 5 + len;
  }
  return out;
}

/** Raised when a probe call does not come back as a successful gRPC call. */
export class GrpcProbeError extends Error {
  override name = "GrpcProbeError";
}

/** The outcome of one gRPC call. */
export interface ProbeResult {
  status: number;
  grpcStatus: string | undefined;
  messages: Buffer[];
}

/**
 * Where a call goes: a port on 127.0.0.1, spoken to over h2c, or over TLS (ALPN h2) checking
 * the server's certificate against `ca` and `servername`.
 */
export interface Target {
  port: number;
  tls?: { ca: Buffer; servername: string } | undefined;
}

/** Makes one gRPC-shaped call to 127.0.0.1:port (h2c, or TLS for a target that says so). */
export function grpcCall(
  target: number | Target,
  path: string,
  body: Buffer,
  extraHeaders: Record<string, string> = {},
  timeoutMs = 5000,
): Promise<ProbeResult> {
  const { port, tls } = typeof target === "number" ? { port: target, tls: undefined } : target;
  return new Promise((resolve, reject) => {
    const session =
      tls === undefined
        ? http2.connect(`http://127.0.0.1:${port}`)
        : http2.connect(`https://127.0.0.1:${port}`, { ca: tls.ca, servername: tls.servername });
    const timer = setTimeout(() => {
      session.destroy();
      reject(new GrpcProbeError(`no answer on port ${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    session.on("error", (err) => {
      clearTimeout(timer);
      reject(new GrpcProbeError(`session error: ${err.message}`));
    });
    const req = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...extraHeaders,
    });
    let status = 0;
    let grpcStatus: string | undefined;
    const chunks: Buffer[] = [];
    req.on("response", (h) => {
      status = Number(h[":status"]);
      if (h["grpc-status"] !== undefined) grpcStatus = String(h["grpc-status"]);
    });
    req.on("trailers", (t) => {
      if (t["grpc-status"] !== undefined) grpcStatus = String(t["grpc-status"]);
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", (err) => {
      clearTimeout(timer);
      session.destroy();
      reject(new GrpcProbeError(`stream error: ${err.message}`));
    });
    req.on("end", () => {
      clearTimeout(timer);
      session.close();
      try {
        resolve({ status, grpcStatus, messages: splitGrpcMessages(Buffer.concat(chunks)) });
      } catch (err) {
        reject(
          new GrpcProbeError(
            `${path}: HTTP ${status}, grpc-status ${grpcStatus}: ${(err as Error).message}`,
          ),
        );
      }
    });
    req.end(body);
  });
}

/** Calls and checks: HTTP 200, grpc-status 0, `expectMessages` messages. Throws GrpcProbeError. */
export async function probe(
  target: number | Target,
  path: string,
  body: Buffer,
  expectMessages: number,
  extraHeaders: Record<string, string> = {},
): Promise<ProbeResult> {
  const r = await grpcCall(target, path, body, extraHeaders);
  if (r.status !== 200 || r.grpcStatus !== "0" || r.messages.length !== expectMessages) {
    const port = typeof target === "number" ? target : target.port;
    throw new GrpcProbeError(
      `probe ${path} via :${port}${typeof target !== "number" && target.tls ? " (TLS)" : ""}: status ${r.status}, grpc-status ${r.grpcStatus}, ${r.messages.length} message(s), expected ${expectMessages}`,
    );
  }
  return r;
}
