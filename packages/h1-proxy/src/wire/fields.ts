/**
 * Lookups in a raw field list (names and values alternating, wire case), as the parser gives
 * them: a scan of a dozen fields is cheaper than a map built per message.
 */

/** The first value of field `lower` (a lower-case name), if any. */
export function fieldValue(raw: readonly string[], lower: string): string | undefined {
  const n = lower.length;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === n && name.toLowerCase() === lower) return raw[i + 1];
  }
  return undefined;
}

/** Every value of field `lower`; undefined when there is none. */
export function fieldValues(raw: readonly string[], lower: string): string[] | undefined {
  const n = lower.length;
  let out: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== n || name.toLowerCase() !== lower) continue;
    if (out === undefined) out = [];
    out.push(raw[i + 1] as string);
  }
  return out;
}

/** How many times field `lower` occurs. */
export function fieldCount(raw: readonly string[], lower: string): number {
  const n = lower.length;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === n && name.toLowerCase() === lower) count++;
  }
  return count;
}
