/**
 * Headers as the router sees them: the request's header list in wire order, `[name, value]`
 * pairs with lower-case names and the pseudo-headers first (the relay's HPACK `HeaderField`s as
 * decoded, no object built per request), and the edits the router asks the data plane to make.
 */

/** One header field: `[name, value]`, the name lower-case. */
export type HeaderField = readonly [name: string, value: string];

/** A header block in wire order (a name may repeat). */
export type HeaderList = readonly HeaderField[];

/** What the data plane changes on the request it sends upstream. */
export interface HeaderEdits {
  /** Fields set (replacing every field of that name in the request). */
  readonly set?: Readonly<Record<string, string>> | undefined;
  /** Names removed from the request (e.g. `l5d-dtab`, or the daemon's `clearContext`). */
  readonly remove?: readonly string[] | undefined;
}

/** The first value of `name` (lower-case), or undefined. */
export function headerValue(headers: HeaderList, name: string): string | undefined {
  for (let i = 0; i < headers.length; i++) {
    const f = headers[i] as HeaderField;
    if (f[0] === name) return f[1];
  }
  return undefined;
}

/** Every value of `name` (lower-case), in order. */
export function headerValues(headers: HeaderList, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i++) {
    const f = headers[i] as HeaderField;
    if (f[0] === name) out.push(f[1]);
  }
  return out;
}

/**
 * A header list from a plain object (tests, tools): pseudo-headers first, array values as
 * repeated fields. Not used on the request path.
 */
export function headerList(
  h: Readonly<Record<string, string | readonly string[] | undefined>>,
): HeaderField[] {
  const pseudo: HeaderField[] = [];
  const rest: HeaderField[] = [];
  for (const [n, v] of Object.entries(h)) {
    if (v === undefined) continue;
    const to = n.startsWith(":") ? pseudo : rest;
    if (typeof v === "string") to.push([n.toLowerCase(), v]);
    else for (const x of v) to.push([n.toLowerCase(), x]);
  }
  return pseudo.concat(rest);
}
