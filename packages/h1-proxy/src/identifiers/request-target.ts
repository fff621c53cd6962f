/**
 * The path of a request-target as HTTP/1.1 identifiers read it: origin-form `/a/b?q` → `/a/b`;
 * absolute-form (a client using l5d as its proxy) `http://host/a/b?q` → `/a/b`; `*` → `*`.
 */
export function targetPath(target: string): string {
  let start = 0;
  if (target.charCodeAt(0) !== 47 /* / */) {
    const scheme = target.indexOf("://");
    if (scheme < 0) return target;
    const slash = target.indexOf("/", scheme + 3);
    if (slash < 0) return "/";
    start = slash;
  }
  const q = target.indexOf("?", start);
  const h = target.indexOf("#", start);
  const end = q < 0 ? (h < 0 ? target.length : h) : h < 0 ? q : Math.min(q, h);
  return target.slice(start, end);
}

/** The query string of a request-target, with its `?`, or "". */
export function targetQuery(target: string): string {
  const q = target.indexOf("?");
  if (q < 0) return "";
  const h = target.indexOf("#", q);
  return h < 0 ? target.slice(q) : target.slice(q, h);
}
