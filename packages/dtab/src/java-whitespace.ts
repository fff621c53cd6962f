/** Java's `Character.isWhitespace` for one UTF-16 code unit. */
export function isJavaWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x1680) return false;
  // Space separators except the no-break ones (U+00A0, U+2007, U+202F), line and paragraph separators.
  return (
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x2006) ||
    (c >= 0x2008 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** Java's `Character.isDigit` for one UTF-16 code unit (Unicode category Nd). */
export function isJavaDigit(c: number): boolean {
  if (c >= 0x30 && c <= 0x39) return true;
  if (c < 0x80) return false;
  return /\p{Nd}/u.test(String.fromCharCode(c));
}
