#!/usr/bin/env node
// Runs every package's tests through turbo (all of them, even after a failure), then prints one
// closing line `N passed, N failed, N skipped` summed from each package's vitest JSON report.
// A package whose test task failed without writing a report counts as one failure.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const dirs = ["packages", "apps", "."]
  .flatMap((d) => (d === "." ? ["bench"] : readdirSync(join(root, d)).map((n) => join(d, n))))
  .filter(
    (d) => existsSync(join(root, d, "package.json")) && statSync(join(root, d)).isDirectory(),
  );

for (const d of dirs) rmSync(join(root, d, ".vitest-report.json"), { force: true });

const extra = process.argv.slice(2);
const r = spawnSync(
  "pnpm",
  ["exec", "turbo", "run", "test", "--continue", "--concurrency=2", ...extra],
  {
    cwd: root,
    stdio: "inherit",
  },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
// each failure's test name and the start of its message, printed just above the closing line so
// that the tail of a CI log (often all that is kept) says what failed
const failures = [];
for (const d of dirs) {
  const pkg = JSON.parse(readFileSync(join(root, d, "package.json"), "utf8"));
  if (!pkg.scripts?.test) continue;
  const f = join(root, d, ".vitest-report.json");
  if (!existsSync(f)) {
    missing.push(d);
    continue;
  }
  const rep = JSON.parse(readFileSync(f, "utf8"));
  passed += rep.numPassedTests ?? 0;
  failed += rep.numFailedTests ?? 0;
  skipped += (rep.numPendingTests ?? 0) + (rep.numTodoTests ?? 0);
  // a suite that failed to load (syntax error, import error) counts as a failure
  for (const s of rep.testResults ?? []) {
    const file = s.name.startsWith(root) ? s.name.slice(root.length) : s.name;
    if (s.status === "failed" && (s.assertionResults ?? []).length === 0) {
      failed += 1;
      failures.push(`${file}: ${firstLines(s.message)}`);
    }
    for (const a of s.assertionResults ?? []) {
      if (a.status === "failed") {
        failures.push(
          `${file} > ${a.fullName}: ${firstLines((a.failureMessages ?? []).join("\n"))}`,
        );
      }
    }
  }
}
if (missing.length > 0 && r.status !== 0) {
  console.error(`test task produced no report in: ${missing.join(", ")}`);
  failed += missing.length;
}
if (failures.length > 0) {
  console.log(`\nfailed tests (${failures.length}):`);
  for (const f of failures) console.log(`  ${f}`);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(r.status !== 0 || failed > 0 ? 1 : 0);

/** The first lines of a failure message, at most 600 characters. */
function firstLines(text) {
  const lines = String(text ?? "")
    .split("\n")
    .filter((l) => !/^\s+at /.test(l))
    .slice(0, 6)
    .join("\n    ");
  return lines.length > 600 ? `${lines.slice(0, 600)}…` : lines;
}
