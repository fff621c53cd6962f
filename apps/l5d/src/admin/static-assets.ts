/**
 * The admin UI's static files (HTML, CSS, JS in `./assets/`, copied next to the compiled code by
 * the build), read once and served from memory at `/files/<name>`. Nothing is fetched from
 * outside, so the UI works offline.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { AdminResponse, AdminRoute } from "./admin-server.js";
import { text } from "./admin-server.js";

const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  svg: "image/svg+xml",
  json: "application/json",
};

const ASSET_DIR = new URL("./assets/", import.meta.url);

let cache: Map<string, Buffer> | undefined;

function assets(): Map<string, Buffer> {
  if (!cache) {
    cache = new Map();
    let names: string[] = [];
    try {
      names = readdirSync(ASSET_DIR);
    } catch {
      // no assets shipped: every asset answers 404
    }
    for (const n of names) cache.set(n, readFileSync(new URL(n, ASSET_DIR)));
  }
  return cache;
}

/** One asset as a response (404 when it is missing). */
export function assetResponse(name: string): AdminResponse {
  const body = assets().get(name);
  if (!body) return text(`no such file: ${name}\n`, 404);
  const ext = name.slice(name.lastIndexOf(".") + 1);
  return {
    contentType: TYPES[ext] ?? "application/octet-stream",
    body,
    headers: { "cache-control": "no-cache" },
  };
}

/** The asset text (for pages served at other paths, e.g. `/`). */
export function assetText(name: string): string {
  return assets().get(name)?.toString("utf8") ?? "";
}

/** `/files/<name>`: the UI's CSS and JS. */
export const filesRoute: AdminRoute = {
  path: "/files/",
  prefix: true,
  description: "the admin UI's static files",
  handler: (req) => assetResponse(req.path.slice("/files/".length)),
};
