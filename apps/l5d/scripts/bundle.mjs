// Bundles the compiled daemon (dist/main.js, tsc's output) into dist/bundle/: one minified ES
// module entry, main.js, plus the chunks esbuild splits off (the daemon behind main's dynamic
// import) and their source maps. The image's launcher runs this bundle instead of dist/main.js:
// 3 minified files instead of ~330 modules (zod alone is half of it) take idle RSS from ~71 to
// ~62 MiB and `l5d --check` from ~340 to ~220 ms, at the same CPU per request (issue #9).
// dist/main.js stays as it is, for the tests that run it.
import { cpSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const dist = new URL("../dist/", import.meta.url);
const out = new URL("./bundle/", dist);

/**
 * Stays a run-time `require`: loaded only when a config uses io.l5d.k8s or io.l5d.ingress (it
 * costs ~70 MB of RSS), and resolved from apps/l5d/node_modules, which is why @l5d/l5d depends
 * on it directly (the require now sits in l5d's own bundle, not in @l5d/namers).
 */
const EXTERNAL = ["@kubernetes/client-node"];

rmSync(out, { recursive: true, force: true });
const result = await build({
  // paths in the metafile and source maps relative to apps/l5d, whatever the caller's cwd
  absWorkingDir: fileURLToPath(new URL("..", import.meta.url)),
  entryPoints: [fileURLToPath(new URL("./main.js", dist))],
  outdir: fileURLToPath(out),
  bundle: true,
  splitting: true,
  minify: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: EXTERNAL,
  // linked .map files: node reads them only under --enable-source-maps; esbuild chains tsc's
  // maps, so stack traces then point into src/*.ts.
  sourcemap: "linked",
  // The CommonJS dependencies (yaml, pino and its helpers) call `require` for node built-ins,
  // which an ES module does not have: give every chunk one bound to its own URL.
  banner: {
    js: "import{createRequire as __l5dCreateRequire}from'node:module';const require=__l5dCreateRequire(import.meta.url);",
  },
  logLevel: "warning",
  // what went into each chunk and what each imports: read by bundle.e2e.test.ts, and by
  // https://esbuild.github.io/analyze/ for size work. Written beside bundle/, not into it.
  metafile: true,
});
writeFileSync(new URL("./bundle.meta.json", dist), JSON.stringify(result.metafile));
// The admin UI reads its files from `./assets/` beside its code (admin/static-assets.ts), which
// in the bundle is dist/bundle/: copy them there as copy-assets.mjs does for dist/admin/.
cpSync(new URL("../src/admin/assets/", import.meta.url), new URL("./assets/", out), {
  recursive: true,
});
