/** A Go duration string (`time.ParseDuration`) that could not be parsed. */
export class GoDurationError extends Error {
  readonly code = "invalid_duration";
  constructor(readonly input: string) {
    super(`time: invalid duration ${JSON.stringify(input)}`);
    this.name = "GoDurationError";
  }
}

/** Milliseconds per Go duration unit. */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/**
 * Parses a Go duration (`500ms`, `1s`, `1m30s`, `1.5h`, `-2s`, `0`) into milliseconds
 * (fractional for sub-millisecond units). Throws {@link GoDurationError} like Go's
 * `time.ParseDuration` rejects the input (a bare number other than `0` needs a unit).
 */
export function parseGoDuration(input: string): number {
  let s = input;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s.startsWith("-")) sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw new GoDurationError(input);
  let total = 0;
  while (s.length > 0) {
    const m = PART.exec(s);
    if (m === null) throw new GoDurationError(input);
    const [whole, num, unit] = m as unknown as [string, string, string];
    total += Number(num) * (UNIT_MS[unit] ?? Number.NaN);
    s = s.slice(whole.length);
  }
  if (!Number.isFinite(total)) throw new GoDurationError(input);
  return sign * total;
}

/**
 * Formats milliseconds like Go's `time.Duration.String()` for the common cases:
 * `0s`, `1.5µs`, `500ms`, `1s`, `1m30s`, `2h0m0s`.
 */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return "0s";
  const neg = ms < 0;
  const abs = Math.abs(ms);
  let out: string;
  if (abs < 1e-3) out = `${trim(abs * 1e6)}ns`;
  else if (abs < 1) out = `${trim(abs * 1e3)}µs`;
  else if (abs < 1000) out = `${trim(abs)}ms`;
  else {
    const h = Math.floor(abs / 3_600_000);
    const m = Math.floor((abs % 3_600_000) / 60_000);
    const sec = trim((abs % 60_000) / 1000);
    out = h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`;
  }
  return neg ? `-${out}` : out;
}

function trim(n: number): string {
  return String(Number(n.toFixed(9)));
}
