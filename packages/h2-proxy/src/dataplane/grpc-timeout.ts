/**
 * The gRPC `grpc-timeout` header (gRPC over HTTP/2 spec):
 * `TimeoutValue TimeoutUnit`, at most 8 ASCII digits and one of `H M S m u n`.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/** Parses a `grpc-timeout` value into milliseconds; `undefined` when absent or malformed. */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== "string") return undefined;
  const n = value.length;
  if (n < 2 || n > 9) return undefined;
  const unit = UNIT_MS[value[n - 1] as string];
  if (unit === undefined) return undefined;
  let digits = 0;
  for (let i = 0; i < n - 1; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    digits = digits * 10 + c;
  }
  return digits * unit;
}

/**
 * Encodes a remaining time in milliseconds as a `grpc-timeout` value, choosing the finest unit
 * that fits in 8 digits (rounding up so the upstream never gets less time than we have).
 */
export function encodeGrpcTimeout(ms: number): string {
  if (ms <= 0) return "0m";
  if (ms < 100) return `${Math.ceil(ms * 1000)}u`;
  if (ms < 1e8) return `${Math.ceil(ms)}m`;
  const s = Math.ceil(ms / 1000);
  if (s < 1e8) return `${s}S`;
  const m = Math.ceil(ms / 60_000);
  if (m < 1e8) return `${m}M`;
  return `${Math.min(99_999_999, Math.ceil(ms / 3_600_000))}H`;
}
