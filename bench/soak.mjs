#!/usr/bin/env node
// RSS soak of the l5d process under steady load (one hop, node backend). Not run by CI.
//   node bench/soak.mjs [--minutes=10] [--proxy=l5d|naive] [--rate=2000] [--sample-s=30]
// l5d runs with the image's node flags (deploy/docker/bin/l5d; L5D_NODE_FLAGS overrides them).
// Prints one line per sample and ends with `soak: verdict: no growth ...` or `GROWTH ...`
// (exit code 0 / 1). Needs `pnpm --filter @l5d/bench build` (or `pnpm build`) first.
import { existsSync } from "node:fs";

const entry = new URL("./dist/soak.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("soak: bench/dist/soak.js missing; run `pnpm --filter @l5d/bench build`\n");
  process.exit(1);
}
const { soak } = await import(entry.href);
process.exitCode = await soak(process.argv.slice(2));
