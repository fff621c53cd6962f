/**
 * Java's `String.format("%.2f", w)` for a double: HALF_UP rounding applied to the shortest
 * decimal representation of the double (so `1.005` → `1.01`, where `toFixed(2)` gives `1.00`).
 */
export function formatWeight(w: number): string {
  if (Number.isNaN(w)) return "NaN";
  if (w === Number.POSITIVE_INFINITY) return "Infinity";
  if (w === Number.NEGATIVE_INFINITY) return "-Infinity";
  const negative = w < 0 || Object.is(w, -0);
  // toExponential() without an argument gives the shortest digits that identify the double.
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(Math.abs(w).toExponential());
  if (!m) throw new Error(`unexpected number format for ${w}`);
  const digits = m[1]! + (m[2] ?? "");
  const exp = Number(m[3]);
  // value = 0.<digits> * 10^(exp+1); scaled by 100, the integer part has `q` digits.
  const q = exp + 1 + 2;
  let scaled: bigint;
  if (q < 0) scaled = 0n;
  else if (q === 0) scaled = Number(digits[0]) >= 5 ? 1n : 0n;
  else {
    const intPart = q <= digits.length ? digits.slice(0, q) : digits.padEnd(q, "0");
    const next = q < digits.length ? Number(digits[q]) : 0;
    scaled = BigInt(intPart) + (next >= 5 ? 1n : 0n);
  }
  const s = scaled.toString().padStart(3, "0");
  return (negative ? "-" : "") + s.slice(0, -2) + "." + s.slice(-2);
}
