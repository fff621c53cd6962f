// Preloaded into the namerd process of `bench --namerd` (`node --expose-gc --import <this>`):
// namerd has no heap metrics of its own, so on SIGUSR2 this runs two full GCs and writes
// process.memoryUsage() as JSON to $L5D_BENCH_HEAP_FILE (through a rename: the reader never
// sees half a file). namerd's own code is unchanged; nothing happens without the variable.
import { renameSync, writeFileSync } from "node:fs";

const file = process.env.L5D_BENCH_HEAP_FILE;
if (file) {
  let seq = 0;
  process.on("SIGUSR2", () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    // the second collection frees what the first one's finalizers released
    gc?.();
    gc?.();
    seq += 1;
    writeFileSync(
      `${file}.tmp`,
      JSON.stringify({ seq, gc: gc !== undefined, ...process.memoryUsage() }),
    );
    renameSync(`${file}.tmp`, file);
  });
}
