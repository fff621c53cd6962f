/** A minimal dashboard at `/`: routers, servers, links to the admin endpoints. */
import type { Linker } from "../linker.js";

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

export function dashboardHtml(linker: Linker): string {
  const routers = linker.routers
    .map(
      (r) => `<section><h2>${esc(r.config.label)}</h2>
<p>servers: ${r.servers.map((s) => `${esc(s.ip)}:${s.port}`).join(", ")}</p>
<pre>${esc(r.config.dtab.show.split(";").join(";\n"))}</pre>
<p><a href="/delegator.json?namespace=${encodeURIComponent(r.config.label)}&amp;path=${encodeURIComponent(r.config.dstPrefix.show)}">delegator.json</a></p></section>`,
    )
    .join("\n");
  return `<!doctype html><html><head><meta charset="utf-8"><title>l5d-ts admin</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}pre{background:#f4f4f4;padding:.5em}</style></head>
<body><h1>l5d-ts</h1>${routers}
<p><a href="/admin">admin endpoints</a> · <a href="/admin/metrics.json?pretty">metrics.json</a> · <a href="/config.json?pretty">config.json</a></p>
</body></html>`;
}
