import { setTimeout as delay } from "node:timers/promises";

/** Sleeps `ms` milliseconds (no-op for 0 or less). */
export async function sleep(ms: number): Promise<void> {
  if (ms > 0) await delay(ms);
}
