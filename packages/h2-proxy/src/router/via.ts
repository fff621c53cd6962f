/**
 * Loop protection (Linkerd's `maxCallDepth` and `Via`): each router adds its hop to the `Via`
 * header it forwards (`h2 linkerd` on h2 routers, `1.1 linkerd` on http ones, after any hops
 * already there), and refuses a request that already went through more than `maxCallDepth`
 * hops (Linkerd's `MaxCallDepthFilter`: a dtab that routes a router to itself stops there
 * instead of looping until something runs out).
 */
import { type HeaderField, type HeaderList, headerValue, headerValues } from "./header-list.js";

/** The hops a request's `Via` fields list (comma-separated entries, every field counted). */
export function viaHops(headers: HeaderList): number {
  let n = 0;
  for (let j = 0; j < headers.length; j++) {
    const f = headers[j] as HeaderField;
    if (f[0] !== "via") continue;
    const v = f[1];
    n++;
    for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) === 44 /* , */) n++;
  }
  return n;
}

/** The `Via` value to forward: the request's hops, then ours (no allocation without hops). */
export function viaForwarded(headers: HeaderList, hop: string): string {
  if (headerValue(headers, "via") === undefined) return hop;
  return `${headerValues(headers, "via").join(", ")}, ${hop}`;
}

/** Linkerd's message for a request past the bound. */
export function maxCallDepthMessage(max: number): string {
  return `Maximum number of calls (${max}) has been exceeded. Please check for proxy loops.`;
}
