/**
 * The request-target (`:path`) as HTTP/1.1 identifiers read it. Linkerd's server stack rewrites
 * an absolute-form target before identification (its `ProxyRewriteFilter`: `Host` becomes the
 * target's authority, the target its path, query and fragment); these helpers give identifiers
 * the same view of the target as the data plane received it.
 */
import { type HeaderList, headerValue } from "@l5d/h2-proxy";

const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** Where the authority of an absolute-form target starts (after `scheme://`), or -1. */
function authorityStart(target: string): number {
  if (target.charCodeAt(0) === 47 /* / */) return -1;
  const m = ABSOLUTE_FORM.exec(target);
  return m === null ? -1 : m[0].length;
}

/** Where the authority of an absolute-form target ends (its path, query or fragment starts). */
function authorityEnd(target: string, start: number): number {
  for (let i = start; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) return i;
  }
  return target.length;
}

/**
 * The target as Linkerd routes it: origin-form as is; absolute-form without its scheme and
 * authority (`http://h:80/a?q` → `/a?q`; nothing left → `/`, RFC 9110 §4.2.3); anything else
 * (`*`, a CONNECT authority) as is.
 */
export function originForm(target: string): string {
  const start = authorityStart(target);
  if (start < 0) return target;
  const rest = target.slice(authorityEnd(target, start));
  return rest === "" || rest.charCodeAt(0) !== 47 ? `/${rest}` : rest;
}

/** The authority of an absolute-form target, as written (`http://Web:8080/a` → `Web:8080`). */
export function targetAuthority(target: string): string | undefined {
  const start = authorityStart(target);
  if (start < 0) return undefined;
  return target.slice(start, authorityEnd(target, start));
}

/**
 * The path of a request-target as Finagle's `Request.path` gives it (after the absolute-form
 * rewrite): everything before the first `?` (`/a/b?q=1` → `/a/b`, `http://h/a?q` → `/a`).
 */
export function targetPath(target: string): string {
  const t = originForm(target);
  const q = t.indexOf("?");
  return q < 0 ? t : t.slice(0, q);
}

/** The query string of a request-target, from its first `?` to the end, or "". */
export function targetQuery(target: string): string {
  const q = target.indexOf("?");
  return q < 0 ? "" : target.slice(q);
}

/**
 * A header's first value (`name` lower-case) as Linkerd's identifiers see it: for `host`, an
 * absolute-form target's authority wins over the Host field (RFC 9112 §3.2.2; Linkerd's
 * `ProxyRewriteFilter` sets Host from it).
 */
export function fieldValue(headers: HeaderList, name: string): string | undefined {
  if (name === "host") {
    const authority = targetAuthority(headerValue(headers, ":path") ?? "");
    if (authority !== undefined) return authority;
  }
  return headerValue(headers, name);
}

/**
 * The `/`-separated segments of a path as Java's `path.split("/").drop(1)`: the text before the
 * first `/` dropped, trailing empty segments dropped, inner empty ones kept
 * (`/a//b/` → `a`, ``, `b`).
 */
export function pathSegments(path: string): string[] {
  const parts = path.split("/");
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts.slice(1);
}
