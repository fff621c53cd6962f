import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { BACKEND_NODE_FLAGS, backendNodeFlags, startBackend, UNARY_PATH } from "./backends.js";
import { grpcFrame, probe } from "./grpc.js";
import { Supervisor } from "./supervisor.js";

const repoRoot = new URL("../..", import.meta.url).pathname;

describe("the bench's node backend", () => {
  const sup = new Supervisor();
  afterEach(async () => {
    await sup.stopAll();
  });

  it("runs with the backend's node flags, or BENCH_BACKEND_NODE_FLAGS (empty: node's own)", () => {
    expect(backendNodeFlags({})).toEqual([
      "--max-semi-space-size=32",
      "--initial-old-space-size=512",
    ]);
    expect(backendNodeFlags({ BENCH_BACKEND_NODE_FLAGS: "" })).toEqual([]);
    expect(backendNodeFlags({ BENCH_BACKEND_NODE_FLAGS: " --max-semi-space-size=8  " })).toEqual([
      "--max-semi-space-size=8",
    ]);
  });

  it("is started with those flags and answers the unary call", async () => {
    const b = await startBackend(sup, repoRoot, "node", undefined);
    const argv = readFileSync(`/proc/${b.child.pid}/cmdline`, "utf8").split("\0");
    for (const f of BACKEND_NODE_FLAGS) expect(argv).toContain(f);
    expect(argv.indexOf(BACKEND_NODE_FLAGS[0] as string)).toBeLessThan(
      argv.findIndex((a) => a.endsWith("backend.mjs")),
    );
    // throws unless it answers 200, grpc-status 0 and one message
    await expect(probe(b.port, UNARY_PATH, grpcFrame(new Uint8Array(0)), 1)).resolves.toBeDefined();
  }, 20_000);
});
