#!/usr/bin/env node
// Side-by-side benchmark: direct, l5d, a naive node:http2 proxy, nginx, haproxy and nghttpx; and
// l5d-tls and nghttpx-tls (one hop, TLS with ALPN h2 from the client and to the backend).
//   pnpm bench         full run (< 5 min, the TLS cases included), results in
//                      bench/results/<timestamp>.{json,md}; then the --mesh and --workers modes
//                      below (about 8 min in all: every figure of issue #17 from one command)
//   pnpm bench:quick   one hop, l5d + naive + nghttpx (< 60 s); last line:
//                      l5d_cpu_us_per_req=<n> nghttpx_cpu_us_per_req=<n> ratio=<n>
//   node bench/bench.mjs --quick --only=l5d,nghttpx,l5d-tls,nghttpx-tls
//                      the TLS pair and its cleartext pair (< 60 s); the line before the last:
//                      tls: l5d_cpu_us_per_req=<n> nghttpx_cpu_us_per_req=<n> ratio=<n> l5d_req_per_s=<n> …
//   pnpm bench --http1 HTTP/1.1 (l5d's protocol: http router), one hop, l5d vs nginx, haproxy and
//                      nghttpx, 3 interleaved rounds (< 3 min), results in bench/results/<timestamp>-http1.*;
//                      last lines: `http1 req/s: …` and
//                      http1: l5d_cpu_us_per_req=<n> haproxy_cpu_us_per_req=<n> ratio_vs_haproxy=<n> nginx=<n> nghttpx=<n>
//   node bench/bench.mjs --namerd [--quick]
//                      namerd: bind latency through namerd vs the in-process default interpreter,
//                      PUT → the last of N linkers (1, 5, 20) routing by the new dtab, namerd's
//                      memory with 1,000 namespaces × 100 dentries and 1,000 watches (~25 s;
//                      --quick: smaller counts, ~10 s); results in bench/results/<timestamp>-namerd*.*;
//                      last lines: `namerd bind (cold|warm): …`, `namerd propagation …`, `namerd memory …`
//   pnpm bench:mesh    (node bench/bench.mjs --mesh [--quick])
//                      the whole mesh: the tutorial's request path end to end (client → out(A) →
//                      in(A) → hello → out(A) → in(B) → world, the real apps) through l5d, through
//                      nghttpx (one per router, static backends) and direct, at 1,000 calls/s and
//                      saturated, 3 interleaved rounds (< 3 min; --quick: 1 short round, < 1 min);
//                      results in bench/results/<timestamp>-mesh[-quick].*; last lines:
//                      `mesh @1000/s: …added_p99_ratio=<n> … cpu_ratio=<n>` and `mesh saturated: …`
//   pnpm bench:workers (node bench/bench.mjs --workers [--quick])
//                      issue #17 item 6: one hop, unary gRPC, saturated (h2load -c 8 -m 32) through
//                      l5d with `workers: 1` and `2` and nghttpx with --workers=1 and 2, and direct,
//                      3 interleaved rounds (< 3 min; --quick: 1 round, < 1 min); CPU summed over
//                      each proxy's processes, the backend's and the machine's CPU beside it;
//                      results in bench/results/<timestamp>-workers[-quick].*; last lines:
//                      `workers cpu: …` and
//                      workers: l5d_w1_rps=<n> l5d_w2_rps=<n> l5d_scaling=<n> nghttpx_w1_rps=<n> …
// The harness is TypeScript in bench/src, compiled to bench/dist by `pnpm build` (turbo).
import { existsSync } from "node:fs";

const entry = new URL("./dist/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("bench: bench/dist/main.js missing; run `pnpm --filter @l5d/bench build`\n");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
